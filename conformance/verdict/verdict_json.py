"""The verdict as JSON, and back (imported as ``vj``).

The JSON report (``--conformance-report``) says, per op and check, the
status and counts, and per corner its own; every failure (without pytest's
trace), numbered by the cause it belongs to (:mod:`conformance.verdict.causes`),
and the causes; the coverage; what stopped the run. It holds the whole
record: :func:`record` rebuilds it, so that :func:`conformance.running.api.check`,
which reads the report of the run it started, renders the same table and
page as the run itself.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from . import causes as cs
from .record import CHECKS, CORNER_CHECKS, Cell, Corner, Record, Tally
from .render import coverage_order

COUNTS = (
    "passed", "failed", "unsupported", "not_provided", "not_checked", "not_run", "skipped",
    "xfailed",
)  # fmt: skip


def as_json(verdict: Record) -> dict:
    causes = cs.of(verdict)
    return {
        "implementation": verdict.implementation,
        "language": verdict.language,
        "oracle": verdict.oracle,
        "environment": verdict.environment,
        "notes": verdict.notes,
        "ops": {
            op: {
                check: _cell_json(cell, check)
                for (op_, check), cell in sorted(
                    verdict.cells.items(),
                    key=lambda kv: CHECKS.index(kv[0][1]) if kv[0][1] in CHECKS else len(CHECKS),
                )
                if op_ == op
            }
            for op in verdict.ops()
        },
        "causes": [cause.as_json() for cause in causes],
        "coverage": {
            op: {
                corner: {
                    "examples": sum(t.compared + t.shape_only for t in by_dtype.values()),
                    "by_dtype": {dtype: t.as_dict() for dtype, t in sorted(by_dtype.items())},
                    "tags": dict(sum((t.tags for t in by_dtype.values()), Counter())),
                }
                for (name, corner), by_dtype in sorted(verdict.coverage.items(), key=coverage_order)
                if name == op and corner is not None
            }
            for op in verdict.ops()
            if any(name == op for name, _ in verdict.coverage)
        },
        "interrupted": verdict.interrupted is not None,
        "interrupted_by": verdict.interrupted,
        "running_when_interrupted": list(verdict.running) if verdict.interrupted else [],
        "internal_error": verdict.internal_error,
        "suite_errors": [_failure_json(f) for f in verdict.suite_errors()],
        "all_provided_pass": verdict.passed,
    }


def json_text(verdict: Record) -> str:
    return json.dumps(as_json(verdict), indent=2) + "\n"


def _counts(corner: Corner) -> dict[str, int]:
    return {name: getattr(corner, name) for name in COUNTS}


def _cell_json(cell: Cell, check: str) -> dict:
    total = cell.total
    result = {
        "status": cell.status,
        **_counts(total),
        "examples": total.compared,
        "shape_only": total.shape_only,
        "failures": [_failure_json(f) for f in total.failures],
        **({"skip_reason": total.skip_reason} if total.skip_reason else {}),
    }
    if check in CORNER_CHECKS:
        result["corners"] = {
            corner: {
                "status": c.status,
                "examples": c.compared,
                "shape_only": c.shape_only,
                **({"failure": _failure_json(c.failures[0])} if c.failures else {}),
                **_counts(c),
                **({"skip_reason": c.skip_reason} if c.skip_reason else {}),
            }
            for corner, c in cell.corners.items()
            if corner is not None
        }
    return result


def _failure_json(failure: dict) -> dict:
    return {k: v for k, v in failure.items() if k != "trace"}


def record(data: dict[str, Any]) -> Record:
    """The record a JSON report holds (failures without their traces)."""
    rebuilt = Record()
    rebuilt.implementation, rebuilt.oracle = data["implementation"], data["oracle"]
    rebuilt.language = data.get("language", "en")  # a report from before the field: English
    rebuilt.environment, rebuilt.notes = data["environment"], list(data.get("notes", []))
    in_cells = set()
    for op, checks in data["ops"].items():
        for check, cell in checks.items():
            corners = cell.get("corners")
            if corners is None:  # a check without corners: its cell is its one corner
                corners = {None: cell}
            for corner, result in corners.items():
                rebuilt_corner = rebuilt.cells[(op, check)].corners[corner]
                for name in COUNTS:
                    setattr(rebuilt_corner, name, result.get(name, 0))
                rebuilt_corner.compared = result["examples"]
                rebuilt_corner.shape_only = result["shape_only"]
                rebuilt_corner.skip_reason = result.get("skip_reason", "")
                rebuilt_corner.failures = [
                    dict(f) for f in cell["failures"] if f.get("corner") == corner
                ]
                in_cells.update(f.get("test") for f in rebuilt_corner.failures)
    for op, corners in data["coverage"].items():
        for corner, drawn in corners.items():
            for dtype, tally in drawn["by_dtype"].items():
                rebuilt.coverage[(op, corner)][dtype] = Tally(
                    tally["compared"], tally["shape_only"], Counter(tally["tags"])
                )
    rebuilt.interrupted = data["interrupted_by"] if data["interrupted"] else None
    rebuilt.running = dict.fromkeys(data["running_when_interrupted"])
    rebuilt.internal_error = data["internal_error"]
    rebuilt.other_errors = [dict(e) for e in data["suite_errors"] if e.get("test") not in in_cells]
    return rebuilt
