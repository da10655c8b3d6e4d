"""The verdict in the reader's language (refcnn.i18n): every message is a
literal the catalogs hold, the Japanese catalog translates each one, the
locale chooses the language, wide characters keep the columns aligned, and
a Japanese run of the course-style module leaves no English sentence in
the terminal, the failures file or the page."""

from __future__ import annotations

import ast
import html
import importlib.util
import re
from pathlib import Path

import pytest

from refcnn import i18n
from refcnn.conformance.judging import boundary
from refcnn.conformance.verdict import matrices as mx
from refcnn.conformance.verdict import render as rd
from tests.test_harness import ROOT, run_suite

KEYWORDS = {"tr": 1, "tr_n": 2, "N_": 1}  # the messages' positional arguments
# an English sentence: four or more words in a row, one space between them
# (a list of identifiers, "plain, padding, strides", is not one)
SENTENCE = re.compile(r"[A-Za-z][A-Za-z'\-]*(?: [A-Za-z][A-Za-z'\-]*){3,}")
# what the implementation said (its exception's message): its own words, shown as they are
EXCEPTION = re.compile(r"\b[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning)\b: [^。\n]*")


def _catalogs():
    spec = importlib.util.spec_from_file_location("catalogs", ROOT / "scripts" / "catalogs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sources() -> list[Path]:
    return sorted((ROOT / "refcnn").rglob("*.py")) + sorted((ROOT / "conformance").rglob("*.py"))


def test_every_message_is_a_literal() -> None:
    """The catalogs are extracted from the calls' literals: a message built at
    run time (an f-string, a variable) would never be translated."""
    wrong = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            count = KEYWORDS.get(node.func.id)
            if count is None or path == ROOT / "refcnn" / "i18n.py":  # where they are defined
                continue
            messages = node.args[:count]
            if len(messages) < count or not all(
                isinstance(m, ast.Constant) and isinstance(m.value, str) for m in messages
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not wrong, f"messages that are not string literals: {wrong}"


def test_the_catalogs_extract_every_message() -> None:
    """Babel reads no message inside an f-string (``f"<p>{tr('x')}</p>"``):
    every literal the code passes is in the extracted template."""
    extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalogs().extract() if m.id}
    used = set()
    for path in _sources():
        if path == ROOT / "refcnn" / "i18n.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in KEYWORDS and node.args
                    and isinstance(node.args[0], ast.Constant)):  # fmt: skip
                used.add(node.args[0].value)
    assert sorted(used - extracted) == []


def test_the_japanese_catalog_translates_every_message() -> None:
    """Each message the code uses is in the Japanese catalog, neither empty nor
    fuzzy, with the same {fields}: a new English message fails here until it
    is translated (python scripts/catalogs.py)."""
    catalogs = _catalogs()
    template = catalogs.extract()
    assert catalogs.count(template) > 150
    assert catalogs.problems(template, "ja") == []


def test_a_missing_translation_is_found(tmp_path: Path, monkeypatch) -> None:
    """The check above can fail: a message the catalog lacks, one left
    empty, one whose translation lost a field."""
    catalogs = _catalogs()
    from babel.messages.catalog import Catalog

    template = Catalog()
    template.add("kept {n}")
    template.add("missing")
    template.add("empty")
    template.add("lost {field}")
    po = tmp_path / "ja" / "LC_MESSAGES" / "refcnn.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "kept {n}"\nmsgstr "{n} 個"\n\nmsgid "empty"\nmsgstr ""\n\n'
        'msgid "lost {field}"\nmsgstr "なし"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(catalogs, "LOCALE", tmp_path)
    found = catalogs.problems(template, "ja")
    assert [line.split(":")[0] for line in found] == [
        "not in ja",
        "untranslated in ja",
        "fields differ in ja",
    ]


@pytest.mark.parametrize(
    ("environment", "language"),
    [
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LANG": "C"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),  # no catalog: English
        ({"LC_ALL": "ja_JP.UTF-8", "LANG": "C"}, "ja"),
        ({"LC_ALL": "C", "LC_MESSAGES": "ja_JP.UTF-8"}, "en"),  # LC_ALL first
        ({"LC_ALL": "", "LC_MESSAGES": "ja_JP.eucJP", "LANG": "C"}, "ja"),  # empty: not set
        ({"LANG": "ja"}, "ja"),
    ],
)
def test_the_locale_chooses_the_language(environment: dict, language: str) -> None:
    assert i18n.from_locale(environment) == language


def test_an_unknown_language_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"lang: expected one of en, ja .*got 'de'"):
        i18n.resolve("de")
    with i18n.speaking("ja"):
        assert i18n.tr("pass") == "合格"
        with i18n.speaking(None):  # None keeps the language chosen
            assert i18n.current() == "ja"
    with i18n.speaking("en"):
        assert i18n.tr("pass") == "pass"


