"""The suite's bite, measured by mutation testing.

    python benchmarks/mutation_score.py [--jobs 2] [--target article_loops] [--limit N]
                                        [--report mutation-report.json]
    python benchmarks/mutation_score.py --refcnn [--jobs 2] [--journal J] [--sample N --seed S]
    python benchmarks/mutation_score.py --defaults
    python benchmarks/mutation_score.py --judge [--jobs 2] [--journal J] [--sample N --seed S]

Every mutant of the two transcriptions of the article's layer code
(tests/impls/article_loops.py, tests/impls/article_transcription.py; the
operators: benchmarks/mutants.py) is judged by the conformance suite, on the
ops whose functions reach the mutated one, stopping at the first failure
(``check(..., exitfirst=True)``; no explanations). A mutant the suite
rejects is killed; one it passes survives, and must be listed, with the
reason it computes the same thing, in benchmarks/equivalent_mutants.toml.
Prints the score (killed over non-equivalent) overall, per operator and per
function, the seconds per mutant, and each survivor that is not listed
(a suite bug to fix, not a line to add); exit 1 if there is one.

``--refcnn``: the oracle's own score. mutmut's operators on refcnn's layer
code (convolution, pooling, flatten, the window and padding helpers, the two
convolution methods; benchmarks/mutants.py), each mutant a copy of the
package first on ``PYTHONPATH`` (run with ``python -P``: neither ``-m`` nor
pytest may put the repository's unmutated refcnn first), judged by the
conformance suite on refcnn (torch the oracle) for the ops that use the
file, then, if it survives, by refcnn's own tests of its layers, the quick
ones first (``REFCNN_TESTS``). (mutmut's own runner is not used: it records
which tests reach which function in the test's process, and the suite runs
each test in a forked child.) About 2,150 mutants, a median of 2.4 s each on
two cores (a survivor, which every tier judges, about a minute):
``--sample N --seed S`` judges a random sample, in the drawn order, and
``--journal`` keeps each result as it comes, so that a campaign stopped part
way has judged a random sample and a rerun continues it;
``--retry-survivors`` judges the journal's survivors again after a new test
(``--retry-survivors unlisted``: those not listed as equivalent). Ctrl-C
stops at once and reports on what was judged.

``--judge``: the judge's own score. mutmut's operators on the suite's judging
code (benchmarks/mutants.py ``JUDGE_FILES``: the comparisons, tolerances,
hygiene, defaults, finite differences, calling the implementation, causes,
the oracle and the torch reference, the golden and article fixtures'
loading), each mutant a copy of the repository's tracked files with the
mutated file, in which ``refcnn.conformance`` is the copy's ``conformance/``
(its sessions and workers too: they run from the copy), judged by ``pytest
-m judge`` there (stopping at the first failure), then, if it survives, by
the rest of the tests (``-m "not judge"``, on two workers). About 2,800
mutants: a campaign of hours, which ``--journal`` keeps across runs.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import coverage_map as cm  # noqa: E402
import mutants as mt  # noqa: E402

from refcnn.conformance.inputs import op_table as ot  # noqa: E402
from refcnn.conformance.running import api  # noqa: E402


def calls(source: str) -> dict[str, set[str]]:
    """Function -> the module's functions it calls (and names it uses)."""
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    found: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            used |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            found[node.name] = used & defined
    return found


def reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += graph.get(name, ())
    return seen


def selection(source: str, function: str) -> str:
    """The ``-k`` of the ops whose functions reach ``function``."""
    graph = calls(source)
    if function not in graph:  # module level: every op the module provides
        ops = [op.name for op in ot.OPS if any(f in graph for f in op.imports)]
    else:
        ops = [op.name for op in ot.OPS
               if any(function in reach(graph, f) for f in op.imports if f in graph)]  # fmt: skip
    return " or ".join(ops) or "nothing"


def judge(mutant: mt.Mutant, folder: Path) -> dict:
    """Run the suite on one mutant: killed or not, how, and the seconds."""
    place = Path(tempfile.mkdtemp(dir=folder)) / mutant.target
    place.write_text(mutant.source)
    keyword = selection(mutant.source, mutant.function)
    start = time.monotonic()
    killed, how = _suite(str(place), keyword, ())
    return {"killed": killed, "how": how, "seconds": round(time.monotonic() - start, 2),
            "keyword": keyword}  # fmt: skip


