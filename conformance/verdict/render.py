"""The verdict rendered for people and programs (imported as ``rd``): the
table and its breakdown of failing corners, the coverage table, the JSON
report and the failures file. :mod:`conformance.verdict.record` records.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from refcnn.i18n import ljust, tr, tr_n, width

from . import causes as cs
from . import matrices as mx
from .record import (
    CHECKS,
    NOT_RUN,
    REASON_WIDTH,
    UNSUPPORTED,
    VIEW,
    Cell,
    Corner,
    Record,
    Tally,
    _corner_order,
)
from .words import check_text, kind_text, status_text


def _text(cell: Cell | None, check: str) -> str:
    if cell is None:
        return "-"
    total, status = cell.total, cell.status
    shown = status_text(status)
    named = {k: v for k, v in cell.corners.items() if k is not None}
    if status == "FAIL" and named:
        failing = sum(c.status == "FAIL" for c in named.values())
        return tr("FAIL ({failing}/{corners} corners)", failing=failing, corners=len(named))
    if total.compared or total.shape_only:
        if check == "golden":
            return tr("{status} ({n} cases)", status=shown, n=total.compared)
        return tr("{status} ({n} ex.)", status=shown, n=total.compared)
    if total.passed + total.failed > 1:
        return tr("{status} ({n} cases)", status=shown, n=total.passed + total.failed)
    return shown


def table(verdict: Record) -> str:
    status = verdict.status_lines()
    if not verdict.cells:
        return "\n".join(status)
    shown = [op for op in verdict.ops() if not verdict.absent(op)]
    checks = [c for c in CHECKS if any(k[1] == c for k in verdict.cells if k[0] in shown)]
    rows = [[tr("op"), *map(check_text, checks)]] + [
        [op, *(_text(verdict.cells.get((op, c)), c) for c in checks)] for op in shown
    ]
    lines = _columns(rows)
    absent = [op for op in verdict.ops() if verdict.absent(op)]
    if absent:
        lines.append(tr("not provided ({n}): {ops}", n=len(absent), ops=", ".join(absent)))
    shape_only = sum(cell.total.shape_only for cell in verdict.cells.values())
    if shape_only:
        lines.append(
            tr(
                "examples above: those whose values were compared; {n} more had "
                "empty outputs (shape-only, mostly the empty batch corner)",
                n=shape_only,
            )
        )
    failing = breakdown(verdict)
    if failing:
        lines += ["", tr("corners that do not pass, or are declared unsupported:"), *failing]
    if status:
        lines = [*status, "", *lines]
    return "\n".join(lines)


def breakdown(verdict: Record) -> list[str]:
    """One line per failing or unsupported corner of each op, and per
    failing check without corners: status, checks, one-line reason.
    Corners of an op that fail in the same checks for the same reason
    share one line (``every corner but empty batch``)."""
    from ..inputs.op_table import BY_NAME

    rows = []
    for op in verdict.ops():
        by_corner: dict[str | None, dict[str, Corner]] = defaultdict(dict)
        for (name, check), cell in verdict.cells.items():
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
                status = tr("FAIL ({checks})", checks=", ".join(check_text(c) for c, _ in failed))
                factor = _failing_factor(corner, result.failures[0], by_corner)
                reason = _reason(op, corner, result.failures[0], dtype=False, factor=factor)
                dtype = result.failures[0].get("dtype")
            elif any(r.status in ("unsupported", "not run") for _, r in ordered):
                shown = (
                    "not run" if any(r.status == "not run" for _, r in ordered) else "unsupported"
                )
                skip = next(r.skip_reason for _, r in ordered if r.status == shown)
                status = status_text(shown)
                reason = skip.removeprefix(UNSUPPORTED).removeprefix(NOT_RUN)
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


def coverage_table(verdict: Record) -> str:
    rows = [[tr("op"), tr("corner"), tr("examples f64/f32"),
             tr("tags (examples that hit each, f64/f32)")]]  # fmt: skip
    for op in verdict.ops():
        for (name, corner), by_dtype in sorted(verdict.coverage.items(), key=coverage_order):
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


def failures_text(verdict: Record) -> str:
    """Every failure in full, cause by cause: the cause's title, the cells
    it covers and its explanation (the smallest failing example as
    matrices) once; then each of its failures' message, parameters,
    snippet and pytest's trace. Errors of the suite itself last."""
    parts = []
    causes = cs.of(verdict)
    for cause in causes:
        explained = explanation_text(cause.failure)
        parts.append(
            "#" * 78
            + "\n"
            + tr("cause {number} of {total}: {title}", number=cause.number, total=len(causes),
                 title=cause.title)
            + "\n"
            + tr("in: {cells}", cells=cause.where())
            + "\n"
            + (tr("declare it if intended: {option}", option=cause.declare) + "\n"
               if cause.declare else "")
            + (f"\n{explained}\n" if explained else "")
        )  # fmt: skip
        parts += [_failure_text(failure) for failure in cause.failures]
    parts += [_failure_text(failure) for failure in verdict.suite_errors()]
    return "\n".join(parts) + "\n"


