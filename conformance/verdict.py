"""The verdict of a run: op x check -> pass / FAIL / unsupported / not
provided / ..., corner by corner.

Every collected test is tagged with the op it judges, the kind of check
(``forward``, ``backward``, ``gradient``, ``golden``, ``hygiene``,
``fixtures``, ``validation``, ``semantics``, ``trajectory``,
``distribution``) and, for the corner-by-corner checks, the corner and
dtype. Property tests report what they drew (a :class:`Tally`), failures
their kind, message, parameters and snippet. At the end of the run the
controller (also under pytest-xdist) prints the table, one line per corner
that does not pass, optionally the coverage, and writes the same as JSON.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CHECKS = (
    "forward",
    "backward",
    "gradient",
    "golden",
    "hygiene",
    "fixtures",
    "validation",
    "semantics",
    "trajectory",
    "distribution",
)
CORNER_CHECKS = ("forward", "backward", "gradient", "golden", "hygiene")
# Test function -> check, for the tests whose op comes from a parameter.
UNSUPPORTED = "unsupported: "  # the start of the skip reason of a declared corner
NOT_PROVIDED = "not provided: "
REASON_WIDTH = 150


@dataclass
class Tally:
    """What one property test drew: examples whose values were compared,
    examples where only shapes could be (empty outputs), and the tags of
    every example (``op.tags``: ties, kinks, non-dividing strides, ...)."""

    compared: int = 0
    shape_only: int = 0
    tags: Counter = field(default_factory=Counter)

    def count(self, tags: set[str], compared: bool) -> None:
        if compared:
            self.compared += 1
        else:
            self.shape_only += 1
        self.tags.update(tags)

    def as_dict(self) -> dict:
        return {
            "compared": self.compared,
            "shape_only": self.shape_only,
            "tags": dict(self.tags),
        }


def key_of(item: Any) -> tuple[str, str, str | None, str | None] | None:
    """``(op, check, corner, dtype)`` for a collected test, from its
    ``verdict(check, op=...)`` marker and its parameters (``op``, or an
    ``example``/``case`` naming its function, or ``name``; ``corner``,
    ``dtype``); None for a test that judges no op. Corner and dtype are None
    for the checks without corners."""
    marker = item.get_closest_marker("verdict")
    if marker is None:
        return None
    check, op = marker.kwargs["check"], marker.kwargs.get("op")
    if op is not None:
        return op, check, None, None
    params = getattr(getattr(item, "callspec", None), "params", {})
    corner, dtype = params.get("corner"), params.get("dtype")
    for key in ("op", "example", "case"):
        if key in params:
            value = params[key]
            op = getattr(value, "name", None) or getattr(value, "function", None)
            return op.removesuffix("_back"), check, corner, dtype
    if "name" in params:
        return params["name"], check, corner, dtype
    raise ValueError(f"{item.nodeid}: a verdict marker without op, and no op parameter")


@dataclass
class Corner:
    """The tests of one (op, check, corner), over the dtypes."""

    passed: int = 0
    failed: int = 0
    unsupported: int = 0
    not_provided: int = 0
    not_checked: int = 0  # policy checks, off for implementations other than refcnn
    skipped: int = 0
    xfailed: int = 0
    compared: int = 0
    shape_only: int = 0
    failures: list[dict] = field(default_factory=list)
    skip_reason: str = ""

    @property
    def status(self) -> str:
        if self.failed:
            return "FAIL"
        if self.passed:
            return "pass" if not self.xfailed else "pass+xfail"
        if self.xfailed:
            return "xfail"
        for status in ("unsupported", "not_provided", "not_checked"):
            if getattr(self, status):
                return status.replace("_", " ")
        return "skipped"

    def add(self, other: Corner) -> None:
        for name in (
            "passed",
            "failed",
            "unsupported",
            "not_provided",
            "not_checked",
            "skipped",
            "xfailed",
            "compared",
            "shape_only",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures += other.failures
        self.skip_reason = self.skip_reason or other.skip_reason


@dataclass
class Cell:
    """One (op, check): its corners (one, ``None``, for the checks without)."""

    corners: dict[str | None, Corner] = field(default_factory=lambda: defaultdict(Corner))

    @property
    def total(self) -> Corner:
        total = Corner()
        # in the corners' order, not the order reports arrived in (xdist)
        for _, corner in sorted(self.corners.items(), key=_corner_order):
            total.add(corner)
        return total

    @property
    def status(self) -> str:
        total = self.total
        if not total.failed and not total.passed and total.unsupported:
            return "unsupported"
        return total.status


class Verdict:
    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
        self.running: dict[str, None] = {}  # tests started and not finished, in order
        self.nodeids: set[str] = set()  # every test a report arrived for
        self.interrupted: str | None = None  # why the run stopped early (Ctrl-C, SIGTERM)
        self.internal_error: str | None = None
        self.other_errors: list[dict] = []  # suite errors of tests that judge no op
        # (op, corner) -> dtype -> Tally of every example drawn there
        self.coverage: dict[tuple[str, str], dict[str, Tally]] = defaultdict(
            lambda: defaultdict(Tally)
        )

    def started(self, nodeid: str) -> None:
        self.running[nodeid] = None

    def finished(self, nodeid: str) -> None:
        self.running.pop(nodeid, None)

    def record(self, report: Any) -> None:
        self.nodeids.add(report.nodeid)
        props = dict(report.user_properties)
        key = props.get("verdict")
        if key is None:
            failure = props.get("failure")
            if report.outcome == "failed" and failure and failure.get("kind") == "suite error":
                trace = getattr(report, "longreprtext", "")
                self.other_errors.append({**failure, "test": report.nodeid, "trace": trace})
            return
        op, check, corner, dtype = key
        cell = self.cells[(op, check)].corners[corner]
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            tally = props.get("tally")
            if tally and report.outcome != "skipped":
                cell.compared += tally["compared"]
                cell.shape_only += tally["shape_only"]
            if tally and report.outcome != "skipped" and check != "golden":  # drawn, not stored
                drawn = self.coverage[(op, corner)][dtype]
                drawn.compared += tally["compared"]
                drawn.shape_only += tally["shape_only"]
                drawn.tags.update(tally["tags"])
            if hasattr(report, "wasxfail"):
                cell.xfailed += 1
            elif report.outcome == "passed":
                cell.passed += 1
            elif report.outcome == "failed":
                cell.failed += 1
                failure = dict(props.get("failure") or {})
                failure.update(test=report.nodeid, corner=corner, dtype=dtype)
                failure.setdefault("kind", "wrong values")
                failure.setdefault("message", _first_line(report))
                failure["trace"] = getattr(report, "longreprtext", "")
                cell.failures.append(failure)
                # the first failure shown must not depend on which xdist worker
                # reported first: float64 before float32, then by test id
                cell.failures.sort(key=_failure_order)
            elif report.outcome == "skipped":
                reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
                reason = reason.removeprefix("Skipped: ")
                if reason.startswith(UNSUPPORTED):
                    cell.unsupported += 1
                elif reason.startswith(NOT_PROVIDED):
                    cell.not_provided += 1
                elif "--strict-policies" in reason:
                    cell.not_checked += 1
                else:
                    cell.skipped += 1
                cell.skip_reason = cell.skip_reason or reason

    # --- reading ---------------------------------------------------------------------

    def ops(self) -> list[str]:
        """Ops in the order of the op table, then the others by name."""
        from .op_table import OPS

        order = {op.name: i for i, op in enumerate(OPS)}
        names = {op for op, _ in self.cells}
        return sorted(names, key=lambda name: (order.get(name, len(order)), name))

    def absent(self, op: str) -> bool:
        """True when the implementation provides nothing this op's tests need."""
        return all(
            cell.status == "not provided" for (name, _), cell in self.cells.items() if name == op
        )

    @property
    def failed(self) -> bool:
        return any(cell.total.failed for cell in self.cells.values())

    @property
    def passed(self) -> bool:
        """Every provided op truly passed: nothing failed, the run finished,
        and the suite itself raised nothing."""
        return not (
            self.failed
            or self.interrupted is not None
            or self.internal_error
            or self.suite_errors()
        )

    def suite_errors(self) -> list[dict]:
        return [f for f in self.failures() if f["kind"] == "suite error"] + self.other_errors

    def status_lines(self) -> list[str]:
        """What stopped the run early, and what was running then."""
        lines = []
        if self.interrupted is not None:
            lines.append(f"INTERRUPTED ({self.interrupted}): the verdict is incomplete, not a pass")
            if self.running:
                lines.append(f"tests running when it stopped ({len(self.running)}):")
                lines += [f"  {nodeid}" for nodeid in self.running]
        if self.internal_error:
            lines.append(f"INTERNAL ERROR of pytest or a plugin: {self.internal_error}")
        for error in self.suite_errors():
            lines.append(f"SUITE ERROR in {error['test']}: {error['message']}")
        return lines

    def failures(self) -> list[dict]:
        return [
            f for cell in self.cells.values() for c in cell.corners.values() for f in c.failures
        ]

    @staticmethod
    def _text(cell: Cell | None, check: str) -> str:
        if cell is None:
            return "-"
        total, status = cell.total, cell.status
        named = {k: v for k, v in cell.corners.items() if k is not None}
        if status == "FAIL" and named:
            failing = sum(c.status == "FAIL" for c in named.values())
            return f"FAIL ({failing}/{len(named)} corners)"
        if total.compared or total.shape_only:
            return f"{status} ({total.compared} {'cases' if check == 'golden' else 'ex.'})"
        if total.passed + total.failed > 1:
            return f"{status} ({total.passed + total.failed} cases)"
        return status

    def table(self) -> str:
        status = self.status_lines()
        if not self.cells:
            return "\n".join(status)
        shown = [op for op in self.ops() if not self.absent(op)]
        checks = [c for c in CHECKS if any(k[1] == c for k in self.cells if k[0] in shown)]
        rows = [["op", *checks]] + [
            [op, *(self._text(self.cells.get((op, c)), c) for c in checks)] for op in shown
        ]
        lines = _columns(rows)
        absent = [op for op in self.ops() if self.absent(op)]
        if absent:
            lines.append(f"not provided ({len(absent)}): {', '.join(absent)}")
        shape_only = sum(cell.total.shape_only for cell in self.cells.values())
        if shape_only:
            lines.append(
                f"examples above: those whose values were compared; {shape_only} more had "
                "empty outputs (shape-only, mostly the empty batch corner)"
            )
        breakdown = self.breakdown()
        if breakdown:
            lines += ["", "corners that do not pass, or are declared unsupported:", *breakdown]
        if status:
            lines = [*status, "", *lines]
        return "\n".join(lines)

    def breakdown(self) -> list[str]:
        """One line per failing or unsupported corner of each op, and per
        failing check without corners: status, checks, one-line reason.
        Corners of an op that fail in the same checks for the same reason
        share one line (``every corner but empty batch``)."""
        from .op_table import BY_NAME

        rows = []
        for op in self.ops():
            by_corner: dict[str | None, dict[str, Corner]] = defaultdict(dict)
            for (name, check), cell in self.cells.items():
                if name == op:
                    for corner, result in cell.corners.items():
                        by_corner[corner][check] = result
            groups: dict[tuple[str, str], list[str]] = {}
            dtypes: dict[tuple[str, str], set[str]] = defaultdict(set)
            for corner, results in sorted(by_corner.items(), key=_corner_order):
                ordered = [(c, results[c]) for c in CHECKS if c in results]
                failed = [(c, r) for c, r in ordered if r.status == "FAIL"]
                if failed:
                    check, result = failed[0]
                    status = f"FAIL ({', '.join(c for c, _ in failed)})"
                    factor = _failing_factor(corner, result.failures[0], by_corner)
                    reason = _reason(op, corner, result.failures[0], dtype=False, factor=factor)
                    dtype = result.failures[0].get("dtype")
                elif any(r.status == "unsupported" for _, r in ordered):
                    skip = next(r.skip_reason for _, r in ordered if r.status == "unsupported")
                    status, reason = "unsupported", skip.removeprefix(UNSUPPORTED)
                    dtype = None
                else:
                    continue
                key = (status, _without_corner(reason, corner))
                groups.setdefault(key, []).append(corner or "-")
                if dtype:
                    dtypes[key].add(dtype)
            for (status, reason), corners in groups.items():
                if dtypes.get((status, reason)):
                    reason += f" [{', '.join(sorted(dtypes[(status, reason)]))}]"
                if len(corners) > 1:
                    reason = reason.replace(_CORNER_MARK, "<corner>")
                else:
                    reason = reason.replace(_CORNER_MARK, corners[0])
                rows.append([op, _corners_text(corners, BY_NAME.get(op)), status, reason])
        return ["  " + line for line in _columns(rows)] if rows else []

    def coverage_table(self) -> str:
        rows = [["op", "corner", "examples f64/f32", "tags (examples that hit each, f64/f32)"]]
        for op in self.ops():
            for (name, corner), by_dtype in sorted(self.coverage.items(), key=_coverage_order):
                if name != op or corner is None:
                    continue
                f64, f32 = by_dtype.get("float64", Tally()), by_dtype.get("float32", Tally())
                tags = sorted(set(f64.tags) | set(f32.tags))
                rows.append(
                    [
                        op,
                        corner,
                        f"{f64.compared + f64.shape_only}/{f32.compared + f32.shape_only}",
                        ", ".join(f"{t} {f64.tags[t]}/{f32.tags[t]}" for t in tags) or "-",
                    ]
                )
        return "\n".join(_columns(rows))

    def as_json(self, implementation: str, oracle: str, environment: dict | None = None) -> dict:
        return {
            "implementation": implementation,
            "oracle": oracle,
            "environment": environment or {},
            "ops": {
                op: {
                    check: _cell_json(cell, check)
                    for (op_, check), cell in sorted(
                        self.cells.items(),
                        key=lambda kv: (
                            CHECKS.index(kv[0][1]) if kv[0][1] in CHECKS else len(CHECKS)
                        ),
                    )
                    if op_ == op
                }
                for op in self.ops()
            },
            "coverage": {
                op: {
                    corner: {
                        "examples": sum(t.compared + t.shape_only for t in by_dtype.values()),
                        "by_dtype": {dtype: t.as_dict() for dtype, t in sorted(by_dtype.items())},
                        "tags": dict(sum((t.tags for t in by_dtype.values()), Counter())),
                    }
                    for (name, corner), by_dtype in sorted(
                        self.coverage.items(), key=_coverage_order
                    )
                    if name == op and corner is not None
                }
                for op in self.ops()
                if any(name == op for name, _ in self.coverage)
            },
            "interrupted": self.interrupted is not None,
            "interrupted_by": self.interrupted,
            "running_when_interrupted": list(self.running) if self.interrupted else [],
            "internal_error": self.internal_error,
            "suite_errors": [_failure_json(f) for f in self.suite_errors()],
            "all_provided_pass": self.passed,
        }

    def json_text(self, implementation: str, oracle: str, environment: dict) -> str:
        return json.dumps(self.as_json(implementation, oracle, environment), indent=2) + "\n"

    def failures_text(self) -> str:
        """Every failure in full: message, parameters, snippet, pytest's trace."""
        failures = self.failures() + self.other_errors
        parts = []
        for failure in failures:
            parts.append(
                "=" * 78
                + f"\n{failure['test']}\n{failure['kind']}: {failure['message']}\n"
                + (f"{failure['call']}\n" if failure.get("call") else "")
                + f"parameters: {failure.get('params', {})}\n\n"
                + (f"{failure['snippet']}\n\n" if failure.get("snippet") else "")
                + failure.get("trace", "")
            )
        return "\n".join(parts) + "\n"


