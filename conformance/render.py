"""The verdict rendered for people and programs (imported as ``rd``): the
table and its breakdown of failing corners, the coverage table, the JSON
report and the failures file. :mod:`conformance.verdict` records.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from html import escape
from typing import Any

import numpy as np

from . import matrices as mx
from .verdict import (
    CHECKS,
    CORNER_CHECKS,
    REASON_WIDTH,
    UNSUPPORTED,
    Cell,
    Corner,
    Tally,
    Verdict,
    _corner_order,
)


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


def table(verdict: Verdict) -> str:
    status = verdict.status_lines()
    if not verdict.cells:
        return "\n".join(status)
    shown = [op for op in verdict.ops() if not verdict.absent(op)]
    checks = [c for c in CHECKS if any(k[1] == c for k in verdict.cells if k[0] in shown)]
    rows = [["op", *checks]] + [
        [op, *(_text(verdict.cells.get((op, c)), c) for c in checks)] for op in shown
    ]
    lines = _columns(rows)
    absent = [op for op in verdict.ops() if verdict.absent(op)]
    if absent:
        lines.append(f"not provided ({len(absent)}): {', '.join(absent)}")
    shape_only = sum(cell.total.shape_only for cell in verdict.cells.values())
    if shape_only:
        lines.append(
            f"examples above: those whose values were compared; {shape_only} more had "
            "empty outputs (shape-only, mostly the empty batch corner)"
        )
    failing = breakdown(verdict)
    if failing:
        lines += ["", "corners that do not pass, or are declared unsupported:", *failing]
    if status:
        lines = [*status, "", *lines]
    return "\n".join(lines)


def breakdown(verdict: Verdict) -> list[str]:
    """One line per failing or unsupported corner of each op, and per
    failing check without corners: status, checks, one-line reason.
    Corners of an op that fail in the same checks for the same reason
    share one line (``every corner but empty batch``)."""
    from .op_table import BY_NAME

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


def coverage_table(verdict: Verdict) -> str:
    rows = [["op", "corner", "examples f64/f32", "tags (examples that hit each, f64/f32)"]]
    for op in verdict.ops():
        for (name, corner), by_dtype in sorted(verdict.coverage.items(), key=_coverage_order):
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


def as_json(
    verdict: Verdict, implementation: str, oracle: str, environment: dict | None = None
) -> dict:
    return {
        "implementation": implementation,
        "oracle": oracle,
        "environment": environment or {},
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
        "coverage": {
            op: {
                corner: {
                    "examples": sum(t.compared + t.shape_only for t in by_dtype.values()),
                    "by_dtype": {dtype: t.as_dict() for dtype, t in sorted(by_dtype.items())},
                    "tags": dict(sum((t.tags for t in by_dtype.values()), Counter())),
                }
                for (name, corner), by_dtype in sorted(
                    verdict.coverage.items(), key=_coverage_order
                )
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


def json_text(verdict: Verdict, implementation: str, oracle: str, environment: dict) -> str:
    return json.dumps(as_json(verdict, implementation, oracle, environment), indent=2) + "\n"


def failures_text(verdict: Verdict) -> str:
    """Every failure in full: message, parameters, the explanation (the
    smallest failing example as matrices), snippet, pytest's trace."""
    failures = verdict.failures() + verdict.other_errors
    parts = []
    for failure in failures:
        explained = explanation_text(failure)
        parts.append(
            "=" * 78
            + f"\n{failure['test']}\n{failure['kind']}: {failure['message']}\n"
            + (f"{failure['call']}\n" if failure.get("call") else "")
            + f"parameters: {failure.get('params', {})}\n\n"
            + (f"{explained}\n\n" if explained else "")
            + (f"{failure['snippet']}\n\n" if failure.get("snippet") else "")
            + failure.get("trace", "")
        )
    return "\n".join(parts) + "\n"


def explanation_text(failure: dict) -> str:
    """A failure's explanation (see conformance.explain), or ""."""
    lines = []
    if failure.get("minimal"):
        lines = mx.explanation_lines(failure["minimal"], failure.get("hint", ""))
    elif failure.get("hint"):
        lines = [f"  looks like: {failure['hint']}"]
    if failure.get("explanation_error"):
        lines.append(f"  (the explanation's search stopped: {failure['explanation_error']})")
    return "\n".join(lines)


def explanations(verdict: Verdict) -> list[str]:
    """Each failing (op, check, corner)'s first failure explained, for the
    terminal (--explain)."""
    lines = []
    for op in verdict.ops():
        for check in CHECKS:
            cell = verdict.cells.get((op, check))
            if cell is not None:
                lines += _cell_explanations(op, check, cell)
    return lines


def _cell_explanations(op: str, check: str, cell: Cell) -> list[str]:
    lines = []
    for corner, result in sorted(cell.corners.items(), key=_corner_order):
        if not result.failures:
            continue
        failure = result.failures[0]
        where = f"{op} {check}" + (f" [{corner}, {failure.get('dtype')}]" if corner else "")
        text = explanation_text(failure) or "  (no smaller failing example found)"
        lines += [where, text, ""]
    return lines


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