def test_a_field_may_have_any_name() -> None:
    """A message's field called ``message`` (a suite error's) is a field, not
    the message: the table of a suite error once raised TypeError here."""
    with i18n.speaking("en"):
        line = i18n.tr("SUITE ERROR in {test}: {message}", test="t", message="m")
        assert line == "SUITE ERROR in t: m"
        assert i18n.tr_n("{n} cause", "{n} causes", 2, message="x") == "2 causes"


def _starts(line: str, cells: list[str]) -> list[int]:
    """The display column where each cell of a rendered row begins."""
    found, at = [], 0
    for cell in cells:
        at = line.index(cell, at)
        found.append(i18n.width(line[:at]))
        at += len(cell)
    return found


def test_columns_line_up_with_wide_characters() -> None:
    rows = [["関数", "順伝播", "逆伝播"], ["max_pooling2d", "不合格 (11 中 5 コーナー)", "合格"]]
    rows.append(["conv", "pass", "未提供"])
    lines = rd._columns(rows)
    starts = [_starts(line, row) for line, row in zip(lines, rows, strict=True)]
    assert starts[0] == starts[1] == starts[2]
    assert i18n.width("不合格") == 6 and i18n.width("abc") == 3
    # matrices side by side: the second block starts in the same column on every line
    block = ["du[0,:,:,0] 期待値", "[ 0  1 ]"]
    lines = mx.side_by_side([block, ["実際", "[ 0 *0*]"]], indent="")
    assert len({i18n.width(line[: line.index(part)]) for line, part in
                zip(lines, ["実際", "[ 0 *0*]"], strict=True)}) == 1  # fmt: skip


def english_sentences(text: str) -> list[str]:
    """English sentences left in a Japanese text, but for the implementation's
    own exception messages and the code (snippets, traces, calls)."""
    text = EXCEPTION.sub("", text)
    return SENTENCE.findall(text)


def _page_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    page = re.sub(r"<pre>.*?</pre>", "", page, flags=re.S)  # snippets: code
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


def _without_code(failures: str) -> str:
    """The failures file without what is code or Python's: the snippets and
    pytest's traces (each failure's block after its parameters)."""
    kept = []
    for block in failures.split("=" * 78):
        head, _, _ = block.partition("\n\n")
        kept.append(head)
    return "\n".join(kept)


@pytest.fixture(scope="module")
def japanese_run(tmp_path_factory) -> dict:
    """The course-style module judged with LANG=ja_JP.UTF-8 and nothing else
    asking for Japanese, with --explain and the page."""
    folder = tmp_path_factory.mktemp("ja")
    page = folder / "page.html"
    env_lang = {"LANG": "ja_JP.UTF-8"}
    code, verdict, output = run_suite(
        "tests.impls.course_style_undeclared", folder, "--explain", "--conformance-html",
        str(page), env=env_lang,
    )  # fmt: skip
    return {
        "code": code, "verdict": verdict, "output": output, "page": page.read_text("utf-8"),
        "failures": (folder / "failures.txt").read_text("utf-8"),
    }  # fmt: skip


def test_the_locale_alone_gives_a_japanese_verdict(japanese_run: dict) -> None:
    verdict = japanese_run["verdict"]
    assert japanese_run["code"] == 1 and verdict["language"] == "ja"
    with i18n.speaking("ja"):
        overlap = i18n.tr(
            "the gradient reached only one of two overlapping windows: each window's share "
            "was assigned (=) to the input's gradient, not added (+=), so a later window "
            "overwrote an earlier one where they overlap"
        )
        heading = i18n.tr("conformance verdict: {name} (oracle: {oracle})",
                          name="tests.impls.course_style_undeclared", oracle="torch")  # fmt: skip
    assert overlap != "" and re.search("[ぁ-んァ-ン一-龥]", overlap)
    output = japanese_run["output"]
    assert heading in output
    assert "考えられる原因: " + overlap in output  # the hint of the first cause, explained
    assert "見つかった最小の失敗例" in output
    # the JSON: identifiers as ever, the text for people in Japanese
    cause = verdict["causes"][0]
    assert cause["kind"] == "wrong values" and cause["hint"] == overlap
    statuses = {cell["status"] for checks in verdict["ops"].values() for cell in checks.values()}
    assert statuses <= {"pass", "FAIL", "not provided", "not checked", "unsupported"}
    assert '<html lang="ja">' in japanese_run["page"]
    # whether it ran in the sandbox is a fact of the run, not read from its words
    with i18n.speaking("ja"):
        unsandboxed = i18n.tr("the judged code ran with {sandbox}", sandbox="")
    sandboxed = bool(boundary.bwrap()) and not boundary.bwrap_works(boundary.bwrap())
    assert (unsandboxed in " ".join(verdict["notes"])) != sandboxed, verdict["notes"]


# planted mistakes of each kind, and a hostile module (the worker dies)
JUDGED_IN_JAPANESE = (
    "tests.impls.broken.max_pool_last_tie",  # a hint, and numpy's words (semantics)
    "tests.impls.broken.pool_back_without_defaults",  # the defaults check's hint
    "tests.impls.broken.mutates_input",  # hygiene
    "tests.impls.hostile.segfault",  # a worker lost
)


