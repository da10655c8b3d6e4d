"""What grading writes, each file whole or not at all:

* ``DIR/<id>/verdict.json``, ``page.html``, ``failures.txt`` (rendered here
  from the session's JSON verdict: nothing else the submission left is
  trusted) and, with ``--gradescope``, ``results.json`` in the autograder
  format (``tests`` with ``name``, ``score``, ``max_score``, ``output``,
  ``visibility``; a top-level ``score`` and ``execution_time``);
* ``DIR/grades.csv``: one row per submission: id, all passed, score, each
  op's status, the failing corners, seconds, CPU seconds, peak memory, and
  how the run ended;
* ``DIR/index.html``: the class at a glance: submissions x ops (each cell
  links to that submission's page), the causes most common across the
  class with their counts (the hints and the grouped causes), and the
  distribution of scores.

The CSV, the pages and the index depend only on the verdicts (and the
rubric): the same whoever judged them (local cores or a Dask cluster), but
for the columns of time and memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

from refcnn import i18n
from refcnn.i18n import tr, tr_n

from ..inputs.op_table import OPS
from ..verdict import page as pg
from ..verdict import render as rd
from ..verdict import verdict_json as vj
from ..verdict.files import write_whole
from ..verdict.words import status_text
from . import rubric as rb
from .judge import Judgement, ending_text

TIMING = ("seconds", "cpu_seconds", "peak_memory_mb")


def op_status(verdict: dict[str, Any] | None, op: str) -> str:
    """An op's status over its checks: FAIL, not run, unsupported, pass, not provided, -."""
    if verdict is None or op not in verdict["ops"]:
        return "-"
    statuses = {cell["status"] for cell in verdict["ops"][op].values()}
    for status in ("FAIL", "not run", "pass", "unsupported", "not provided"):
        if status in statuses:
            return status
    return sorted(statuses)[0] if statuses else "-"


def failing_corners(verdict: dict[str, Any] | None) -> list[str]:
    found = []
    for op, checks in (verdict or {}).get("ops", {}).items():
        for check, cell in checks.items():
            corners = cell.get("corners")
            if corners is None:
                if cell["status"] == "FAIL":
                    found.append(f"{op}:{check}")
                continue
            found += [f"{op}:{c}" for c, r in corners.items() if r["status"] == "FAIL"]
    return list(dict.fromkeys(found))


def ops_of(judgements: list[Judgement]) -> list[str]:
    """The ops any verdict judged, in the op table's order."""
    seen = {op for j in judgements if j.verdict for op in j.verdict["ops"]}
    return [op.name for op in OPS if op.name in seen]


def write_submission(folder: Path, judgement: Judgement, rubric: rb.Rubric, gradescope: bool):
    """A submission's own files (its folder, created)."""
    folder.mkdir(parents=True, exist_ok=True)
    verdict = judgement.verdict
    if verdict is not None:
        record = vj.record(verdict)
        write_whole(folder / "verdict.json", json.dumps(verdict, indent=2) + "\n")
        with i18n.speaking(record.language):  # the words the session wrote it in
            write_whole(folder / "page.html", pg.html_text(record))
            write_whole(folder / "failures.txt", rd.failures_text(record))
    else:
        write_whole(folder / "page.html", _no_verdict_page(judgement))
        write_whole(folder / "failures.txt", f"{_ending_and_message(judgement)}\n")
    if gradescope:
        write_whole(
            folder / "results.json",
            json.dumps(gradescope_results(judgement, rubric), indent=2) + "\n",
        )


def _ending_and_message(judgement: Judgement) -> str:
    return f"{ending_text(judgement.ending)}: {judgement.message}"


def _no_verdict_page(judgement: Judgement) -> str:
    title = tr("{id}: no verdict", id=judgement.id)
    return (
        f'<!DOCTYPE html>\n<html lang="{i18n.current()}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>"
        f"<h1>{escape(judgement.id)}: {escape(ending_text(judgement.ending))}</h1>"
        f"<p>{escape(judgement.message)}</p></body></html>\n"
    )


