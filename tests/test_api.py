"""``refcnn.conformance.check``: the same verdict as ``refcnn conformance``
for a module name, a module, a ``.py`` file, a package folder, a notebook
and a mapping of functions; the ``Verdict`` object (table, JSON, page, cells,
causes), rebuilt exactly from the JSON the session wrote; failures grouped by
cause; notebooks' cells; usage errors; nothing written where it was not
asked."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from refcnn.conformance import UsageError, Verdict, check
from refcnn.conformance.verdict import verdict_json as vj
from tests.test_harness import ROOT, run_suite

PLANTED = "tests.impls.broken.max_pool_last_tie"  # wrong values only: no raise sites to differ
SELECTION = "max_pooling2d"


def comparable(verdict: dict) -> dict:
    """A JSON verdict without what names the implementation's form (its
    label, the import line of the snippets) and the explanations' seconds."""
    text = json.dumps({k: v for k, v in verdict.items() if k not in ("implementation", "notes")})
    label = verdict.get("implementation")
    if label:  # as the reasons name it ("declared in <label>.CONFORMANCE_UNSUPPORTED")
        text = text.replace(json.dumps(label)[1:-1], "IMPL")
    text = re.sub(r'"seconds": [0-9.]+', '"seconds": 0', text)
    imports = r"(from [\w.]+ import [\w, ]+|# [\w, ]+: yours, as defined in [^;]+; run this there)"
    text = re.sub(imports, "IMPORT", text)
    text = re.sub(r"not provided: [^\"]+? has no ", "not provided: IMPL has no ", text)
    return json.loads(text)


@pytest.fixture(scope="module")
def command_verdict(tmp_path_factory: pytest.TempPathFactory) -> dict:
    code, verdict, output = run_suite(PLANTED, tmp_path_factory.mktemp("command"), "-k", SELECTION)
    assert code == 1, output[-2000:]
    return verdict


def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))


