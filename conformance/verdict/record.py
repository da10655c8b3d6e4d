"""The verdict of a run: op x check -> pass / FAIL / unsupported / not
provided / ..., corner by corner.

Every collected test is tagged with the op it judges, the kind of check
(``forward``, ``backward``, ``gradient``, ``golden``, ``hygiene``,
``defaults``, ``fixtures``, ``validation``, ``semantics``, ``trajectory``,
``distribution``) and, for the corner-by-corner checks, the corner and
dtype. Property tests report what they drew (a :class:`Tally`), failures
their kind, message, parameters and snippet. This module records them, in
the controller (also under pytest-xdist); :mod:`conformance.verdict.render` turns
the record into the table, the line per corner that does not pass, the
coverage, the JSON report and the failures file.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

CHECKS = (
    "forward",
    "backward",
    "gradient",
    "golden",
    "hygiene",
    "defaults",
    "fixtures",
    "validation",
    "semantics",
    "trajectory",
    "distribution",
)
CORNER_CHECKS = ("forward", "backward", "gradient", "golden", "hygiene")
# Test function -> check, for the tests whose op comes from a parameter.
# Variants of a failure's kind that code tells apart (its "detail"): an
# aliased output that is a view of an input (allowed unless
# --strict-policies); a call that raises only with a default left out.
VIEW, ONLY_LEFT_OUT = "view", "only with a default left out"
DETAILS = (VIEW, ONLY_LEFT_OUT)
UNSUPPORTED = "unsupported: "  # the start of the skip reason of a declared corner
NOT_PROVIDED = "not provided: "
NOT_RUN = "not run: "  # of a test after a time-out in its (op, corner), or the budget spent
# a skip's verdict status (implementation.StatusSkip) -> the count it adds to
SKIP_FIELDS = {
    "unsupported": "unsupported",
    "not provided": "not_provided",
    "not checked": "not_checked",
    "not run": "not_run",  # after a time-out in its (op, corner), or with the budget spent
}
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
    not_run: int = 0  # never a pass: see SKIP_FIELDS
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
        if self.not_run:
            return "not run"
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
            "not_run",
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


class Record:
    """The verdict of one run as recorded: the cells, what stopped the run,
    the coverage; and what the renderings name (the implementation, the
    oracle, the versions, notes on how the implementation was loaded).
    :mod:`conformance.running.api`'s ``Verdict`` is the public face of one."""

    def __init__(self) -> None:
        self.implementation = ""
        self.language = "en"  # of the text for people: the messages, hints, titles (refcnn.i18n)
        self.oracle = ""
        self.environment: dict[str, str] = {}
        self.notes: list[str] = []  # e.g. a notebook's cells that raised or were skipped
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
        # the failures grouped by cause, derived once (conformance.verdict.causes.of)
        # when a rendering first reads them; a later report clears them
        self.causes: list[Any] | None = None

    def started(self, nodeid: str) -> None:
        self.running[nodeid] = None

    def finished(self, nodeid: str) -> None:
        self.running.pop(nodeid, None)

    def record(self, report: Any) -> None:
        self.causes = None
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
                # a StatusSkip's status and reason, recorded by the plugin
                status, reason = props.get("skip", ("skipped", reason.removeprefix("Skipped: ")))
                field = SKIP_FIELDS.get(status, "skipped")
                setattr(cell, field, getattr(cell, field) + 1)
                cell.skip_reason = cell.skip_reason or reason

    # --- reading ---------------------------------------------------------------------

    def ops(self) -> list[str]:
        """Ops in the order of the op table, then the others by name."""
        from ..inputs.op_table import OPS

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
    def not_run(self) -> bool:
        """Some test was not run (a time-out in its op and corner, the budget)."""
        return any(cell.total.not_run for cell in self.cells.values())

    @property
    def passed(self) -> bool:
        """Every provided op truly passed: nothing failed, the run finished,
        and the suite itself raised nothing."""
        return not (
            self.failed
            or self.not_run
            or self.interrupted is not None
            or self.internal_error
            or self.suite_errors()
        )

    def suite_errors(self) -> list[dict]:
        return [f for f in self.failures() if f["kind"] == "suite error"] + self.other_errors

    def status_lines(self) -> list[str]:
        """What stopped the run early, and what was running then."""
        lines = []
        from refcnn.i18n import tr

        if self.interrupted is not None:
            lines.append(tr("INTERRUPTED ({why}): the verdict is incomplete, not a pass",
                            why=self.interrupted))  # fmt: skip
            if self.running:
                lines.append(tr("tests running when it stopped ({n}):", n=len(self.running)))
                lines += [f"  {nodeid}" for nodeid in self.running]
        if self.internal_error:
            lines.append(tr("INTERNAL ERROR of pytest or a plugin: {error}",
                            error=self.internal_error))  # fmt: skip
        for error in self.suite_errors():
            lines.append(tr("SUITE ERROR in {test}: {message}", test=error["test"],
                            message=error["message"]))  # fmt: skip
        return lines

    def failures(self) -> list[dict]:
        return [
            f for cell in self.cells.values() for c in cell.corners.values() for f in c.failures
        ]


_DTYPE_ORDER = {"float64": 0, "float32": 1}


def _failure_order(failure: dict) -> tuple[int, str]:
    return _DTYPE_ORDER.get(failure.get("dtype") or "", 2), failure.get("test", "")


def _first_line(report: Any) -> str:
    """The exception's first line, from pytest's "E   " lines."""
    for line in str(report.longrepr).splitlines():
        if line.startswith("E "):
            return line[1:].strip().removeprefix("AssertionError: ")
    return str(report.longrepr).strip().splitlines()[-1][:300] if report.longrepr else ""


def _corner_order(item: tuple[str | None, Any]) -> int:
    from ..inputs.corners import CORNERS

    names = list(CORNERS)
    return names.index(item[0]) if item[0] in names else len(names)