def _no_english_sentence(run: dict) -> None:
    assert english_sentences(run["output"]) == []
    assert english_sentences(_without_code(run["failures"])) == []
    assert english_sentences(_page_text(run["page"])) == []


def test_no_english_sentence_is_left(japanese_run: dict) -> None:
    _no_english_sentence(japanese_run)


@pytest.mark.parametrize("module", JUDGED_IN_JAPANESE)
def test_no_english_sentence_is_left_by_any_kind_of_failure(module: str, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    code, verdict, output = run_suite(module, tmp_path, "--explain", "--lang", "ja",
                                      "--conformance-html", str(page))  # fmt: skip
    assert code == 1 and verdict["language"] == "ja", output[-2000:]
    _no_english_sentence({"output": output, "page": page.read_text("utf-8"),
                          "failures": (tmp_path / "failures.txt").read_text("utf-8")})  # fmt: skip


def test_the_english_check_can_fail() -> None:
    assert english_sentences("原因 1/9: the gradient went to the last of tied maxima")
    assert not english_sentences("例外が発生: ValueError: pooling takes no padding")
    assert not english_sentences("該当: 逆伝播 [plain, padding, tuple params, many channels]")


def test_lang_c_gives_english(tmp_path: Path) -> None:
    code, verdict, output = run_suite(
        "tests.impls.broken.max_pool_last_tie", tmp_path, "-k", "max_pooling2d and backward",
        "--lang", "en", env={"LANG": "ja_JP.UTF-8"},
    )  # fmt: skip
    assert code == 1 and verdict["language"] == "en"
    assert " conformance verdict: tests.impls.broken.max_pool_last_tie (oracle: " in output
    code, verdict, output = run_suite(
        "tests.impls.broken.max_pool_last_tie", tmp_path, "-k", "max_pooling2d and backward",
        env={"LANG": "C"},
    )  # fmt: skip
    assert verdict["language"] == "en" and "corners that do not pass" in output
    code, verdict, output = run_suite(
        "tests.impls.broken.max_pool_last_tie", tmp_path, "-k", "max_pooling2d and backward",
        "--lang", "ja", env={"LANG": "C"},
    )  # fmt: skip
    assert verdict["language"] == "ja" and "合格しなかったコーナー" in output
    # the terminal table's columns line up under the Japanese headings
    table = output[output.index("関数 ") :].splitlines()
    rows = [line for line in table[:3] if line.startswith(("関数", "max_pooling2d"))]
    assert len(rows) == 2
    heads, cells = rows[0].split(), re.split(r"\s{2,}", rows[1].strip())
    assert [i18n.width(rows[0][: rows[0].index(h)]) for h in heads[:3]] == [
        i18n.width(rows[1][: rows[1].index(c)]) for c in cells[:3]
    ]


def test_check_speaks_the_language_it_is_given() -> None:
    from refcnn.conformance import check

    with pytest.raises(Exception, match="lang: expected one of en, ja"):
        check("tests.impls.partial", lang="klingon", progress=False)
    # what check() itself says before a session starts, in the language asked for
    with pytest.raises(Exception, match="記事の関数"):
        check({"numpy": __import__("numpy")}, lang="ja", progress=False)
    with pytest.raises(Exception, match="holds none of the article's functions"):
        check({"numpy": __import__("numpy")}, lang="en", progress=False)
    with pytest.raises(Exception, match="のいずれかを指定してください"):
        check("tests.impls.partial", lang="ja", profile="fastest", progress=False)


def test_check_reports_progress_in_its_language(capsys) -> None:
    from refcnn.conformance import check

    verdict = check("tests.impls.article_loops", keyword="flatten2d and test_forward and plain",
                    workers=0, lang="ja", progress=True)  # fmt: skip
    shown = capsys.readouterr().out
    assert verdict.language == "ja" and verdict.exit_code == 0, shown
    assert re.search(r"refcnn conformance: テスト \d+(/\d+)? 件、不合格 0 件", shown), shown


def test_help_is_wrapped_by_display_width() -> None:
    lines = i18n.wrap("判定する実装: モジュール名、.py ファイル、パッケージのフォルダ、"
                      "CONFORMANCE_UNSUPPORTED でも宣言できます", 24)  # fmt: skip
    assert all(i18n.width(line) <= 24 for line in lines) and len(lines) > 2
    assert any("CONFORMANCE_UNSUPPORTED" in line for line in lines)  # a word stays whole
    assert "".join(lines).replace(" ", "") == (
        "判定する実装:モジュール名、.pyファイル、パッケージのフォルダ、CONFORMANCE_UNSUPPORTEDでも宣言できます"
    )
    assert i18n.lang_in(["--impl", "x", "--lang", "ja"]) == "ja"
    assert i18n.lang_in(["--refcnn-lang=ja"], ("--lang", "--refcnn-lang")) == "ja"
    assert i18n.lang_in(["--lang", "de"]) is None and i18n.lang_in(["--langs", "ja"]) is None
