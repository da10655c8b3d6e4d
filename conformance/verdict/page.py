"""The verdict as one self-contained HTML page (``--conformance-html``,
``Verdict.write_html``, and inline in Jupyter): no scripts, no external files,
nothing to fetch.

It opens with the causes (:mod:`conformance.verdict.causes`): "3 causes", each with
its title, links to the cells it covers and its explanation (the smallest
failing example as matrices, what the mistake looks like). Then the op x
check table (the terminal table's texts), the op x corner matrix (a corner's
status over its checks), where each failing cell opens what failed in it
and links to its cause (where its snippet is), and the coverage. The styles are scoped to the
page's outer ``div`` (inline in a notebook they touch nothing else), and
long lines wrap inside their cell: nothing is wider than the window.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from html import escape

from refcnn.i18n import tr, tr_n

from ..inputs.corners import CORNERS
from . import causes as cs
from .record import CHECKS, Corner, Record
from .render import _text, coverage_table, explanation_text
from .words import check_text, kind_text, status_text

_STYLE = """
.refcnn-verdict { font-family: sans-serif; max-width: 100%; overflow-wrap: anywhere; }
.refcnn-verdict table { border-collapse: collapse; margin: 0.5em 0 1.5em; table-layout: fixed;
  width: 100%; }
.refcnn-verdict th, .refcnn-verdict td { border: 1px solid #bbb; padding: 0.2em 0.4em;
  vertical-align: top; text-align: left; overflow-wrap: anywhere; }
