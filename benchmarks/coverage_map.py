"""Which tests run which lines of the judge: the map that lets the judge
campaign (mutation_score.py --judge) run, for each mutant, only the tests
that reach the statement it changes.

    python benchmarks/coverage_map.py [--map judge-map.json]

Built once per state of the repository's tracked files (their hash is kept in
the map; a change of any file but benchmarks/'s, a test's included, makes it
stale): every test of ``pytest`` (tests/ and conformance/, as CI runs them) under coverage.py,
measuring the judging files only, with each test's id as the coverage
context. The suite judges in other processes (a session of ``python -m
refcnn.conformance`` started by a test, its pytest-xdist workers): they are
measured too, each with the id of the test that started it (a
``sitecustomize`` on ``PYTHONPATH`` starts coverage in every Python process
that finds ``COVERAGE_PROCESS_START``, and the rc file's context is
``${REFCNN_COVERAGE_TEST}``, which the test's environment holds). A sandboxed
worker, which can write nowhere but its scratch folder, measures nothing (it
runs the judged code, none of the judge's).

Why selection is sound: a test that never runs a statement in the unmutated
code never runs the mutated statement either (the program is the same up to
the first time it runs; a change of a signature: the function's body, up to
the first call). A line outside every function (a module's constant,
a class attribute) runs at import: every test that imports the module is
selected. The map also keeps each test's seconds, so that a mutant's tests
run fastest first (stopping at the first failure).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mutants as mt  # noqa: E402

CONTEXT_VAR = "REFCNN_COVERAGE_TEST"
TIMES_VAR = "REFCNN_COVERAGE_TIMES"

_SITECUSTOMIZE = """\
import os
start = os.environ.get("COVERAGE_PROCESS_START")
data = os.environ.get("REFCNN_COVERAGE_DATA", "")
if start and os.access(data, os.W_OK):  # not in a sandbox that can write nowhere
    import coverage
    coverage.process_startup()
"""

# loaded into the measured pytest (-p): each test's id is its context here and,
# through the environment, in every process it starts
_PLUGIN = """\
import json, os, time
import coverage
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    os.environ["REFCNN_COVERAGE_TEST"] = item.nodeid
    current = coverage.Coverage.current()
    if current is not None:
        current.switch_context(item.nodeid)
    item._coverage_started = time.monotonic()

def pytest_runtest_teardown(item, nextitem):
    seconds = time.monotonic() - getattr(item, "_coverage_started", time.monotonic())
    judge = item.get_closest_marker("judge") is not None
    with open(os.environ["REFCNN_COVERAGE_TIMES"], "a") as out:
        out.write(json.dumps([item.nodeid, round(seconds, 3), judge]) + "\\n")
"""


def tracked(root: Path) -> list[str]:
    """The checkout's tracked files (what a fresh clone holds)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True,
                            check=True).stdout.decode().split("\0")  # fmt: skip
    return sorted(p for p in listed if p and (root / p).is_file())


def tree_hash(root: Path = ROOT) -> str:
    """The hash of the tracked files' paths and contents, but benchmarks/'s:
    they run the tests, no test runs the judge through them, and the
    campaign's journal there grows as it runs."""
    digest = hashlib.sha256()
    for path in tracked(root):
        if path.startswith("benchmarks/"):
            continue
        digest.update(path.encode() + b"\0" + (root / path).read_bytes() + b"\0")
    return digest.hexdigest()


