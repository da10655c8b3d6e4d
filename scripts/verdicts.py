"""Record the JSON verdict of every implementation module in tests/impls, and
compare two recordings cell by cell: a restructuring of the suite keeps
every verdict identical.

    python scripts/verdicts.py record DIR [--jobs 2] [--only SUBSTRING] [--timeout 5]
    python scripts/verdicts.py compare BEFORE AFTER [--moved OLD=NEW ...]

``record`` runs ``python -m refcnn.conformance --impl MODULE -n 0`` on each
module (the default run; a short ``--timeout`` so that the hanging modules
cost seconds, the same before and after), and keeps ``MODULE.json`` and
``MODULE.exit`` (the exit code and how the run ended) in DIR. The grading
submissions of tests/impls/grading (a fork bomb, a 50 GB allocation) are
judged by ``benchmarks/grade_class.py``, not here.

``compare`` compares, for each module in both, the exit code and every
cell: each (op, check, corner)'s status and counts, each failure's kind,
exception, message, where, function, gradient, hint and smallest example,
and the causes; the explanations' seconds and the paths of the recording are
left out. ``--moved conformance/test_=conformance/tests/test_`` reads the
before recording's text with that path changed (the suite's tests moved,
and a failure names its test). It prints each difference and a summary (modules, cells,
differences), and exits 1 if there is one.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IMPLS = ROOT / "tests" / "impls"
LEFT_OUT = ("grading",)  # judged by benchmarks/grade_class.py


def modules(only: str = "") -> list[str]:
    """Every implementation module of tests/impls, by dotted name, sorted."""
    found = ["refcnn"]
    for path in sorted(IMPLS.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        parts = relative.parts
        if path.name.startswith("_") or any(p in LEFT_OUT for p in parts):
            continue
        found.append(".".join(parts))
    return [m for m in found if only in m]


def record_one(module: str, folder: Path, timeout: float) -> tuple[str, int, float]:
    report = folder / f"{module}.json"
    report.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_XDIST_WORKER", None)
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "refcnn.conformance", "--impl", module, "-n", "0",
         "--timeout", str(timeout), "--conformance-report", str(report),
         "--conformance-failures", str(folder / f"{module}.failures.txt")],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.monotonic() - start
    tail = (result.stdout + result.stderr).strip().splitlines()[-1:] or [""]
    (folder / f"{module}.exit").write_text(f"{result.returncode}\n{tail[0]}\n")
    return module, result.returncode, seconds


def record(folder: Path, jobs: int, only: str, timeout: float) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    names = modules(only)
    print(f"{len(names)} modules into {folder}", flush=True)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(record_one, name, folder, timeout) for name in names]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            module, code, seconds = future.result()
            print(f"  [{done}/{len(names)}] {module}: exit {code}, {seconds:.1f} s", flush=True)
    print(f"{time.monotonic() - start:.0f} s in all")
    return 0


# what a failure says; the rest (the snippet's literal inputs are in "minimal"
# and the snippet itself) is compared too, but the explanations' seconds
_SECONDS = re.compile(r'"seconds": [0-9.e-]+')


def _normal(text: str, folder: Path, moved: tuple[tuple[str, str], ...] = ()) -> dict:
    text = _SECONDS.sub('"seconds": 0', text.replace(str(folder), "DIR"))
    for old, new in moved:
        text = text.replace(old, new)
    return json.loads(text)


def cells(verdict: dict) -> dict[tuple, dict]:
    """(op, check, corner) -> the cell's record (None corner: the cell)."""
    found = {}
    for op, checks in verdict.get("ops", {}).items():
        for check, cell in checks.items():
            corners = cell.get("corners") or {}
            found[(op, check, None)] = {k: v for k, v in cell.items() if k != "corners"}
            for corner, result in corners.items():
                found[(op, check, corner)] = result
    return found


def _changes(was: Any, now: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Where two records differ: (the field's path, before, after)."""
    if isinstance(was, dict) and isinstance(now, dict):
        for key in sorted(set(was) | set(now), key=str):
            yield from _changes(was.get(key), now.get(key), f"{path}.{key}" if path else key)
    elif isinstance(was, list) and isinstance(now, list) and len(was) == len(now):
        for index, (a, b) in enumerate(zip(was, now, strict=True)):
            yield from _changes(a, b, f"{path}[{index}]")
    elif was is not now and was != now:  # NaN is NaN: json.loads gives one object
        yield path, was, now


def compare(before: Path, after: Path, moved: tuple[tuple[str, str], ...] = ()) -> int:
    names = sorted(p.stem for p in before.glob("*.json") if not p.name.endswith(".failures.txt"))
    compared_cells = differences = missing = 0
    for name in names:
        other = after / f"{name}.json"
        exits = [(d / f"{name}.exit").read_text().split("\n")[0] for d in (before, after)
                 if (d / f"{name}.exit").exists()]  # fmt: skip
        if not other.exists():
            print(f"{name}: no verdict after")
            missing += 1
            continue
        if len(set(exits)) > 1:
            print(f"{name}: exit code {exits[0]} before, {exits[1]} after")
            differences += 1
        old = _normal((before / f"{name}.json").read_text(), before, moved)
        new = _normal(other.read_text(), after)
        old_cells, new_cells = cells(old), cells(new)
        for key in sorted(set(old_cells) | set(new_cells), key=str):
            compared_cells += 1
            if old_cells.get(key) != new_cells.get(key):
                differences += 1
                print(f"{name} {key}: differs")
                changes = list(_changes(old_cells.get(key), new_cells.get(key)))
                for path, was, now in changes[:8]:
                    was_text, now_text = json.dumps(was)[:160], json.dumps(now)[:160]
                    print(f"    {path or '(cell)'}: {was_text} -> {now_text}")
                if len(changes) > 8:
                    print(f"    ... and {len(changes) - 8} more")
        for field in ("causes", "all_provided_pass", "interrupted", "suite_errors", "notes"):
            if old.get(field) != new.get(field):
                differences += 1
                print(f"{name} {field}: differs")
    for old_text, new_text in moved:
        print(f"before: {old_text!r} read as {new_text!r}")
    print(
        f"{len(names)} modules, {compared_cells} cells compared: {differences} differences"
        + (f", {missing} without a verdict after" if missing else "")
    )
    return 1 if differences or missing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("folder", type=Path)
    rec.add_argument("--jobs", type=int, default=2)
    rec.add_argument("--only", default="", help="modules whose name contains this")
    rec.add_argument("--timeout", type=float, default=5.0)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    cmp_.add_argument("--moved", action="append", default=[], metavar="OLD=NEW",
                      help="a moved path: read OLD in the before recording as NEW")  # fmt: skip
    args = parser.parse_args()
    if args.command == "record":
        return record(args.folder, args.jobs, args.only, args.timeout)
    moved = []
    for pair in args.moved:
        old, sep, new = pair.partition("=")
        if not sep or not old:
            parser.error(f"--moved: expected OLD=NEW, got {pair!r}")
        moved.append((old, new))
    return compare(args.before, args.after, tuple(moved))


if __name__ == "__main__":
    sys.exit(main())