def gradescope_results(judgement: Judgement, rubric: rb.Rubric) -> dict[str, Any]:
    """The autograder's ``results.json``."""
    verdict = judgement.verdict
    tests = []
    if verdict is not None:
        for item in rb.items(verdict, rubric):
            statuses = ", ".join(f"{c or '-'}: {status_text(s)}" for c, s in item.corners)
            tests.append(
                {
                    "name": item.name,
                    "score": item.score,
                    "max_score": item.max_score,
                    "output": statuses,
                    "visibility": item.visibility,
                }
            )
    possible = sum(t["max_score"] for t in tests)
    return {
        "score": round(sum(t["score"] for t in tests), 6),
        "execution_time": round(judgement.seconds, 2),
        "output": _summary(judgement),
        "visibility": "visible",
        "tests": tests,
        **(
            {}
            if possible
            else {"output": tr("not graded: {why}", why=_ending_and_message(judgement))}
        ),
    }


def _summary(judgement: Judgement) -> str:
    verdict = judgement.verdict
    if verdict is None:
        return _ending_and_message(judgement)
    causes = verdict.get("causes", [])
    if causes:
        lines = [tr_n("{n} cause(s) of failure", "{n} cause(s) of failure", len(causes))]
    else:
        lines = [tr("every check provided passes")]
    lines += [
        f"{c['number']}. {c['title']}"
        + (tr(" (looks like: {hint})", hint=c["hint"]) if c.get("hint") else "")
        for c in causes
    ]
    if judgement.ending != "finished":
        lines.append(_ending_and_message(judgement))
    return "\n".join(lines)


def row(judgement: Judgement, rubric: rb.Rubric, ops: list[str]) -> dict[str, Any]:
    verdict = judgement.verdict
    passed = bool(verdict and verdict["all_provided_pass"] and judgement.ending == "finished")
    return {
        "id": judgement.id,
        "all_passed": "yes" if passed else "no",
        "score": f"{rb.score(verdict, rubric):.4f}",
        **{op: op_status(verdict, op) for op in ops},
        "failing_corners": " ".join(failing_corners(verdict)),
        "causes": len(verdict.get("causes", [])) if verdict else "",
        "seconds": f"{judgement.seconds:.1f}",
        "cpu_seconds": f"{judgement.cpu_seconds:.1f}",
        "peak_memory_mb": f"{judgement.peak_memory_mb:.0f}",
        "ending": judgement.ending,
        "message": judgement.message,
    }


def grades_csv(judgements: list[Judgement], rubric: rb.Rubric) -> str:
    ops = ops_of(judgements)
    rows = [row(j, rubric, ops) for j in sorted(judgements, key=lambda j: j.id)]
    handle = io.StringIO()
    fields = [
        "id",
        "all_passed",
        "score",
        *ops,
        "failing_corners",
        "causes",
        *TIMING,
        "ending",
        "message",
    ]
    writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return handle.getvalue()


