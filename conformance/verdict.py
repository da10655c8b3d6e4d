"""The verdict of a run: op x check -> pass / FAIL / not provided / ...

Every collected test is tagged with the op it judges and the kind of check
(``forward``, ``backward``, ``gradient``, ``fixtures``, ``validation``,
``semantics``, ``trajectory``, ``distribution``). Property tests count the
examples they ran. At the end of the run the controller (also under
pytest-xdist) prints a table and, with ``--conformance-report=PATH``, writes
the same as JSON, failures included with their reproduction snippets.
"""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHECKS = (
    "forward",
    "backward",
    "gradient",
    "fixtures",
    "validation",
    "semantics",
    "trajectory",
    "distribution",
)
# Test function -> check, for the tests whose op comes from a parameter.
CHECK_OF = {
    "test_forward": "forward",
    "test_backward": "backward",
    "test_gradient_matches_finite_differences": "gradient",
    "test_step_function_prints_the_articles_array": "fixtures",
    "test_convolution2d_prints_the_articles_array": "fixtures",
    "test_bad_input_raises_a_clear_error": "validation",
    "test_golden_cases": "golden",
    "test_optimizer_trajectory_matches_torch_optim": "trajectory",
    "test_initializer_distribution": "distribution",
    "test_weight_initializer_parameters": "distribution",
    "test_bias_initializers": "distribution",
}


@dataclass
class Tally:
    """The examples one property test ran."""

    examples: int = 0

    def count(self) -> None:
        self.examples += 1


def key_of(item: Any) -> tuple[str, str] | None:
    """``(op, check)`` for a collected test, or None if it judges no op."""
    marker = item.get_closest_marker("verdict")
    if marker is not None:
        return marker.kwargs["op"], marker.kwargs["check"]
    name = getattr(item, "originalname", item.name)
    check = CHECK_OF.get(name)
    params = getattr(getattr(item, "callspec", None), "params", {})
    if check is None:
        return None
    if name == "test_convolution2d_prints_the_articles_array":
        return "convolution2d", check
    for key in ("op", "example", "case"):
        if key in params:
            value = params[key]
            op = getattr(value, "name", None) or getattr(value, "function", None)
            return op.removesuffix("_back"), check
    if "name" in params:
        return params["name"], check
    return None


@dataclass
class Cell:
    passed: int = 0
    failed: int = 0
    not_provided: int = 0
    not_checked: int = 0  # policy checks, off for implementations other than refcnn
    skipped: int = 0
    xfailed: int = 0
    examples: int = 0
    failures: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.failed:
            return "FAIL"
        if self.passed:
            return "pass" if not self.xfailed else "pass+xfail"
        if self.xfailed:
            return "xfail"
        if self.not_provided:
            return "not provided"
        if self.not_checked:
            return "not checked"
        return "skipped"


class Verdict:
    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], Cell] = defaultdict(Cell)

    def record(self, report: Any) -> None:
        props = dict(report.user_properties)
        key = props.get("verdict")
        if key is None:
            return
        cell = self.cells[tuple(key)]
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            if hasattr(report, "wasxfail"):
                cell.xfailed += 1
            elif report.outcome == "passed":
                cell.passed += 1
                cell.examples += int(props.get("examples", 0))
            elif report.outcome == "failed":
                cell.failed += 1
                cell.examples += int(props.get("examples", 0))
                cell.failures.append({"test": report.nodeid, "message": _message(report)})
            elif report.outcome == "skipped":
                reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
                if "not provided" in reason:
                    cell.not_provided += 1
                elif "--strict-policies" in reason:
                    cell.not_checked += 1
                else:
                    cell.skipped += 1

    def ops(self) -> list[str]:
        """Ops in the order of the op table, then the others by name."""
        from .op_table import OPS

        order = {op.name: i for i, op in enumerate(OPS)}
        names = {op for op, _ in self.cells}
        return sorted(names, key=lambda name: (order.get(name, len(order)), name))

    @staticmethod
    def _text(cell: Cell | None) -> str:
        if cell is None:
            return "-"
        text = cell.status
        if cell.examples:
            text += f" ({cell.examples} ex.)"
        elif cell.passed + cell.failed > 1:
            text += f" ({cell.passed + cell.failed} cases)"
        return text

    def absent(self, op: str) -> bool:
        """True when the implementation provides nothing this op's tests need."""
        return all(
            cell.status == "not provided" for (name, _), cell in self.cells.items() if name == op
        )

    def table(self) -> str:
        shown = [op for op in self.ops() if not self.absent(op)]
        checks = [c for c in CHECKS if any(k[1] == c for k in self.cells if k[0] in shown)]
        rows = [["op", *checks]] + [
            [op, *(self._text(self.cells.get((op, c))) for c in checks)] for op in shown
        ]
        widths = [max(len(row[i]) for row in rows) + 2 for i in range(len(rows[0]))]
        lines = [
            "".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        absent = [op for op in self.ops() if self.absent(op)]
        if absent:
            lines.append(f"not provided ({len(absent)}): {', '.join(absent)}")
        return "\n".join(lines)

    def as_json(self, implementation: str, oracle: str) -> dict:
        return {
            "implementation": implementation,
            "oracle": oracle,
            "ops": {
                op: {
                    check: {
                        "status": cell.status,
                        "passed": cell.passed,
                        "failed": cell.failed,
                        "not_provided": cell.not_provided,
                        "not_checked": cell.not_checked,
                        "skipped": cell.skipped,
                        "xfailed": cell.xfailed,
                        "examples": cell.examples,
                        "failures": cell.failures,
                    }
                    for (op_, check), cell in self.cells.items()
                    if op_ == op
                }
                for op in self.ops()
            },
            "all_provided_pass": not any(cell.failed for cell in self.cells.values()),
        }

    def write_json(self, path: str, implementation: str, oracle: str) -> None:
        Path(path).write_text(
            json.dumps(self.as_json(implementation, oracle), indent=2) + "\n", encoding="utf-8"
        )


def _message(report: Any) -> str:
    """The exception text (with its reproduction snippet), not the traceback:
    pytest prints it on the lines that start with "E   "."""
    lines = [line[1:] for line in str(report.longrepr).splitlines() if line.startswith("E ")]
    text = textwrap.dedent("\n".join(lines)) if lines else str(report.longrepr)[-4000:]
    return text.removeprefix("AssertionError: ")
