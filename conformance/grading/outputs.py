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

from ..inputs.op_table import OPS
from ..verdict import page as pg
from ..verdict import render as rd
from ..verdict import verdict_json as vj
from ..verdict.files import write_whole
from . import rubric as rb
from .judge import Judgement

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
        write_whole(folder / "page.html", pg.html_text(record))
        write_whole(folder / "failures.txt", rd.failures_text(record))
    else:
        write_whole(folder / "page.html", _no_verdict_page(judgement))
        write_whole(folder / "failures.txt", f"{judgement.ending}: {judgement.message}\n")
    if gradescope:
        write_whole(
            folder / "results.json",
            json.dumps(gradescope_results(judgement, rubric), indent=2) + "\n",
        )


def _no_verdict_page(judgement: Judgement) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(judgement.id)}: no verdict</title></head><body>"
        f"<h1>{escape(judgement.id)}: {escape(judgement.ending)}</h1>"
        f"<p>{escape(judgement.message)}</p></body></html>\n"
    )


def gradescope_results(judgement: Judgement, rubric: rb.Rubric) -> dict[str, Any]:
    """The autograder's ``results.json``."""
    verdict = judgement.verdict
    tests = []
    if verdict is not None:
        for item in rb.items(verdict, rubric):
            statuses = ", ".join(f"{c or '-'}: {s}" for c, s in item.corners)
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
        **({} if possible else {"output": f"not graded: {judgement.ending}: {judgement.message}"}),
    }


def _summary(judgement: Judgement) -> str:
    verdict = judgement.verdict
    if verdict is None:
        return f"{judgement.ending}: {judgement.message}"
    causes = verdict.get("causes", [])
    lines = [f"{len(causes)} cause(s) of failure" if causes else "every check provided passes"]
    lines += [
        f"{c['number']}. {c['title']}" + (f" (looks like: {c['hint']})" if c.get("hint") else "")
        for c in causes
    ]
    if judgement.ending != "finished":
        lines.append(f"{judgement.ending}: {judgement.message}")
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
                f"{cause['op']}: looks like: {cause['hint']}"
                if cause.get("hint")
                else cause["title"]
            )
        if judgement.ending != "finished":
            found.add(
                f"run {judgement.ending}"
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
    out = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f"<title>refcnn grades{escape(': ' + title if title else '')}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>refcnn grades{escape(': ' + title if title else '')}</h1>",
        f"<p>{len(ordered)} submissions; all passed: "
        f"{sum(row(j, rubric, ops)['all_passed'] == 'yes' for j in ordered)}; "
        f"endings: {escape(_endings(ordered))}</p>",
        '<h2>submissions × ops</h2><table id="class"><tr><th>id</th><th>score</th>',
    ]
    out += [f"<th>{escape(op)}</th>" for op in ops] + ["<th>ending</th></tr>"]
    for judgement in ordered:
        link = f"{escape(judgement.id)}/page.html"
        out.append(
            f'<tr><th><a href="{link}">{escape(judgement.id)}</a></th>'
            f"<td>{rb.score(judgement.verdict, rubric):.2f}</td>"
        )
        for op in ops:
            status = op_status(judgement.verdict, op)
            css = status if status in ("pass", "FAIL", "unsupported") else "other"
            out.append(f'<td class="{css}"><a href="{link}">{escape(status)}</a></td>')
        out.append(f"<td>{escape(judgement.ending)}</td></tr>")
    out.append('</table><h2>the mistakes the class makes</h2><table id="causes">')
    out.append("<tr><th>submissions</th><th>cause</th><th>who</th></tr>")
    for mistake, count, who in common_causes(ordered):
        links = ", ".join(f'<a href="{escape(i)}/page.html">{escape(i)}</a>' for i in who)
        out.append(f"<tr><td>{count}</td><td>{escape(mistake)}</td><td>{links}</td></tr>")
    out.append(
        '</table><h2>scores</h2><table id="scores"><tr><th>score</th><th>submissions</th></tr>'
    )
    for label, count in score_histogram([rb.score(j.verdict, rubric) for j in ordered]):
        bar = f'<span class="bar" style="width:{count * 12}px"></span>'
        out.append(f"<tr><td>{label}</td><td>{bar} {count}</td></tr>")
    out.append("</table></body></html>\n")
    return "\n".join(out)


def _endings(judgements: list[Judgement]) -> str:
    counts = Counter(j.ending for j in judgements)
    return ", ".join(f"{ending} {count}" for ending, count in sorted(counts.items()))


def score_histogram(scores: list[float]) -> list[tuple[str, int]]:
    """Scores in tenths: [0, 0.1), ..., [0.9, 1), and exactly 1."""
    bins = [0] * 11
    for value in scores:
        bins[min(10, int(value * 10 + 1e-9))] += 1
    labels = [f"{k / 10:.1f}–{(k + 1) / 10:.1f}" for k in range(10)] + ["1.0"]
    return list(zip(labels, bins, strict=True))