_DTYPE_ORDER = {"float64": 0, "float32": 1}


def _failure_order(failure: dict) -> tuple[int, str]:
    return _DTYPE_ORDER.get(failure.get("dtype") or "", 2), failure.get("test", "")


_CORNER_MARK = "\x00corner\x00"


def _without_corner(reason: str, corner: str | None) -> str:
    """The reason with the corner's name taken out, so that corners failing
    for the same reason compare equal."""
    if not corner:
        return reason
    for old in (f'"{corner}"', f"'{corner}'", f':{corner}"'):
        reason = reason.replace(old, old.replace(corner, _CORNER_MARK))
    return reason


def _corners_text(corners: list[str], op: Any) -> str:
    """``plain``, ``padding, strides``, ``every corner``, ``every corner but empty batch``."""
    if len(corners) < 3 or op is None:
        return ", ".join(corners)
    missing = [c for c in op.corners if c not in corners]
    if not missing:
        return "every corner"
    if len(missing) <= 2:
        return f"every corner but {', '.join(missing)}"
    return ", ".join(corners)


def _cell_json(cell: Cell, check: str) -> dict:
    total = cell.total
    result = {
        "status": cell.status,
        "passed": total.passed,
        "failed": total.failed,
        "unsupported": total.unsupported,
        "not_provided": total.not_provided,
        "not_checked": total.not_checked,
        "skipped": total.skipped,
        "xfailed": total.xfailed,
        "examples": total.compared,
        "shape_only": total.shape_only,
        "failures": [_failure_json(f) for f in total.failures],
    }
    if check in CORNER_CHECKS:
        result["corners"] = {
            corner: {
                "status": c.status,
                "examples": c.compared,
                "shape_only": c.shape_only,
                **({"failure": _failure_json(c.failures[0])} if c.failures else {}),
            }
            for corner, c in cell.corners.items()
            if corner is not None
        }
    return result