def _session(
    impl: str,
    keyword: str,
    pythonpath: tuple[str, ...] = (),
    exitfirst: bool = False,
    **options: object,
) -> tuple[str | None, subprocess.CompletedProcess]:
    """One session of the suite on ``impl``, without explanations: the text of
    its JSON verdict (None if it wrote none) and the finished process."""
    with tempfile.TemporaryDirectory() as scratch:
        command, env = api.session(Path(scratch), {"impl": impl, "explain_budget": 0, **options},
                                   workers=0, keyword=keyword, exitfirst=exitfirst,
                                   pythonpath=(*pythonpath, str(ROOT)))  # fmt: skip
        # -P: the working directory (the repository, with the unmutated refcnn)
        # not first on sys.path, so a mutated copy on PYTHONPATH is imported
        command.insert(1, "-P")
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        try:
            return (Path(scratch) / "verdict.json").read_text(), result
        except OSError:
            return None, result


def _suite(impl: str, keyword: str, pythonpath: tuple[str, ...]) -> tuple[bool, str]:
    """The conformance suite on ``impl`` (stopping at the first failure):
    killed or not, and by what."""
    text, result = _session(impl, keyword, pythonpath, exitfirst=True, timeout=60)
    if text is None:
        errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
        return True, f"no verdict (exit {result.returncode}): {' '.join(errors)[:120]}"
    verdict = api.Verdict.from_json(text, exit_code=result.returncode)
    if verdict.passed:
        return False, ""
    return True, verdict.causes[0].title if verdict.causes else f"exit {verdict.exit_code}"


# refcnn's own tests of its layers, cheapest first: one pytest run each,
# stopping at the first failure; a mutant goes on to the next only if it
# survived the one before (the conformance suite on refcnn comes first)
REFCNN_TESTS = (
    ("tests/test_edge_cases.py", "tests/test_shapes.py", "tests/test_dtypes.py",
     "tests/test_validation_messages.py", "tests/test_nonfinite.py", "tests/test_model.py",
     "tests/test_hygiene_any_array.py", "tests/test_import.py", "tests/test_read_only_inputs.py"),
    ("tests/test_parallel.py",
     "tests/test_golden_fixtures.py::test_check_passes_on_the_committed_fixtures"),
)  # fmt: skip