# --- the report page ---------------------------------------------------------------

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.5em; vertical-align: top; }
td.pass { background: #d9f2d9; } td.FAIL { background: #f6c6c6; }
td.unsupported { background: #fde9b0; } td.none { background: #fff; color: #999; }
td.other { background: #e4e4e4; }
pre { background: #f4f4f4; padding: 0.5em; overflow-x: auto; font-size: 85%; }
details summary { cursor: pointer; }
"""


def _status_class(status: str) -> str:
    return status if status in ("pass", "FAIL", "unsupported") else "other"


def html_text(verdict: Verdict, implementation: str, oracle: str, environment: dict) -> str:
    """One self-contained page (no scripts, no external files): the versions,
    the op x check table with the terminal table's texts, the op x corner
    matrix (a corner's status over its checks) where each failing cell opens
    its failure (kind, message, parameters, snippet), and the coverage."""

    def cell(text: str, status: str, attrs: str = "") -> str:
        return f'<td class="{_status_class(status)}"{attrs}>{escape(text)}</td>'

    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>refcnn conformance: {escape(implementation)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>refcnn conformance: {escape(implementation)}</h1>",
        f"<p>oracle: {escape(oracle)}; "
        + "; ".join(f"{escape(k)} {escape(str(v))}" for k, v in environment.items())
        + f"; all provided pass: {'yes' if verdict.passed else 'no'}</p>",
    ]
    out += [f"<p>{escape(line)}</p>" for line in verdict.status_lines()]
    shown = [op for op in verdict.ops() if not verdict.absent(op)]
    checks = [c for c in CHECKS if any(k[1] == c for k in verdict.cells if k[0] in shown)]
    out.append('<h2>op × check</h2><table id="checks"><tr><th>op</th>')
    out += [f"<th>{escape(c)}</th>" for c in checks] + ["</tr>"]
    for op in shown:
        out.append(f"<tr><th>{escape(op)}</th>")
        for check in checks:
            found = verdict.cells.get((op, check))
            status = found.status if found is not None else "-"
            out.append(
                cell(_text(found, check), status, f' data-op="{escape(op)}" data-check="{check}"')
            )
        out.append("</tr>")
    out.append("</table>")
    out += _corner_matrix(verdict, shown)
    out.append("<h2>coverage: what the run drew</h2><pre>")
    out.append(escape(coverage_table(verdict)) + "</pre></body></html>")
    return "\n".join(out) + "\n"


def _corner_matrix(verdict: Verdict, ops: list[str]) -> list[str]:
    """Rows: ops; columns: corners; a cell's status is the worst of its
    checks (FAIL, then unsupported, then pass); a failing cell opens each
    failing check's first failure."""
    from .corners import CORNERS

    by_op: dict[str, dict[str, dict[str, Corner]]] = defaultdict(lambda: defaultdict(dict))
    for (op, check), cell_ in verdict.cells.items():
        for corner, result in cell_.corners.items():
            if corner is not None and op in ops:
                by_op[op][corner][check] = result
    corners = [c for c in CORNERS if any(c in by_op[op] for op in by_op)]
    out = ['<h2>op × corner</h2><table id="corners"><tr><th>op</th>']
    out += [f"<th>{escape(c)}</th>" for c in corners] + ["</tr>"]
    for op in [op for op in ops if op in by_op]:
        out.append(f"<tr><th>{escape(op)}</th>")
        for corner in corners:
            results = by_op[op].get(corner)
            if not results:
                out.append('<td class="none">-</td>')
                continue
            statuses = [r.status for r in results.values()]
            status = next((s for s in ("FAIL", "unsupported", "pass") if s in statuses), "-")
            attrs = f' class="{_status_class(status)}" data-op="{escape(op)}"'
            attrs += f' data-corner="{escape(corner)}" data-status="{status}"'
            if status != "FAIL":
                out.append(f"<td{attrs}>{escape(status)}</td>")
                continue
            failed = [c for c in CHECKS if c in results and results[c].status == "FAIL"]
            parts = [f"<td{attrs}><details><summary>FAIL ({escape(', '.join(failed))})</summary>"]
            for check in failed:
                failure = results[check].failures[0]
                parts.append(
                    f"<p><b>{escape(check)}</b>: {escape(failure['kind'])}: "
                    f"{escape(failure['message'])} [{escape(str(failure.get('dtype')))}]</p>"
                    f"<p>parameters: {escape(str(failure.get('params', {})))}</p>"
                )
                explained = explanation_text(failure)
                if explained:
                    parts.append(f'<pre class="explanation">{escape(explained)}</pre>')
                if failure.get("snippet"):
                    parts.append(f"<pre>{escape(failure['snippet'])}</pre>")
            out.append("".join(parts) + "</details></td>")
        out.append("</tr>")
    out.append("</table>")
    return out