def _failure_json(failure: dict) -> dict:
    return {k: v for k, v in failure.items() if k != "trace"}


def _factors(params: dict) -> set[str]:
    """The declarable factors a failing example's parameters hold (JSON
    values: tuples are lists)."""
    found = set()
    padding = params.get("padding", params.get("p"))
    if padding is not None and any(np.atleast_1d(padding)):
        found.add("padding")
    strides = params.get("strides", params.get("s"))
    if strides is not None and max(np.atleast_1d(strides)) > 1:
        found.add("strides")
    if any(isinstance(v, list) for v in params.values()):
        found.add("tuple params")
    pool = params.get("pool_size")
    if isinstance(pool, list) and pool[0] != pool[1]:
        found.add("non-square")
    return found


def _failing_factor(corner: str | None, failure: dict, by_corner: dict) -> str:
    """For an exception in ``corner`` whose example holds another factor that
    raises on its own (tuple padding, where padding raises): that factor,
    narrower than the corner and the one to declare; else ""."""
    if failure["kind"] != "raised" or corner in (None, "plain"):
        return ""
    for factor in sorted(_factors(failure.get("params", {})) - {corner}):
        results = by_corner.get(factor, {})
        if any(r.status == "FAIL" and r.failures[0]["kind"] == "raised" for r in results.values()):
            return factor
    return ""