def judge_refcnn(mutant: mt.Mutant, folder: Path) -> dict:
    """One mutant of refcnn: a copy of the package with the mutated file,
    first on PYTHONPATH; the suite on refcnn, then refcnn's own tests."""
    copy = Path(tempfile.mkdtemp(dir=folder))
    shutil.copytree(ROOT / "refcnn", copy / "refcnn", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / mutant.target).write_text(mutant.source)
    keyword = " or ".join(mt.REFCNN_OPS[Path(mutant.target).name])
    start = time.monotonic()
    killed, how = _suite("refcnn", keyword, (str(copy),))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy), str(ROOT)]),
           "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    # -P and append: neither python -m nor pytest puts the repository (and its
    # unmutated refcnn) before the mutated copy on sys.path
    command = [sys.executable, "-P", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               "-n", "0", "--import-mode=append"]  # fmt: skip
    for tests in REFCNN_TESTS:
        if killed:
            break
        run = subprocess.run([*command, *tests], cwd=ROOT, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
            killed, how = True, f"refcnn's tests: {(failed or ['?'])[0][:120]}"
    shutil.rmtree(copy, ignore_errors=True)
    return {"killed": killed, "how": how, "seconds": round(time.monotonic() - start, 2),
            "keyword": keyword}  # fmt: skip


# the judge's tiers: the fast tests that pin it, then the others (two workers)
JUDGE_TIERS = (("judge", ("-m", "judge", "-n", "0")), ("not judge", ("-m", "not judge", "-n", "2")))
JUDGE_TIER_LIMIT = 3600  # seconds; a tier that hangs counts as killing the mutant
# with a map, a tier's limit follows its tests' unmutated seconds (measured
# under coverage, so slower than here): a mutant that makes them this much
# slower is killed (a hang, or a test's own wait run out), as mutmut does
SLOWER_BY, SLOWER_SLACK = 3, 120


class _Cores:
    """The judge tiers of --jobs mutants share the machine; the other tests'
    tier has it alone, as in CI: their time-sensitive tests (a class graded
    two at a time) failed beside a second such tier on 2 cores, and passed
    alone on the same mutant (golden.py's allow_pickle=True, 65 s)."""

    def __init__(self) -> None:
        self._free = threading.Condition()
        self._shared = 0
        self._alone = False
        self._waiting = 0  # tiers that want the machine alone go first

    @contextlib.contextmanager
    def use(self, alone: bool) -> Iterator[None]:
        with self._free:
            if alone:
                self._waiting += 1
                self._free.wait_for(lambda: not self._alone and not self._shared)
                self._waiting -= 1
                self._alone = True
            else:
                self._free.wait_for(lambda: not self._alone and not self._waiting)
                self._shared += 1
        try:
            yield
        finally:
            with self._free:
                if alone:
                    self._alone = False
                else:
                    self._shared -= 1
                self._free.notify_all()


_CORES = _Cores()


_MAP: dict = {}  # --map: the coverage map (benchmarks/coverage_map.py)
SMALL_TIER = 12  # tests: fewer run in one process, more on two workers


def _tiers(mutant: mt.Mutant) -> list[tuple[str, tuple[str, ...], list[str], float]]:
    """The mutant's tiers (name, pytest's options, the tests, the time
    limit): with a coverage map, the judge tests, then the others, that run
    the statement it changes (coverage_map.tests_for; none: no test can tell
    it from the original); without, ``-m judge``, then the rest."""
    if not _MAP:
        return [(name, options, [], JUDGE_TIER_LIMIT) for name, options in JUDGE_TIERS]
    original = (ROOT / mutant.target).read_text()
    chosen = cm.tests_for(_MAP, mutant, original)
    seconds = {test: took for test, took, _ in _MAP["tests"]}
    tiers = []
    for name in ("judge", "not judge"):
        tests = [t for t, marked in chosen if marked == (name == "judge")]
        if tests:
            workers = "0" if len(tests) <= SMALL_TIER or name == "judge" else "2"
            limit = SLOWER_BY * sum(seconds[t] for t in tests) + SLOWER_SLACK
            tiers.append((name, ("-n", workers), tests, min(limit, JUDGE_TIER_LIMIT)))
    return tiers


def _pytest(command: list[str], cwd: Path, env: dict, limit: float):
    """The finished pytest, or None after ``limit`` seconds: then its whole
    process group is killed (its xdist workers, the sessions they started),
    so nothing of it goes on taking the cores from the next mutant."""
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            # a grandchild in a session of its own may hold the pipes open
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.communicate(timeout=30)
            return None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def judge_judge(mutant: mt.Mutant, folder: Path) -> dict:
    """One mutant of the suite's judging code: a copy of the repository
    with the mutated file, where ``refcnn.conformance`` is the copy's
    ``conformance/``; ``pytest -m judge`` there, then the other tests (with
    ``--map``: only those that run the function it changes)."""
    tiers = _tiers(mutant)
    if not tiers:
        return {"killed": False, "how": "", "seconds": 0.0, "keyword": "no test runs it"}
    # on the path before the editable install's finder (which maps
    # refcnn.conformance to the repository's unmutated conformance/)
    copy = cm.copy_of(ROOT, Path(tempfile.mkdtemp(dir=folder)))
    (copy / mutant.target).write_text(mutant.source)
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_XDIST_WORKER", None)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    start = time.monotonic()
    killed, how = False, ""
    for number, (name, options, tests, limit) in enumerate(tiers):
        arguments = list(options)
        if tests:  # the chosen tests' ids, one per line (pytest reads @file)
            ids = copy / f"tier{number}.args"
            ids.write_text("\n".join(tests) + "\n")
            arguments.append(f"@{ids}")
        with _CORES.use(alone=name != "judge"):
            run = _pytest([*command, *arguments], copy, env, limit)
        if run is None:
            killed, how = True, f"{name}: no result after {limit:.0f} s"
            break
        if run.returncode not in (0, 5):  # 5: no test selected
            failed = [line for line in run.stdout.splitlines()
                      if line.startswith(("FAILED", "ERROR"))]  # fmt: skip
            killed, how = True, f"{name}: {(failed or [f'exit {run.returncode}'])[0][:120]}"
            break
    shutil.rmtree(copy, ignore_errors=True)
    ran = (f"{sum(len(tier[2]) for tier in tiers)} tests that run it" if _MAP
           else "-m judge, then the rest")  # fmt: skip
    return {"killed": killed, "how": how, "seconds": round(time.monotonic() - start, 2),
            "keyword": ran}  # fmt: skip


def defaults_cells(mutants: list[mt.Mutant], folder: Path) -> int:
    """Each mutant of a default value, judged by the defaults check alone:
    its op's defaults cell must fail, with the hint that names the default."""
    wrong = 0
    for mutant in mutants:
        place = Path(tempfile.mkdtemp(dir=folder)) / mutant.target
        place.write_text(mutant.source)
        name = mutant.before.split("(")[0].removeprefix("def ").removesuffix("_back")
        text, _ = _session(str(place), f"test_defaults and {name}")
        verdict = json.loads(text) if text is not None else {"ops": {}}
        cell = verdict["ops"].get(name, {}).get("defaults", {})
        failure = (cell.get("failures") or [{}])[0]
        ok = cell.get("status") == "FAIL" and failure.get("hint_rule") == "default differs"
        wrong += not ok
        print(
            f"  {'ok  ' if ok else 'MISS'} {mutant.target}:{mutant.function} {mutant.after}: "
            f"{cell.get('status')}; looks like: {failure.get('hint', '-')}",
            flush=True,
        )
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        help="article_loops, article_transcription; with --refcnn: pool, ...",
    )
    parser.add_argument("--limit", type=int, default=0, help="the first N mutants of each")
    parser.add_argument("--report", type=Path, default=None, help="every mutant's result, JSON")
    parser.add_argument("--refcnn", action="store_true", help="refcnn's own layer code (mutmut)")
    parser.add_argument(
        "--judge", action="store_true", help="the suite's own judging code (mutmut)"
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        help="a random sample of N mutants (drawn with --seed) instead of all",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--journal",
        type=Path,
        default=None,
        help="each result appended as it comes (JSON lines); a rerun with the "
        "same journal judges only the mutants not in it",
    )
    parser.add_argument(
        "--retry-survivors",
        nargs="?",
        const="all",
        choices=["all", "unlisted"],
        help="judge again the journal's survivors (after a new test), only them; "
        "'unlisted': only those not listed as equivalent",
    )
    parser.add_argument("--judged-only", action="store_true",
                        help="report on the mutants the journal holds; judge no more")  # fmt: skip
    parser.add_argument(
        "--map",
        type=Path,
        default=None,
        help="with --judge: each mutant judged by the tests that run the function it "
        "changes, from this coverage map (built first when missing or stale: "
        "benchmarks/coverage_map.py)",
    )
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="only the mutants of default values, by the defaults check alone",
    )
    args = parser.parse_args()  # fmt: skip
    if args.judge and args.map is not None:
        found = cm.load(args.map)
        if found is None:
            print(f"building the coverage map {args.map} (every test under coverage)...",
                  flush=True)  # fmt: skip
            found = cm.build(ROOT, args.map)
            print(f"  {len(found['tests'])} tests in {found['seconds']} s", flush=True)
        _MAP.update(found)
    if args.judge:
        names = [n for n in mt.JUDGE_FILES
                 if not args.target or Path(n).stem in args.target]  # fmt: skip
        mutants = [m for n in names for m in mt.generate_judge(n)[: args.limit or None]]
        run, what = judge_judge, ", ".join(f"conformance/{n}" for n in names)
    elif args.refcnn:
        names = [n for n in mt.REFCNN_FILES
                 if not args.target or n.removesuffix(".py") in args.target]  # fmt: skip
        mutants = [m for n in names for m in mt.generate_refcnn(n)[: args.limit or None]]
        run, what = judge_refcnn, ", ".join(f"refcnn/{n}" for n in names)
    else:
        targets = [t for t in mt.TARGETS if not args.target or t.stem in args.target]
        mutants = [m for target in targets for m in mt.generate(target)[: args.limit or None]]
        run, what = judge, ", ".join(t.name for t in targets)
    if args.sample:
        drawn = random.Random(args.seed).sample(range(len(mutants)), min(args.sample, len(mutants)))
        # in the drawn order: a campaign stopped part way has judged a random sample
        mutants = [mutants[k] for k in drawn]
    equivalent = mt.equivalents()
    if args.defaults:
        kinds = ("core/NumberReplacer", "refcnn/NoneDefaultToOne", "core/ReplaceTrueWithFalse")
        chosen = [
            m for m in mutants
            if m.before.startswith("def ") and m.operator in kinds and m.key not in equivalent
            and m.function.removesuffix("_back") in ot.BY_NAME
        ]  # fmt: skip
        print(f"{len(chosen)} mutants of default values of {what}")
        with tempfile.TemporaryDirectory() as folder:
            missed = defaults_cells(chosen, Path(folder))
        print(f"{len(chosen) - missed}/{len(chosen)} fail in their defaults cell, with the hint")
        return 1 if missed else 0
    print(
        f"{len(mutants)} mutants of {what}; "
        f"{sum(m.key in equivalent for m in mutants)} listed as equivalent",
        flush=True,
    )
    results = _journalled(mutants, args.journal)
    if results:
        print(f"{len(results)} already judged in {args.journal}", flush=True)
    todo = [] if args.judged_only else [m for m in mutants if m not in results]
    if args.retry_survivors:
        todo = [m for m, r in results.items() if not r["killed"]
                and (args.retry_survivors == "all" or m.key not in equivalent)]  # fmt: skip
        retried = set(todo)
        results = {m: r for m, r in results.items() if m not in retried}
    start = time.monotonic()
    interrupted = False
    with tempfile.TemporaryDirectory() as folder, \
            concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:  # fmt: skip
        futures = {pool.submit(run, m, Path(folder)): m for m in todo}
        try:
            for done, future in enumerate(concurrent.futures.as_completed(futures),
                                          len(results) + 1):  # fmt: skip
                mutant = futures[future]
                results[mutant] = future.result()
                if args.journal is not None:
                    with args.journal.open("a") as journal:
                        journal.write(json.dumps({"mutant": _fingerprint(mutant),
                                                  **results[mutant]}) + "\n")  # fmt: skip
                if done % 25 == 0 or done == len(mutants):
                    alive = sum(not r["killed"] for r in results.values())
                    print(f"  {done}/{len(mutants)} judged, {alive} survived so far, "
                          f"{time.monotonic() - start:.0f} s", flush=True)  # fmt: skip
        except KeyboardInterrupt:
            # without this, leaving the pool would wait for every queued mutant
            pool.shutdown(wait=False, cancel_futures=True)
            interrupted = True
            print(f"\ninterrupted: the report covers the {len(results)} mutants judged"
                  + (f"; the same command goes on from {args.journal}" if args.journal else ""),
                  flush=True)  # fmt: skip
    code = report(results, equivalent, time.monotonic() - start, args.report)
    return 2 if interrupted else code


