"""``--conformance-html``: one self-contained page whose op x check table and
op x corner matrix say what the JSON verdict says, cell for cell."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path

from refcnn.conformance.verdict import render as rd
from tests.test_harness import failing, run_suite


class Cells(HTMLParser):
    """The table cells that carry data attributes, with their text."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        if tag == "td" and "data-op" in found:
            self._open = {**found, "text": ""}
            self.cells.append(self._open)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None and "text" in self._open and not self._open["text"]:
            self._open["text"] = data.strip()


def test_the_page_says_what_the_verdict_says(tmp_path: Path) -> None:
    page_path = tmp_path / "verdict.html"
    code, verdict, output = run_suite(
        "tests.impls.broken.max_pool_minus_inf_padding",
        tmp_path,
        "-k",
        "pooling2d",
        "--conformance-html",
        str(page_path),
    )
    assert code == 1 and f"report page written to {page_path}" in output
    page = page_path.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"https?://|<script|<link|<img|\bsrc=", page)  # nothing to fetch
    parser = Cells()
    parser.feed(page)
    checks = {(c["data-op"], c["data-check"]): c for c in parser.cells if "data-check" in c}
    for op, by_check in verdict["ops"].items():
        for check, cell in by_check.items():
            status = cell["status"]
            expected = status if status in ("pass", "FAIL", "unsupported") else "other"
            assert checks[(op, check)]["class"] == expected, (op, check)
    rows: dict[str, list[str]] = {}
    for (op, _), c in checks.items():  # in the page's order: the printed table's
        rows.setdefault(op, []).append(c["text"])
    printed = {  # the table's rows start at the margin; the breakdown's are indented
        line.split()[0]: re.split(r"\s{2,}", line.strip())
        for line in output.splitlines()
        if line.strip() and not line[0].isspace()
    }
    for op, texts in rows.items():
        assert printed[op] == [op, *texts], (printed[op], texts)  # the printed table, cell for cell
    matrix = {(c["data-op"], c["data-corner"]): c for c in parser.cells if "data-corner" in c}
    failing_corners = {
        (op, corner) for (op, _), corners in failing(verdict).items() for corner in corners
    }
    assert failing_corners and failing_corners == {
        key for key, c in matrix.items() if c["data-status"] == "FAIL"
    }
    assert page.count("<details>") == len(failing_corners)
    # the causes open the page, each explained once, each linking to its
    # cells; each failing cell links back to its cause
    causes = verdict["causes"]
    assert causes and "<h2 id=" in page and f">{len(causes)} causes: 1. " in page
    assert page.count("<details open>") == len(causes)
    anchors = set(re.findall(r'\bid="([^"]+)"', page))
    links = re.findall(r'href="#([^"]+)"', page)
    assert links and set(links) <= anchors  # every link lands
    for cause in causes:
        failures = [
            f
            for checks in verdict["ops"].values()
            for cell in checks.values()
            for f in cell["failures"]
            if f.get("cause") == cause["number"]
        ]
        explained = [rd.explanation_text(f) for f in failures if rd.explanation_text(f)]
        assert not explained or any(escape(text) in page for text in explained), cause
        assert page.count("explained in <a href=") >= 1
    assert page.count('<pre class="explanation">') <= len(causes)  # once per cause
    assert "looks like: the padding was taken as -inf" in page
    assert "--- reproduce with NumPy alone ---" not in page  # snippets, without the markers
    assert "from tests.impls.broken.max_pool_minus_inf_padding import" in page