def _reason(
    op: str, corner: str | None, failure: dict, dtype: bool = True, factor: str = ""
) -> str:
    separator = " " if failure["kind"] == "raised" else ": "  # "raised TypeError: ..."
    text = f"{failure['kind']}{separator}{failure['message']}"
    if len(text) > REASON_WIDTH:
        text = text[: REASON_WIDTH - 3] + "..."
    text += f" [{failure['dtype']}]" if failure.get("dtype") and dtype else ""
    if factor:
        text += f'; it has {factor}, which raises on its own: --unsupported "{op}:{factor}"'
    elif failure["kind"] == "raised" and corner not in (None, "plain", "mixed"):
        text += f'; declare it if intended: --unsupported "{op}:{corner}"'
    if failure["kind"] == "aliased output" and "(a view;" in failure["message"]:
        text += "; views are allowed without --strict-policies"
    return text


def _first_line(report: Any) -> str:
    """The exception's first line, from pytest's "E   " lines."""
    for line in str(report.longrepr).splitlines():
        if line.startswith("E "):
            return line[1:].strip().removeprefix("AssertionError: ")
    return str(report.longrepr).strip().splitlines()[-1][:300] if report.longrepr else ""


def _corner_order(item: tuple[str | None, Any]) -> int:
    from .corners import CORNERS

    names = list(CORNERS)
    return names.index(item[0]) if item[0] in names else len(names)


def _coverage_order(item: tuple[tuple[str, str], Any]) -> tuple[str, int]:
    return item[0][0], _corner_order((item[0][1], None))


def _columns(rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) + 2 for i in range(len(rows[0]))]
    return [
        "".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