@pytest.mark.parametrize("form", ["name", "module", "file", "mapping", "notebook"])
def test_every_form_gives_the_commands_verdict(
    form: str, command_verdict: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _in_repository(monkeypatch)
    source = ROOT / (PLANTED.replace(".", "/") + ".py")
    if form == "name":
        impl = PLANTED
    elif form == "module":
        impl = importlib.import_module(PLANTED)
    elif form == "file":
        impl = str(source.relative_to(ROOT))
    elif form == "mapping":
        impl = dict(vars(importlib.import_module(PLANTED)))
    else:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [
            nbformat.v4.new_markdown_cell("# my layers"),
            nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np"),
            nbformat.v4.new_code_cell(source.read_text()),
        ]
        impl = tmp_path / "work.ipynb"
        nbformat.write(notebook, impl)
    verdict = check(impl, keyword=SELECTION, workers=0, progress=False)
    assert isinstance(verdict, Verdict) and not verdict.passed and verdict.exit_code == 1
    assert comparable(verdict.to_json()) == comparable(command_verdict)
    if form == "notebook":
        assert verdict.notes == ["cell 2: skipped '%matplotlib inline' (IPython syntax)"]


def test_the_verdict_object_is_the_sessions_verdict(tmp_path: Path, monkeypatch) -> None:
    """Rebuilt from the session's JSON: the same JSON, the same table as the
    command printed, the same page byte for byte; cells and causes."""
    _in_repository(monkeypatch)
    page = tmp_path / "page.html"
    report = tmp_path / "verdict.json"
    verdict = check(
        "tests.impls.course_style_undeclared",
        keyword=SELECTION,
        workers=2,
        page=page,
        report=report,
        progress=False,
    )
    written = json.loads(report.read_text())
    assert verdict.to_json() == written
    assert vj.as_json(vj.record(written)) == written
    assert verdict.html() == page.read_text()
    copy = verdict.write_html(tmp_path / "copy.html")
    assert copy.read_text() == page.read_text()
    assert verdict._repr_html_().startswith('<div class="refcnn-verdict" lang="en">')
    assert "<script" not in verdict._repr_html_()
    table = str(verdict)
    assert table.splitlines()[0].split() == ["op", "forward", "backward", "gradient", "golden",
                                             "hygiene", "defaults", "validation"]  # fmt: skip
    cell = verdict.cells[("max_pooling2d", "backward", "overlap")]
    assert cell.status == "FAIL" and cell.failure["kind"] == "wrong values"
    assert "looks like: the gradient reached only one of two overlapping windows" in (
        cell.explanation
    )
    assert verdict.cells[("max_pooling2d", "forward", "plain")].status == "pass"
    assert verdict.cells[("max_pooling2d", "defaults", None)].status == "pass"


def test_one_block_per_cause_the_real_bug_first(tmp_path: Path) -> None:
    """The course-style file: one real bug (a max-pool backward that assigns
    where windows overlap) and two undeclared factors (padding in pooling,
    tuple parameters). 40 failing tests, 3 causes, explained once each."""
    code, verdict, output = run_suite(
        "tests.impls.course_style_undeclared", tmp_path, "-k", SELECTION, "--explain"
    )
    assert code == 1
    causes = verdict["causes"]
    assert [c["kind"] for c in causes] == ["wrong values", "raised", "raised"]
    assert causes[0]["title"] == "max_pooling2d backward du: wrong values"
    assert {"check": "backward", "corner": "overlap"} in causes[0]["cells"]
    assert "ValueError: pooling takes no padding" in causes[1]["title"]
    assert causes[1]["declare"] == '--unsupported "max_pooling2d:padding"'
    assert "TypeError" in causes[2]["title"]
    assert len(re.findall(r"^cause \d of 3: ", output, re.M)) == 3
    assert output.index("cause 1 of 3: max_pooling2d backward du") < output.index("cause 2 of 3")
    assert output.count("smallest failing example found") == 3
    failing = [
        f
        for checks in verdict["ops"].values()
        for cell in checks.values()
        for f in cell["failures"]
    ]
    assert len(failing) > 30 and {f["cause"] for f in failing} == {1, 2, 3}
    text = (tmp_path / "failures.txt").read_text()
    assert text.count("cause 1 of 3: ") == 1 and text.count("smallest failing example") == 3


def _notebook(path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(notebook, path)
    return path


FLATTEN = """
import numpy as np
def flatten2d(u):
    return np.array(u, dtype=float).reshape(len(u), -1) if len(u) else np.zeros((0, 0))
"""


def test_a_notebook_cell_that_raises_stops_the_run_and_is_said(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "work.ipynb",
        FLATTEN,
        "!pip install nothing\nx = 1",
        "def flatten2d_back(dz, u, z):\n    return undefined_name",  # defined, judged
        "raise RuntimeError('my experiment failed')",
        "def max_pooling2d(u, pool_size=2, padding=0, strides=None):\n    return u",
        "from refcnn.conformance import check\ncheck(globals())",
    )
    verdict = check(path, keyword="flatten2d or max_pooling2d", workers=0, progress=False)
    assert verdict.notes == [
        "cell 2: skipped '!pip install nothing' (IPython syntax)",
        "cell 4 (raise RuntimeError('my experiment failed')) raised RuntimeError: my "
        "experiment failed; the cells after it were not run, the functions defined before "
        "it are judged",
    ]
    cells = verdict.cells
    assert cells[("flatten2d", "forward", "plain")].status == "pass"
    assert cells[("flatten2d", "backward", "plain")].failure["exception"] == "NameError"
    assert cells[("max_pooling2d", "forward", "plain")].status == "not provided"
    assert "cell 4 (raise RuntimeError" in str(verdict) and "cell 4" in verdict.html()
    snippet = cells[("flatten2d", "backward", "plain")].failure["snippet"]
    assert "# flatten2d_back: yours, as defined in work.ipynb; run this there" in snippet


def test_check_inside_a_judged_notebook_runs_nothing(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "work.ipynb",
        FLATTEN,
        "from refcnn.conformance import check\nverdict = check(globals())\nassert verdict is None",
    )
    verdict = check(path, keyword="flatten2d and test_forward", workers=0, progress=False)
    assert verdict.notes == ["cell 2: its check() is not run inside the suite"]
    assert verdict.cells[("flatten2d", "forward", "plain")].status == "pass"


def test_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot import the implementation module"):
        check("no_such_module_here", keyword="flatten2d", progress=False)
    with pytest.raises(UsageError, match="no such file"):
        check(tmp_path / "missing.py", progress=False)
    with pytest.raises(UsageError, match="holds none of the article's functions"):
        check({"helper": print}, progress=False)
    with pytest.raises(UsageError, match="cannot be sent to the suite's worker"):
        check({"flatten2d": _Unpicklable()}, progress=False)
    with pytest.raises(TypeError, match="impl: give a module"):
        check(42, progress=False)  # type: ignore[arg-type]
    empty = _notebook(tmp_path / "empty.ipynb", "x = 1")
    with pytest.raises(UsageError, match="provides none of the article's functions"):
        check(empty, progress=False)


class _Unpicklable:
    def __call__(self, u):
        return u

    def __reduce__(self):
        raise TypeError("this one stays here")


def test_a_package_folder_and_nothing_left_behind(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "mylayers"
    package.mkdir()
    (package / "__init__.py").write_text("from .pool import flatten2d\n")
    (package / "pool.py").write_text(FLATTEN)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    verdict = check(package, keyword="flatten2d and test_forward and plain", progress=False)
    assert verdict.passed and verdict.exit_code == 0
    assert verdict.implementation == str(package)
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "__init__.py", "mylayers", "pool.py", "work",
    ]  # fmt: skip


def test_the_command_is_a_thin_layer_over_check(tmp_path: Path) -> None:
    """``refcnn conformance --impl FILE`` judges a file by its path, from
    any folder, and says what check() says."""
    layers = tmp_path / "layers.py"
    layers.write_text(FLATTEN)
    result = subprocess.run(
        [sys.executable, "-m", "refcnn.conformance", "--impl", str(layers), "-k",
         "flatten2d and test_forward and plain", "-n", "0"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"implementation under test = {layers}" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layers.py"]


def test_functions_from_a_folder_on_sys_path_are_judged(tmp_path: Path, monkeypatch, capsys):
    """A learner's notebook does sys.path.append(os.pardir), imports its
    module and calls check(globals()): the functions travel by value, so the
    worker judges them without that folder; a usage error speaks Python;
    progress into a pipe is one line per update."""
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "mylayers_by_value.py").write_text(FLATTEN)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module("mylayers_by_value")
    try:
        verdict = check(dict(vars(module)), keyword="flatten2d and test_forward and plain")
    finally:
        sys.modules.pop("mylayers_by_value", None)
    assert verdict.cells[("flatten2d", "forward", "plain")].status == "pass"
    progress = capsys.readouterr().out
    assert "\r" not in progress and progress.endswith(" failed\n"), repr(progress[-200:])
    with pytest.raises(UsageError) as info:
        check("no_such_module_here", keyword="flatten2d", progress=False)
    message = str(info.value)
    assert message.startswith("check(impl=...): no_such_module_here") and "--impl" not in message
    assert "Give check() the module itself, globals()" in message