.refcnn-verdict td.pass { background: #d9f2d9; } .refcnn-verdict td.FAIL { background: #f6c6c6; }
.refcnn-verdict td.unsupported { background: #fde9b0; }
.refcnn-verdict td.none { background: #fff; color: #999; }
.refcnn-verdict td.other { background: #e4e4e4; }
.refcnn-verdict pre { background: #f4f4f4; padding: 0.5em; font-size: 85%; white-space: pre-wrap;
  overflow-wrap: anywhere; max-width: 100%; box-sizing: border-box; }
.refcnn-verdict details summary { cursor: pointer; }
.refcnn-verdict ol.causes > li { margin-bottom: 0.8em; }
.refcnn-verdict .hint { font-style: italic; }
"""


def _status_class(status: str) -> str:
    return status if status in ("pass", "FAIL", "unsupported") else "other"


class _Ids:
    """Anchors unique to one verdict (two verdicts shown in one notebook
    must not share them)."""

    def __init__(self, verdict: Record) -> None:
        seed = f"{verdict.implementation}{sorted(verdict.cells)}{len(verdict.failures())}"
        self.prefix = "rv" + hashlib.sha1(seed.encode()).hexdigest()[:8]

    def cause(self, number: int) -> str:
        return f"{self.prefix}-cause-{number}"

    def cell(self, op: str, check: str, corner: str | None) -> str:
        where = f"corner-{corner}" if corner is not None else f"check-{check}"
        return f"{self.prefix}-{op}-{where}".replace(" ", "_")


def fragment(verdict: Record) -> str:
    """The page's content: a ``div`` with its scoped styles."""
    ids = _Ids(verdict)
    causes = cs.of(verdict)
    environment = "; ".join(f"{escape(k)} {escape(str(v))}" for k, v in verdict.environment.items())
    out = [
        f'<div class="refcnn-verdict" lang="{verdict.language}"><style>{_STYLE}</style>',
        f"<h1>refcnn conformance: {escape(verdict.implementation)}</h1>",
        "<p>"
        + escape(tr("oracle: {oracle}", oracle=verdict.oracle))
        + f"; {environment}; "
        + escape(tr("all provided pass: yes") if verdict.passed else tr("all provided pass: no"))
        + "</p>",
    ]
    out += [f"<p>{escape(line)}</p>" for line in verdict.status_lines()]
    if verdict.notes:
        out.append(_tag("p", tr("how it was loaded:")) + "<ul>")
        out += [f"<li>{escape(note)}</li>" for note in verdict.notes]
        out.append("</ul>")
    out += _causes(causes, ids)
    shown = [op for op in verdict.ops() if not verdict.absent(op)]
    out += _check_table(verdict, shown, ids)
    out += _corner_matrix(verdict, shown, ids)
    out.append(_tag("h2", tr("coverage: what the run drew")) + "<pre>")
    out.append(escape(coverage_table(verdict)) + "</pre></div>")
    return "\n".join(out) + "\n"


def _tag(name: str, text: str) -> str:
    """``text``, escaped, in an element without attributes."""
    return f"<{name}>{escape(text)}</{name}>"


def html_text(verdict: Record) -> str:
    """The whole page."""
    return (
        f'<!DOCTYPE html>\n<html lang="{verdict.language}"><head><meta charset="utf-8">\n'
        f"<title>refcnn conformance: {escape(verdict.implementation)}</title></head><body>\n"
        + fragment(verdict)
        + "</body></html>\n"
    )


def _causes(causes: list[cs.Cause], ids: _Ids) -> list[str]:
    """The summary: each cause, its cells (links), its explanation."""
    if not causes:
        return [_tag("h2", tr("no failures"))]
    titles = "; ".join(f"{c.number}. {c.title}" for c in causes)
    out = [
        f'<h2 id="{ids.prefix}-causes">'
        + escape(tr_n("{n} cause: {titles}", "{n} causes: {titles}", len(causes), titles=titles))
        + "</h2>",
        '<ol class="causes">',
    ]
    for cause in causes:
        links = ", ".join(
            f'<a href="#{anchor}">{escape(label)}</a>' for anchor, label in _links(cause, ids)
        )
        explained = explanation_text(cause.failure)
        out.append(
            f'<li id="{ids.cause(cause.number)}"><details open><summary>'
            + escape(cause.title)
            + "</summary><p>"
            + escape(tr("in: {cells}", cells=""))
            + f"{links}</p>"
            + (
                _tag("p", tr("declare it if intended: {option}", option=cause.declare))
                if cause.declare
                else ""
            )
            + (f'<pre class="explanation">{escape(explained)}</pre>' if explained else "")
            + (
                _tag("p", tr("reproduce it:")) + _tag("pre", cause.failure["snippet"])
                if cause.failure.get("snippet")
                else ""
            )
            + "</details></li>"
        )
    out.append("</ol>")
    return out


def _links(cause: cs.Cause, ids: _Ids) -> list[tuple[str, str]]:
    """One link per cell of the page the cause covers: a corner of the op x
    corner matrix (``overlap (backward, gradient)``) or a check without
    corners of the op x check table."""
    found: dict[str, tuple[str, list[str]]] = {}
    for check, corner in cause.cells:
        _, checks = found.setdefault(ids.cell(cause.op, check, corner), (corner or check, []))
        if corner is not None:
            checks.append(check)
    return [
        (anchor, f"{label} ({', '.join(map(check_text, checks))})" if checks else check_text(label))
        for anchor, (label, checks) in found.items()
    ]


def _check_table(verdict: Record, shown: list[str], ids: _Ids) -> list[str]:
    checks = [c for c in CHECKS if any(k[1] == c for k in verdict.cells if k[0] in shown)]
    title = escape(tr("op × check"))
    out = [f'<h2>{title}</h2><table id="checks"><tr>' + _tag("th", tr("op"))]
    out += [f"<th>{escape(check_text(c))}</th>" for c in checks] + ["</tr>"]
    for op in shown:
        out.append(f"<tr><th>{escape(op)}</th>")
        for check in checks:
            found = verdict.cells.get((op, check))
            status = found.status if found is not None else "-"
            attrs = f' class="{_status_class(status)}" data-op="{escape(op)}" data-check="{check}"'
            if found is not None and None in found.corners:  # a check without corners
                attrs += f' id="{ids.cell(op, check, None)}"'
            out.append(f"<td{attrs}>{escape(_text(found, check))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return out


def _corner_matrix(verdict: Record, ops: list[str], ids: _Ids) -> list[str]:
    """Rows: ops; columns: corners; a cell's status is the worst of its
    checks (FAIL, then unsupported, then pass); a failing cell opens each
    failing check's first failure, with its cause."""
    by_op: dict[str, dict[str, dict[str, Corner]]] = defaultdict(lambda: defaultdict(dict))
    for (op, check), cell_ in verdict.cells.items():
        for corner, result in cell_.corners.items():
            if corner is not None and op in ops:
                by_op[op][corner][check] = result
    corners = [c for c in CORNERS if any(c in by_op[op] for op in by_op)]
    title = escape(tr("op × corner"))
    out = [f'<h2>{title}</h2><table id="corners"><tr>' + _tag("th", tr("op"))]
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
            attrs += f' id="{ids.cell(op, "", corner)}"'
            if status != "FAIL":
                out.append(f"<td{attrs}>{escape(status_text(status))}</td>")
                continue
            failed = [c for c in CHECKS if c in results and results[c].status == "FAIL"]
            summary = tr("FAIL ({checks})", checks=", ".join(map(check_text, failed)))
            parts = [f"<td{attrs}><details><summary>{escape(summary)}</summary>"]
            for check in failed:
                failure = results[check].failures[0]
                parts.append(
                    f'<p class="failure"><b>{escape(check_text(check))}</b>: '
                    f"{escape(kind_text(failure['kind']))}: "
                    f"{escape(failure['message'])} [{escape(str(failure.get('dtype')))}]</p>"
                    + _tag("p", tr("parameters: {params}", params=failure.get("params", {})))
                )
                if failure.get("cause"):
                    parts.append(
                        "<p>"
                        + escape(tr("explained in"))
                        + f' <a href="#{ids.cause(failure["cause"])}">'
                        + escape(tr("cause {number}", number=failure["cause"]))
                        + "</a></p>"
                    )
                if failure.get("hint"):
                    hint = tr("looks like: {hint}", hint=failure["hint"])
                    parts.append(f'<p class="hint">{escape(hint)}</p>')
            out.append("".join(parts) + "</details></td>")
        out.append("</tr>")
    out.append("</table>")
    return out
