"""Grade a class of 40+ submissions made from this repository's test
implementations, and check it against single runs.

    python benchmarks/grade_class.py [--jobs 2] [--keyword EXPR] [--skip-single]

The class: the loop implementation and its three adapted styles, the torch
autograd layers, the article's transcription, the pure-Python loops, every
planted bug of tests/impls/broken (each a .py file; a few as a package
folder, a zip archive or a notebook), and the hostile submissions of
tests/impls/grading and tests/impls/hostile. Each submission is judged by
``refcnn grade`` (the whole suite unless --keyword), then each honest or
planted one alone by ``check()`` with the same options: the verdicts must
agree (but the explanations' seconds). Prints the total time, the seconds,
CPU seconds and peak memory per submission, and how each run ended.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IMPLS = ROOT / "tests" / "impls"
WHOLE = {  # id -> module judged alone
    "loops": "tests.impls.article_loops",
    "transcription": "tests.impls.article_transcription",
    "pure_python": "tests.impls.pure_python_loops",
    "layer_classes": "tests.impls.adapted_layer_classes",
    "cache_functions": "tests.impls.adapted_cache_functions",
    "param_dicts": "tests.impls.adapted_param_dicts",
    "nchw": "tests.impls.nchw_adapted",
    "autodiff": "tests.impls.autodiff_torch",
    "int_only": "tests.impls.int_only",
    "partial": "tests.impls.partial",
}
HOSTILE = ["overwrites_grades", "reads_others", "big_file", "fork_bomb", "allocates_50gb",
           "exits_at_import"]  # fmt: skip
HOSTILE_SUITE = ["hang", "segfault", "os_exit", "chatty", "sabotage"]


def source(module: str) -> str:
    return (ROOT / (module.replace(".", "/") + ".py")).read_text()


def build(folder: Path) -> dict[str, str]:
    """The class in ``folder``; id -> the module a single run judges (None:
    hostile, not compared)."""
    folder.mkdir(parents=True)
    alone: dict[str, str] = {}
    for identity, module in WHOLE.items():
        (folder / f"{identity}.py").write_text(source(module))
        alone[identity] = module
    broken = sorted(p.stem for p in (IMPLS / "broken").glob("*.py") if p.stem != "__init__")
    for number, name in enumerate(broken):
        module = f"tests.impls.broken.{name}"
        alone[name] = module
        if number % 9 == 1:  # a package folder
            package = folder / name
            package.mkdir()
            (package / "__init__.py").write_text("from .layers import *  # noqa: F403\n")
            (package / "layers.py").write_text(source(module))
        elif number % 9 == 4:  # a zip archive of a folder
            with zipfile.ZipFile(folder / f"{name}.zip", "w") as archive:
                archive.writestr(f"{name}/layers.py", source(module))
        elif number % 9 == 7:  # a notebook
            notebook = nbformat.v4.new_notebook()
            notebook.cells = [nbformat.v4.new_markdown_cell(f"# {name}"),
                              nbformat.v4.new_code_cell(source(module))]  # fmt: skip
            nbformat.write(notebook, folder / f"{name}.ipynb")
        else:
            (folder / f"{name}.py").write_text(source(module))
    for name in HOSTILE:
        shutil.copy(IMPLS / "grading" / f"{name}.py", folder)
    for name in HOSTILE_SUITE:
        shutil.copy(IMPLS / "hostile" / f"{name}.py", folder / f"hostile_{name}.py")
    os.chmod(folder, 0o700)
    return alone


def comparable(verdict: dict) -> dict:
    from tests.test_api import comparable as strip

    return strip(verdict)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keyword", default=None)
    parser.add_argument("--skip-single", action="store_true")
    parser.add_argument(
        "--single-only",
        action="store_true",
        help="only the single runs, against the class graded into --keep",
    )
    parser.add_argument("--keep", type=Path, default=None, help="grade into this folder")
    parser.add_argument(
        "--allow",
        default=None,
        help="refcnn grade's --allow (e.g. refcnn,torch: the class's adapters build on "
        "refcnn, a few submissions on torch; to compare with a grader that forbade nothing)",
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="grade-class-"))
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o700)
    if args.single_only:  # the class is built again only to know which module each id is
        with tempfile.TemporaryDirectory() as scratch:
            alone = build(Path(scratch) / "class")
        return single_runs(alone, work, args.keyword)
    alone = build(work / "class")
    count = len(list((work / "class").iterdir()))
    print(f"class: {count} submissions in {work / 'class'}", flush=True)
    command = [sys.executable, "-m", "refcnn.cli", "grade", str(work / "class"), "--out",
               str(work / "out"), "--jobs", str(args.jobs), "--pythonpath", str(ROOT)]  # fmt: skip
    if args.keyword:
        command += ["-k", args.keyword]
    if args.allow:
        command += ["--allow", args.allow]
    start = time.monotonic()
    result = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(ROOT)})
    total = time.monotonic() - start
    with open(work / "out" / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    print(f"\nrefcnn grade --jobs {args.jobs}: exit {result.returncode}, {len(rows)} rows, "
          f"{total:.0f} s in all ({total / len(rows):.1f} s per submission)")  # fmt: skip
    seconds = [float(r["seconds"]) for r in rows]
    cpu = [float(r["cpu_seconds"]) for r in rows]
    memory = [float(r["peak_memory_mb"]) for r in rows]
    for name, values in (("seconds", seconds), ("CPU seconds", cpu), ("peak MB", memory)):
        print(f"  {name} per submission: median {statistics.median(values):.1f}, "
              f"max {max(values):.1f}, sum {sum(values):.0f}")  # fmt: skip
    endings: dict[str, list[str]] = {}
    for row in rows:
        endings.setdefault(row["ending"], []).append(row["id"])
    for ending, ids in sorted(endings.items()):
        print(f"  {ending}: {len(ids)} ({', '.join(ids) if ending != 'finished' else '...'})")
    if args.skip_single:
        return result.returncode
    return single_runs(alone, work, args.keyword) or result.returncode


def single_runs(alone: dict[str, str], work: Path, keyword: str | None) -> int:
    """Each honest or planted submission judged alone by ``check()``; its
    verdict must be the graded one. Exit 1 if one differs."""
    from refcnn.conformance import check

    os.chdir(ROOT)
    differ = []
    start = time.monotonic()
    for identity, module in sorted(alone.items()):
        verdict = check(module, keyword=keyword, workers=2, timeout=60, progress=False)
        judged = json.loads((work / "out" / identity / "verdict.json").read_text())
        if comparable(judged) != comparable(verdict.to_json()):
            differ.append(identity)
    print(f"single runs: {len(alone)} in {time.monotonic() - start:.0f} s; verdicts that differ: "
          f"{differ or 'none'}")  # fmt: skip
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