def _failure_text(failure: dict) -> str:
    return (
        "=" * 78
        + f"\n{failure['test']}\n{kind_text(failure['kind'])}: {failure['message']}\n"
        + (f"{failure['call']}\n" if failure.get("call") else "")
        + tr("parameters: {params}", params=failure.get("params", {}))
        + "\n\n"
        + (f"{failure['snippet']}\n\n" if failure.get("snippet") else "")
        + failure.get("trace", "")
    )


def explanation_text(failure: dict) -> str:
    """A failure's explanation (see conformance.judging.explain), or ""."""
    lines = []
    if failure.get("minimal"):
        lines = mx.explanation_lines(failure["minimal"], failure.get("hint", ""))
    elif failure.get("hint"):
        lines = ["  " + tr("looks like: {hint}", hint=failure["hint"])]
    if failure.get("explanation_error"):
        lines.append(
            "  " + tr("(the explanation's search stopped: {why})", why=failure["explanation_error"])
        )
    return "\n".join(lines)


def explanations(verdict: Record) -> list[str]:
    """Each cause explained once, for the terminal (--explain): its title,
    the cells it covers, and its smallest failing example."""
    lines = []
    causes = cs.of(verdict)
    for cause in causes:
        lines.append(tr("cause {number} of {total}: {title}", number=cause.number,
                        total=len(causes), title=cause.title))  # fmt: skip
        lines.append("  " + tr("in: {cells}", cells=cause.where()))
        if cause.declare:
            lines.append("  " + tr("declare it if intended: {option}", option=cause.declare))
        explained = explanation_text(cause.failure)
        lines += [explained or "  " + tr("(no smaller failing example found)"), ""]
    return lines


def notes_lines(verdict: Record) -> list[str]:
    """How the implementation was loaded (a notebook's cells), if it says."""
    if not verdict.notes:
        return []
    return [tr("how it was loaded:"), *(f"  {note}" for note in verdict.notes)]


def causes_summary(verdict: Record) -> list[str]:
    """One line per cause, under the table."""
    causes = cs.of(verdict)
    if not causes:
        return []
    lines = [tr_n("{n} cause (--explain explains each once):",
                  "{n} causes (--explain explains each once):", len(causes))]  # fmt: skip
    return lines + [
        "  " + tr("{number}. {title}; in {cells}", number=c.number, title=c.title, cells=c.where())
        for c in causes
    ]


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
        return tr("every corner")
    if len(missing) <= 2:
        return tr("every corner but {corners}", corners=", ".join(missing))
    return ", ".join(corners)


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
    if failure["kind"] == "raised":  # "raised TypeError: ..."
        text = tr("raised {exception}", exception=failure["message"])
    else:
        text = f"{kind_text(failure['kind'])}: {failure['message']}"
    if len(text) > REASON_WIDTH:
        text = text[: REASON_WIDTH - 3] + "..."
    text += f" [{failure['dtype']}]" if failure.get("dtype") and dtype else ""
    if factor:
        text += tr("; it has {factor}, which raises on its own: {option}", factor=factor,
                   option=f'--unsupported "{op}:{factor}"')  # fmt: skip
    elif failure["kind"] == "raised" and corner not in (None, "plain", "mixed"):
        text += tr("; declare it if intended: {option}", option=f'--unsupported "{op}:{corner}"')
    if failure.get("detail") == VIEW:
        text += tr("; views are allowed without --strict-policies")
    return text


def coverage_order(item: tuple[tuple[str, str], Any]) -> tuple[str, int]:
    return item[0][0], _corner_order((item[0][1], None))


def _columns(rows: list[list[str]]) -> list[str]:
    """Rows as aligned columns, by display width (a wide character takes two)."""
    if not rows:
        return []
    widths = [max(width(row[i]) for row in rows) + 2 for i in range(len(rows[0]))]
    return [
        "".join(ljust(text, columns) for text, columns in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
