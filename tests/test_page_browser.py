"""The report page of a failing planted module, opened by a real headless
Chromium (playwright): each failing cell opens with a click and shows what
failed there and the cause that explains it, whose explanation is then in
view; nothing is wider than a 1280-pixel viewport, even with every cell
open; no console errors, no requests but the page's own.

The browser: ``$REFCNN_CHROMIUM``, else the one of the npm package
``@sparticuz/chromium`` that ``.ci/run`` installs (``.ci/node``). The test
may skip only where no browser can be had, never when ``CI=true``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from refcnn import i18n
from tests.test_harness import ROOT, failing, run_suite

ARGS = [
    "--no-sandbox",
    "--single-process",
    "--no-zygote",
    "--headless=old",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WIDTH = 1280
_UNPACK = (
    "const c = require('@sparticuz/chromium'); (c.default || c).executablePath().then(console.log)"
)


def chromium() -> str | None:
    """The browser's executable, or None where none can be had."""
    given = os.environ.get("REFCNN_CHROMIUM")
    if given:
        return given
    node = shutil.which("node")
    modules = ROOT / ".ci" / "node" / "node_modules"
    if node and (modules / "@sparticuz" / "chromium").is_dir():
        found = subprocess.run(
            [node, "-e", _UNPACK], env={**os.environ, "NODE_PATH": str(modules)},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        path = found.stdout.strip().splitlines()[-1:] if found.returncode == 0 else []
        if path and Path(path[0]).is_file():
            return path[0]
    return None


@pytest.fixture(scope="module")
def browser_path() -> str:
    path = chromium()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no headless Chromium: .ci/run installs @sparticuz/chromium in .ci/node")
        pytest.skip("no headless Chromium here (npm install --prefix .ci/node @sparticuz/chromium)")
    return path


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_page_in_a_real_browser(browser_path: str, tmp_path: Path, lang: str) -> None:
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "report.html"
    code, verdict, _ = run_suite(
        "tests.impls.course_style_undeclared",
        tmp_path,
        "-k",
        "max_pooling2d",
        "--conformance-html",
        str(page_path),
        "--lang",
        lang,
    )
    assert code == 1 and page_path.exists() and verdict["language"] == lang
    if lang == "en":
        assert verdict["causes"][0]["title"].startswith("max_pooling2d backward du")
    with i18n.speaking(lang):  # the page's words, as its language says them
        heading = i18n.tr_n("{n} cause: {titles}", "{n} causes: {titles}", 3,
                            titles=f"1. {verdict['causes'][0]['title']}")  # fmt: skip
        cause_link = i18n.tr("cause {number}", number="")
        found = i18n.tr("smallest failing example found ({tried} tried): {call}", tried=7, call="")[
            :8
        ]  # its first words (the count of tries differs)
    url = page_path.as_uri()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=browser_path, args=ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url)
        page.screenshot(path=str(tmp_path / "report-top.png"))
        causes = page.locator("ol.causes > li")
        assert causes.count() == len(verdict["causes"]) == 3
        assert page.locator(f'html[lang="{lang}"]').count() == 1
        assert page.locator("h2", has_text=heading).count() == 1, heading
        cells = page.locator('td[data-status="FAIL"]')
        corners = {(op, c) for (op, _), found in failing(verdict).items() for c in found - {None}}
        assert cells.count() == len(corners) == 6
        for index in range(cells.count()):
            cell = cells.nth(index)
            failure = cell.locator("p.failure").first
            assert not failure.is_visible()  # closed until clicked
            cell.locator("summary").click()
            assert failure.is_visible() and cell.locator("details").get_attribute("open") == ""
            link = cell.locator("a", has_text=cause_link.strip()).first
            target = link.get_attribute("href")
            link.click()
            explanation = page.locator(f"{target} pre.explanation")
            assert explanation.is_visible(), target
            assert found.strip() in explanation.inner_text(), found
        overflow = page.evaluate(
            """(width) => {
                const wide = [];
                for (const e of document.querySelectorAll('*')) {
                    const r = e.getBoundingClientRect();
                    if (r.width && r.right > width + 1) wide.push(e.tagName + ' ' + r.right);
                }
                return [document.documentElement.scrollWidth, wide.slice(0, 5)];
            }""",
            WIDTH,
        )
        assert overflow[0] <= WIDTH and not overflow[1], overflow
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        browser.close()
    assert not errors, errors
    assert set(requests) == {url}, requests