def common_causes(judgements: list[Judgement]) -> list[tuple[str, int, list[str]]]:
    """(the mistake, how many submissions make it, which), most common
    first: a hint where the cause has one, else its title; endings other
    than finished too."""
    counted: Counter = Counter()
    who: dict[str, list[str]] = {}
    for judgement in judgements:
        found = set()
        for cause in (judgement.verdict or {}).get("causes", []):
            found.add(
                tr("{op}: looks like: {hint}", op=cause["op"], hint=cause["hint"])
                if cause.get("hint")
                else cause["title"]
            )
        if judgement.ending != "finished":
            found.add(
                tr("run {ending}", ending=ending_text(judgement.ending))
                + (f" ({judgement.message[:80]})" if judgement.ending != "budget spent" else "")
            )
        for mistake in found:
            counted[mistake] += 1
            who.setdefault(mistake, []).append(judgement.id)
    return [
        (m, n, sorted(who[m])) for m, n in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


_STYLE = """
body { font-family: sans-serif; margin: 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.15em 0.4em; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
td.pass { background: #d9f2d9; } td.FAIL { background: #f6c6c6; }
td.unsupported { background: #fde9b0; } td.other { background: #e4e4e4; }
.bar { background: #7a9cc6; display: inline-block; height: 0.8em; }
"""


def index_html(judgements: list[Judgement], rubric: rb.Rubric, title: str = "") -> str:
    """The class at a glance (see the module doc); no scripts, nothing to fetch."""
    ops = ops_of(judgements)
    ordered = sorted(judgements, key=lambda j: j.id)
    heading = escape(tr("refcnn grades") + (": " + title if title else ""))
    passed = sum(row(j, rubric, ops)["all_passed"] == "yes" for j in ordered)
    words = {  # headings, escaped (a call inside an f-string escapes the catalogs)
        "class": escape(tr("submissions × ops")), "score": escape(tr("score")),
        "ending": escape(tr("ending")), "mistakes": escape(tr("the mistakes the class makes")),
        "submissions": escape(tr("submissions")), "cause": escape(tr("cause")),
        "who": escape(tr("who")),
    }  # fmt: skip
    out = [
        f'<!DOCTYPE html>\n<html lang="{i18n.current()}"><head><meta charset="utf-8">',
        f"<title>{heading}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{heading}</h1>",
        "<p>" + escape(tr("{n} submissions; all passed: {passed}; endings: {endings}",
                          n=len(ordered), passed=passed, endings=_endings(ordered))) + "</p>",
        f"<h2>{words['class']}</h2><table id=\"class\"><tr><th>id</th>"
        f"<th>{words['score']}</th>",
    ]  # fmt: skip
    out += [f"<th>{escape(op)}</th>" for op in ops] + [f"<th>{words['ending']}</th></tr>"]
    for judgement in ordered:
        link = f"{escape(judgement.id)}/page.html"
        out.append(
            f'<tr><th><a href="{link}">{escape(judgement.id)}</a></th>'
            f"<td>{rb.score(judgement.verdict, rubric):.2f}</td>"
        )
        for op in ops:
            status = op_status(judgement.verdict, op)
            css = status if status in ("pass", "FAIL", "unsupported") else "other"
            out.append(f'<td class="{css}"><a href="{link}">{escape(status_text(status))}</a></td>')
        out.append(f"<td>{escape(ending_text(judgement.ending))}</td></tr>")
    out.append(f'</table><h2>{words["mistakes"]}</h2><table id="causes">')
    out.append(f"<tr><th>{words['submissions']}</th><th>{words['cause']}</th>"
               f"<th>{words['who']}</th></tr>")  # fmt: skip
    for mistake, count, who in common_causes(ordered):
        links = ", ".join(f'<a href="{escape(i)}/page.html">{escape(i)}</a>' for i in who)
        out.append(f"<tr><td>{count}</td><td>{escape(mistake)}</td><td>{links}</td></tr>")
    scores, score, submissions = (
        escape(tr("scores")),
        escape(tr("score")),
        escape(tr("submissions")),
    )
    out.append(f'</table><h2>{scores}</h2><table id="scores"><tr><th>{score}</th>'
               f"<th>{submissions}</th></tr>")  # fmt: skip
    for label, count in score_histogram([rb.score(j.verdict, rubric) for j in ordered]):
        bar = f'<span class="bar" style="width:{count * 12}px"></span>'
        out.append(f"<tr><td>{label}</td><td>{bar} {count}</td></tr>")
    out.append("</table></body></html>\n")
    return "\n".join(out)


def _endings(judgements: list[Judgement]) -> str:
    counts = Counter(j.ending for j in judgements)
    return ", ".join(f"{ending_text(e)} {count}" for e, count in sorted(counts.items()))


def score_histogram(scores: list[float]) -> list[tuple[str, int]]:
    """Scores in tenths: [0, 0.1), ..., [0.9, 1), and exactly 1."""
    bins = [0] * 11
    for value in scores:
        bins[min(10, int(value * 10 + 1e-9))] += 1
    labels = [f"{k / 10:.1f}–{(k + 1) / 10:.1f}" for k in range(10)] + ["1.0"]
    return list(zip(labels, bins, strict=True))
