"""Two checkouts of refcnn timed side by side, in one session, alternating
(before, after, before, after, ...): the default run on refcnn, check() on
the article's loops, and a class of 20 graded at --jobs 2; each with the
same keyword (so that a pair takes minutes, not an hour).

    python benchmarks/before_after.py BEFORE_ROOT BEFORE_PYTHON AFTER_ROOT AFTER_PYTHON
        [--repeat 2] [--keyword "pooling2d and (plain or padding)"]

Each command runs in its checkout's folder with its own interpreter. Prints
threadpoolctl's view of the BLAS threads, each time, the medians and the
ratios after / before.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy  # noqa: F401  (loaded, so that threadpoolctl sees its BLAS)
import threadpoolctl

CLASS = ["article_loops", "article_transcription", "pure_python_loops"] + [
    f"broken.{name}"
    for name in (
        "max_pool_last_tie", "pool_size_default_3", "output_size_ceil", "flipped_filter",
        "max_pool_minus_inf_padding", "avg_pool_back_window_in_padding", "flatten_channel_first",
        "flatten_empty_batch", "layout_switch_above_4_channels",
    )
]  # fmt: skip


def _class(root: Path, folder: Path) -> None:
    """20 submissions: the modules above, each twice (as another student)."""
    folder.mkdir()
    for number, name in enumerate((CLASS * 2)[:20]):
        source = root / "tests" / "impls" / (name.replace(".", "/") + ".py")
        shutil.copy(source, folder / f"s{number:02}_{name.rpartition('.')[2]}.py")
    os.chmod(folder, 0o700)


def _commands(root: Path, python: str, keyword: str, work: Path) -> dict[str, list[str]]:
    check = (
        "from refcnn.conformance import check; "
        f"check('tests.impls.article_loops', keyword={keyword!r}, progress=False)"
    )
    return {
        "default run on refcnn": [python, "-m", "refcnn.conformance", "--impl", "refcnn",
                                  "-k", keyword, "--conformance-report", str(work / "v.json"),
                                  "--conformance-failures", str(work / "f.txt")],
        "check() on the article's loops": [python, "-c", check],
        "a class of 20, --jobs 2": [python, "-m", "refcnn.cli", "grade", str(work / "class"),
                                    "--out", str(work / "out"), "--jobs", "2", "-k", keyword,
                                    "--pythonpath", str(root), "--force"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before_root", type=Path)
    parser.add_argument("before_python")
    parser.add_argument("after_root", type=Path)
    parser.add_argument("after_python")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keyword", default="pooling2d and (plain or padding)")
    args = parser.parse_args()
    print(threadpoolctl.threadpool_info())
    sides = {"before": (args.before_root, args.before_python),
             "after": (args.after_root, args.after_python)}  # fmt: skip
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        works = {}
        for side, (root, _python) in sides.items():
            works[side] = Path(folder) / side
            works[side].mkdir()
            _class(root, works[side] / "class")
        for round_ in range(args.repeat):
            for side, (root, python) in sides.items():
                env = {**os.environ, "PYTHONPATH": str(root)}
                for name, command in _commands(root, python, args.keyword, works[side]).items():
                    start = time.monotonic()
                    result = subprocess.run(command, cwd=root, env=env, capture_output=True)
                    seconds = time.monotonic() - start
                    times.setdefault((name, side), []).append(seconds)
                    tail = (result.stdout + result.stderr).decode(errors="replace")
                    print(f"round {round_ + 1} {side:6} {name:32} {seconds:7.1f} s "
                          f"(exit {result.returncode}) {tail.strip().splitlines()[-1:]!s:.90}",
                          flush=True)  # fmt: skip
    print(f"\n{'':32} {'before s':>9} {'after s':>9} {'after/before':>13}")
    for name in _commands(Path("."), "", "", Path(".")):
        before = statistics.median(times[(name, "before")])
        after = statistics.median(times[(name, "after")])
        print(f"{name:32} {before:9.1f} {after:9.1f} {after / before:13.2f}")


if __name__ == "__main__":
    sys.exit(main())
