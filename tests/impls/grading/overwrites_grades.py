"""Hostile: tries to overwrite the grades file and another submission's
verdict (paths read off the grader's command line, and the one it knows:
tests/test_grading.py writes the class's --out into KNOWN_OUT);
max_pooling2d raises what the attempt raised, or says what it overwrote."""

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.article_loops import max_pooling2d as _honest
from tests.impls.grading._reach import grader_paths

KNOWN_OUT: list[str] = []


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    for out in grader_paths(KNOWN_OUT)["out"]:
        (out / "grades.csv").write_text("id,score\nme,1.0\n")
        for other in out.iterdir():
            if other.is_dir() and (other / "verdict.json").exists():
                (other / "verdict.json").write_text('{"all_provided_pass": true}')
        raise RuntimeError(f"overwrote {out / 'grades.csv'}")  # it should never get here
    return _honest(u, pool_size, padding, strides)