def copy_of(root: Path, to: Path) -> Path:
    """The tracked files of ``root`` copied to ``to``, where ``refcnn.conformance``
    is the copy's ``conformance/`` (as in each mutant's copy)."""
    # readable by all, as a clone is: the grading tests' judged user ids import
    # the copy's tests (--pythonpath); mkdtemp's 0700 made them fail there
    # ("No module named 'tests'"), a kill of every mutant that reached them
    to.mkdir(parents=True, exist_ok=True)
    to.chmod(0o755)
    for relative in tracked(root):
        (to / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, to / relative)
    # the compiled catalogs are a build output, not tracked: without them
    # every test of the Japanese verdict fails in the copy
    for po in sorted((root / "refcnn" / "locale").glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            raise SystemExit(
                f"{mo.relative_to(root)}: missing or older than its .po; "
                "run python scripts/catalogs.py first"
            )
        shutil.copy2(mo, to / mo.relative_to(root))
    (to / "refcnn" / "conformance").symlink_to(Path("..") / "conformance")
    (to / "conformance" / "fixtures").symlink_to(Path("..") / "fixtures")
    return to


def build(root: Path, out: Path, workers: int = 2, tests: list[str] | None = None) -> dict:
    """Runs every test under coverage in a copy of ``root``'s tracked files
    and writes the map to ``out``."""
    files = [f"conformance/{name}" for name in mt.JUDGE_FILES]
    digest = tree_hash(root)
    with tempfile.TemporaryDirectory(prefix="refcnn-coverage-map-") as folder:
        place = Path(folder)
        root = copy_of(root, place / "tree")
        (place / "hooks").mkdir()
        (place / "hooks" / "sitecustomize.py").write_text(_SITECUSTOMIZE)
        (place / "hooks" / "coverage_contexts.py").write_text(_PLUGIN)
        data = place / "data"
        data.mkdir()
        rc = place / "coveragerc"
        include = ",\n    ".join(str(root / f) for f in files)
        rc.write_text(
            "[run]\nparallel = True\n"
            f"data_file = {data}/.coverage\n"
            f"include =\n    {include}\n"
            f"context = ${{{CONTEXT_VAR}}}\n"
            "disable_warnings = no-data-collected, module-not-measured\n"
        )
        env = {
            **os.environ,
            "COVERAGE_PROCESS_START": str(rc),
            "REFCNN_COVERAGE_DATA": str(data),
            TIMES_VAR: str(place / "times.jsonl"),
            "PYTHONPATH": os.pathsep.join([str(place / "hooks"), str(root)]),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.pop(CONTEXT_VAR, None)
        start = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-p", "coverage_contexts", "-n", str(workers), *(tests or [])],
            cwd=root, env=env, capture_output=True, text=True,
        )  # fmt: skip
        seconds = time.monotonic() - start
        tail = run.stdout.strip().splitlines()[-3:]
        if run.returncode != 0:
            raise SystemExit(f"the unmutated tests do not pass (exit {run.returncode}): {tail}")
        subprocess.run([sys.executable, "-m", "coverage", "combine", "--quiet",
                        f"--rcfile={rc}", f"--data-file={data}/.coverage", str(data)],
                       check=True, env={**env, "COVERAGE_PROCESS_START": ""})  # fmt: skip
        import coverage

        measured = coverage.CoverageData(basename=str(data / ".coverage"))
        measured.read()
        times: dict[str, float] = {}
        judge: set[str] = set()
        for line in (place / "times.jsonl").read_text().splitlines():
            nodeid, took, marked = json.loads(line)
            times[nodeid] = times.get(nodeid, 0.0) + took
            if marked:
                judge.add(nodeid)
        tests = sorted(times)
        index = {t: k for k, t in enumerate(tests)}
        lines: dict[str, dict[str, list[int]]] = {}
        outside: dict[str, list[int]] = {}  # lines run outside any test (collection)
        for name in files:
            by_line = measured.contexts_by_lineno(str(root / name))
            lines[name] = {
                str(number): sorted({index[c] for c in contexts if c in index})
                for number, contexts in by_line.items()
            }
            outside[name] = sorted(
                number for number, contexts in by_line.items()
                if any(c not in index for c in contexts)
            )  # fmt: skip
    result = {"tree": digest, "seconds": round(seconds, 1), "summary": tail,
              "tests": [[t, times[t], t in judge] for t in tests], "lines": lines,
              "outside": outside}  # fmt: skip
    out.write_text(json.dumps(result))
    return result


def load(path: Path, root: Path = ROOT) -> dict | None:
    """The map at ``path`` if it is of the tracked files as they are now."""
    if not path.exists():
        return None
    found = json.loads(path.read_text())
    return found if found.get("tree") == tree_hash(root) else None


def changed_line(mutant: mt.Mutant, original: str) -> int:
    """The first line (from 1) the mutant changes."""
    before, after = original.splitlines(), mutant.source.splitlines()
    for number, (a, b) in enumerate(zip(before, after, strict=False), 1):
        if a != b:
            return number
    return min(len(before), len(after))


def body_lines(original: str, line: int) -> range | None:
    """The lines of the body of the innermost function holding ``line`` (a
    change in its signature: its defaults matter when it is called); None
    for a line outside every function."""
    best = None
    for node in ast.walk(ast.parse(original)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            if first <= line <= (node.end_lineno or node.lineno):
                if best is None or node.lineno > best.lineno:
                    best = node
    if best is None:
        return None
    return range(best.body[0].lineno, (best.end_lineno or best.lineno) + 1)


def statement_lines(original: str, line: int, body: range) -> range:
    """The lines of the innermost statement in ``body`` that holds ``line``
    (a compound one with its body; a def with its decorators), or all of
    ``body`` where none does (a change in the signature)."""
    best = None
    for node in ast.walk(ast.parse(original)):
        if isinstance(node, ast.stmt):
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            last = node.end_lineno or node.lineno
            if body.start <= first and first <= line <= last:
                if best is None or last - first < best.stop - best.start - 1:
                    best = range(first, last + 1)
    return best or body


def tests_for(coverage_map: dict, mutant: mt.Mutant, original: str) -> list[tuple[str, bool]]:
    """The tests that run the statement the mutant changes, fastest first,
    each with whether it is of the ``judge`` tier (a change in a function's
    signature: the tests that run its body). A line outside functions, or a
    function the tests' collection ran (outside any test: what it returns
    may shape the tests), is read by code anywhere: then every test that ran
    any of the judge's code.

    Sound as the function's body was: a run is the same as the unmutated one
    up to the first time the changed statement runs, and the suite's
    examples are drawn deterministically (the "ci" profile), so a test that
    never ran the statement unmutated never runs it mutated. Every bytecode
    of a statement is on one of its lines, so a test that ran it ran one of
    them."""
    by_line = coverage_map["lines"].get(mutant.target, {})
    line = changed_line(mutant, original)
    span = body_lines(original, line)
    early = set(coverage_map["outside"].get(mutant.target, []))
    chosen: set[int] = set()
    if span is None or any(number in early for number in span):
        for file_lines in coverage_map["lines"].values():
            for indices in file_lines.values():
                chosen.update(indices)
    else:
        statement = statement_lines(original, line, span)
        for number, indices in by_line.items():
            if int(number) in statement:
                chosen.update(indices)
    tests = coverage_map["tests"]
    return [(tests[k][0], tests[k][2])
            for k in sorted(chosen, key=lambda k: (tests[k][1], tests[k][0]))]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", type=Path, default=Path("judge-map.json"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout to measure (default: this one)")  # fmt: skip
    parser.add_argument("tests", nargs="*", help="only these tests (a map of part, to try it)")
    args = parser.parse_args()
    root = args.root.resolve()
    if load(args.map, root) is not None and not args.tests:
        print(f"{args.map}: up to date")
        return 0
    result = build(root, args.map, args.workers, args.tests)
    covered = {name: sum(bool(v) for v in lines.values())
               for name, lines in result["lines"].items()}  # fmt: skip
    print(f"{len(result['tests'])} tests in {result['seconds']} s; lines run by a test: {covered}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