def _fingerprint(mutant: mt.Mutant) -> str:
    return hashlib.sha256(f"{mutant.key}\0{mutant.source}".encode()).hexdigest()


def _journalled(mutants: list[mt.Mutant], journal: Path | None) -> dict[mt.Mutant, dict]:
    """The results a journal already holds for these very mutants (same
    place, same change, same source); a torn last line is judged again."""
    if journal is None or not journal.exists():
        return {}
    found = {}
    for line in journal.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        found[entry.pop("mutant")] = entry
    prints = {m: _fingerprint(m) for m in mutants}
    return {m: found[key] for m, key in prints.items() if key in found}


def report(results: dict, equivalent: dict, seconds: float, path: Path | None) -> int:
    def score(items: list) -> str:
        counted = [(m, r) for m, r in items if not (not r["killed"] and m.key in equivalent)]
        killed = sum(r["killed"] for _, r in counted)
        if not counted:
            return f"0/0 (all {len(items)} equivalent)"
        return f"{killed}/{len(counted)} = {100 * killed / len(counted):.1f}%"

    items = list(results.items())
    survivors = [m for m, r in items if not r["killed"]]
    unlisted = [m for m in survivors if m.key not in equivalent]
    listed_killed = [m for m, r in items if r["killed"] and m.key in equivalent]
    print(
        f"\nmutation score (killed / non-equivalent): {score(items)}; "
        f"{len(survivors) - len(unlisted)} equivalent survivors; {seconds:.0f} s in all"
    )
    per_mutant = [r["seconds"] for _, r in items]
    print(
        f"seconds per mutant: median {statistics.median(per_mutant):.1f}, "
        f"mean {statistics.mean(per_mutant):.1f}, max {max(per_mutant):.1f}"
    )
    for title, key in (("per module", lambda m: m.target),
                       ("per operator", lambda m: m.operator),
                       ("per function", lambda m: f"{m.target}:{m.function}")):  # fmt: skip
        groups: dict[str, list] = defaultdict(list)
        for mutant, result in items:
            groups[key(mutant)].append((mutant, result))
        print(f"\n{title}:")
        for name, group in sorted(groups.items()):
            print(f"  {name:60s} {score(group)}")
    how = Counter(r["how"].split(":")[0] for _, r in items if r["killed"])
    print("\nkilled by:", ", ".join(f"{k or '?'} {v}" for k, v in how.most_common(8)))
    for mutant in listed_killed:
        print(f"LISTED AS EQUIVALENT BUT KILLED (take it off the list): {mutant}")
    for mutant in unlisted:
        print(f"SURVIVOR NOT LISTED AS EQUIVALENT (a suite bug?): {mutant}")
    if path is not None:
        path.write_text(json.dumps([{**m.__dict__, "source": None, **r} for m, r in items],
                                   indent=1))  # fmt: skip
    return 1 if unlisted or listed_killed else 0


if __name__ == "__main__":
    sys.exit(main())
