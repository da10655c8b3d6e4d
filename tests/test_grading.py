"""``refcnn grade``: a class judged submission by submission, each in a
sandbox of its own; the files it writes; resuming, Ctrl-C; a Dask cluster.

The class: the loop implementation, planted bugs (a file, a package folder,
a zip archive, a notebook), and hostile submissions that try to overwrite
the grades and another's verdict, read the others' files, write a 4 GB file,
fork without end, allocate 50 GB, hang, and exit at import. The grader runs
as root (as CI does), so that each submission runs as a user id of its own;
where it is not root, the tests that need that are skipped.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from refcnn.conformance import check
from refcnn.conformance.grading import rubric as rb
from refcnn.conformance.grading import submissions as sb
from tests.test_api import comparable
from tests.test_harness import ROOT

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0
SELECTION = "pooling2d and (plain or ties or defaults) and not golden"
LIMITS = ["--timeout", "15", "--budget", "180", "--explain-budget", "1"]
HOSTILE = ("overwrites_grades", "reads_others", "big_file", "fork_bomb", "allocates_50gb",
           "exits_at_import")  # fmt: skip
HONEST = {  # id -> the module a single run judges
    "honest": "tests.impls.article_loops",
    "last_tie": "tests.impls.broken.max_pool_last_tie",
    "default_3": "tests.impls.broken.pool_size_default_3",
    "ceil_package": "tests.impls.broken.output_size_ceil",
    "zipped": "tests.impls.broken.max_pool_minus_inf_padding",
    "notebook": "tests.impls.article_transcription",
}


def _module_source(module: str) -> str:
    return (ROOT / (module.replace(".", "/") + ".py")).read_text()


def make_class(folder: Path, out: Path | None = None) -> Path:
    """The class's submissions in ``folder`` (readable by the grader alone);
    the one that overwrites the grades knows ``out``."""
    folder.mkdir(parents=True)
    (folder / "honest.py").write_text(_module_source(HONEST["honest"]))
    (folder / "last_tie.py").write_text(_module_source(HONEST["last_tie"]))
    (folder / "default_3.py").write_text(_module_source(HONEST["default_3"]))
    package = folder / "ceil_package"
    package.mkdir()
    (package / "__init__.py").write_text("from .layers import *  # noqa: F403\n")
    (package / "layers.py").write_text(_module_source(HONEST["ceil_package"]))
    with zipfile.ZipFile(folder / "zipped.zip", "w") as archive:
        archive.writestr("zipped/layers.py", _module_source(HONEST["zipped"]))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# part 9-1"),
        nbformat.v4.new_code_cell("%load_ext autoreload\n" + _module_source(HONEST["notebook"])),
    ]
    nbformat.write(notebook, folder / "notebook.ipynb")
    for name in HOSTILE:
        source = (ROOT / "tests" / "impls" / "grading" / f"{name}.py").read_text()
        if out is not None:
            source = source.replace("KNOWN_OUT: list[str] = []", f"KNOWN_OUT = [{str(out)!r}]")
        (folder / f"{name}.py").write_text(source)
    shutil.copy(ROOT / "tests" / "impls" / "hostile" / "hang.py", folder / "hangs.py")
    os.chmod(folder, 0o700)
    return folder


def grade(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "refcnn.cli", "grade", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def test_a_class_graded_two_at_a_time(tmp_path: Path, monkeypatch) -> None:
    """The class, graded two at a time as a teacher would run it: one row
    and one folder per submission; each honest verdict the one a single
    run gives; the hostile ones reported with what they did, touching
    nothing but their own row; the class page, the autograder format; a
    second run resumes. (One test: xdist's groups do not hold under this
    pytest, and a fixture shared by several tests would grade the class
    once per worker.)"""
    os.chmod(tmp_path, 0o700)
    out = tmp_path / "out"
    folder = make_class(tmp_path / "class", out)
    result = grade(
        str(folder), "--out", str(out), "--jobs", "2", "-k", SELECTION, *LIMITS,
        "--pythonpath", str(ROOT), "--gradescope", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    found = rows(out)
    _rows_and_files(out, found, result.stdout)
    _single_runs_agree(out, monkeypatch)
    if ROOT_USER:
        _hostile_ones_reported_and_contained(out, found)
    _class_page_and_autograder_format(out, found)
    _resume_judges_only_what_changed(out, folder, found, tmp_path)


def _rows_and_files(out: Path, found: dict, output: str) -> None:
    assert set(found) == {*HONEST, *HOSTILE, "hangs"}
    for identity, row in found.items():
        assert row["ending"] in ("finished", "budget spent", "crashed", "unusable", "suite error")
        assert 0 <= float(row["score"]) <= 1
        for name in ("page.html", "failures.txt", "results.json"):
            assert (out / identity / name).exists(), (identity, name)
    assert found["honest"]["all_passed"] == "yes" and float(found["honest"]["score"]) == 1.0
    assert found["last_tie"]["max_pooling2d"] == "FAIL"
    assert "max_pooling2d:ties" in found["last_tie"]["failing_corners"]
    assert found["default_3"]["failing_corners"] == "max_pooling2d:defaults"
    assert found["notebook"]["all_passed"] == "yes"
    progress = [line for line in output.splitlines() if line.startswith("[")]
    assert len(progress) == len(found) and progress[-1].startswith(f"[{len(found)}/{len(found)}]")
    assert "left" in progress[0] and "not passing so far" in progress[0]


def _single_runs_agree(out: Path, monkeypatch) -> None:
    """A file, a package folder and a notebook judged alone, as the grader
    judged them (benchmarks/grade_class.py compares every submission)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    for identity in ("last_tie", "ceil_package", "notebook"):
        module = HONEST[identity]
        alone = check(module, keyword=SELECTION, workers=2, timeout=15, explain_budget=1,
                      progress=False)  # fmt: skip
        judged = json.loads((out / identity / "verdict.json").read_text())
        assert comparable(judged) == comparable(alone.to_json()), identity


def _hostile_ones_reported_and_contained(out: Path, found: dict) -> None:
    causes = {
        identity: " | ".join(
            c["title"] for c in json.loads((out / identity / "verdict.json").read_text())["causes"]
        )
        for identity in found
        if (out / identity / "verdict.json").exists()
    }
    assert "raised PermissionError" in causes["overwrites_grades"], causes["overwrites_grades"]
    assert "raised PermissionError" in causes["reads_others"], causes["reads_others"]
    assert "File too large" in causes["big_file"] or "SIGXFSZ" in causes["big_file"]
    assert "raised BlockingIOError" in causes["fork_bomb"], causes["fork_bomb"]
    assert "raised MemoryError" in causes["allocates_50gb"], causes["allocates_50gb"]
    assert "timed out" in causes["hangs"] and found["hangs"]["average_pooling2d"] != "pass"
    # its own exit at import: it does not load (the suite's process never ends for it)
    assert found["exits_at_import"]["ending"] == "unusable"
    assert "process exited with code 3 while loading" in found["exits_at_import"]["message"]
    # the grades and the others' verdicts are the grader's: the honest ones stand
    verdict = json.loads((out / "honest" / "verdict.json").read_text())
    assert verdict["all_provided_pass"] and verdict["implementation"].endswith("honest.py")
    hostile = (*HOSTILE, "hangs")
    left = [p for p in Path("/tmp/refcnn-grade").glob("*") if p.name.split("-")[0] in hostile]
    assert not left  # every scratch folder of theirs removed
    processes = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    assert not [line for line in processes.splitlines()
                if any(f"/refcnn-grade/{name}-" in line for name in hostile)]  # fmt: skip


def _class_page_and_autograder_format(out: Path, found: dict) -> None:
    page = (out / "index.html").read_text()
    assert "<script" not in page and "http" not in page
    for identity in found:
        assert f'href="{identity}/page.html"' in page
    assert "the mistakes the class makes" in page and "looks like: your default pool_size" in page
    results = json.loads((out / "last_tie" / "results.json").read_text())
    assert set(results) >= {"score", "execution_time", "tests"}
    assert isinstance(results["score"], float) and isinstance(results["execution_time"], float)
    for test in results["tests"]:
        assert set(test) == {"name", "score", "max_score", "output", "visibility"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
    assert results["score"] < sum(t["max_score"] for t in results["tests"])


def _resume_judges_only_what_changed(out: Path, folder: Path, before: dict, cwd: Path) -> None:
    options = ["-k", SELECTION, *LIMITS, "--pythonpath", str(ROOT), "--gradescope"]
    again = grade(str(folder), "--out", str(out), *options, cwd=cwd)
    assert again.returncode == 0 and f"{len(before)} judged already, 0 to judge" in again.stdout
    assert rows(out) == before
    (folder / "honest.py").write_text(_module_source("tests.impls.broken.max_pool_last_tie"))
    changed = grade(str(folder), "--out", str(out), *options, cwd=cwd)
    assert f"{len(before) - 1} judged already, 1 to judge" in changed.stdout, changed.stdout
    assert rows(out)["honest"]["all_passed"] == "no"


def test_ctrl_c_leaves_every_file_whole_and_a_rerun_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.py").write_text(_module_source("tests.impls.article_loops"))
    shutil.copy(ROOT / "tests" / "impls" / "hostile" / "hang.py", folder / "d_hangs.py")
    out = tmp_path / "out"
    options = ["-k", "average_pooling2d and plain and test_forward", "--timeout", "10",
               "--pythonpath", str(ROOT)]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "refcnn.cli", "grade", str(folder), "--out", str(out), "--jobs",
         "1", *options],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
        # SIGINT at its default: a background job's would be ignored, as a shell's are
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not (out / ".grading" / "c.json").exists():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.2)
    time.sleep(2)  # d_hangs is being judged
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2 and "interrupted" in output, output[-2000:]
    assert set(rows(out)) == {"a", "b", "c"}  # whole, and only what was judged
    assert not (out / "d_hangs").exists() and not (out / ".grading" / "d_hangs.json").exists()
    assert not [p for p in out.rglob(".*.*") if p.is_file() and p.parent != out / ".grading"]
    rerun = grade(str(folder), "--out", str(out), *options, cwd=tmp_path)
    assert rerun.returncode == 0 and "3 judged already, 1 to judge" in rerun.stdout
    assert rows(out)["d_hangs"]["average_pooling2d"] == "FAIL"


def test_the_autograder_container(tmp_path: Path) -> None:
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "layers.py").write_text(
        _module_source("tests.impls.broken.max_pool_last_tie")
    )
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('[visibility]\nhidden = ["golden"]\nafter_due_date = ["ties"]\n')
    result = subprocess.run(
        [sys.executable, "-m", "refcnn.cli", "grade", "--in-autograder", "--rubric", str(rubric),
         "-k", "max_pooling2d and (plain or ties) and (test_forward or test_backward)",
         "--pythonpath", str(ROOT)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT), "REFCNN_AUTOGRADER_ROOT": str(root)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    names = {t["name"]: t for t in results["tests"]}
    assert names["max_pooling2d backward [ties]"]["visibility"] == "after_due_date"
    assert names["max_pooling2d backward [ties]"]["score"] == 0
    assert names["max_pooling2d backward"]["score"] == names["max_pooling2d backward"]["max_score"]


# --- the pieces, without running the suite ---------------------------------------------


def _verdict(statuses: dict[tuple[str, str], dict[str | None, str]]) -> dict:
    ops: dict = {}
    for (op, name), corners in statuses.items():
        found = set(corners.values())
        status = "FAIL" if "FAIL" in found else "pass" if "pass" in found else found.pop()
        cell = {"status": status, "failures": []}
        if None not in corners:
            cell["corners"] = {c: {"status": s} for c, s in corners.items()}
        else:
            cell["status"] = corners[None]
        ops.setdefault(op, {})[name] = cell
    return {"ops": ops, "all_provided_pass": False}


def test_scores_come_from_the_cells_only(tmp_path: Path) -> None:
    verdict = _verdict(
        {
            ("max_pooling2d", "forward"): {"plain": "pass", "ties": "FAIL"},
            ("max_pooling2d", "defaults"): {None: "pass"},
            ("max_pooling2d", "validation"): {None: "not checked"},
            ("flatten2d", "forward"): {"plain": "not provided"},
        }
    )
    assert rb.score(verdict, rb.Rubric()) == pytest.approx(0.75)  # (1/2 + 1) / 2
    weighted = rb.Rubric(corners={"ties": 3.0}, checks={"defaults": 2.0})
    assert rb.score(verdict, weighted) == pytest.approx((0.25 + 2) / 3)
    required = rb.Rubric(required=("flatten2d",))
    assert rb.score(verdict, required) == pytest.approx(1.5 / 3)
    path = tmp_path / "rubric.toml"
    path.write_text("[weights.corners]\nties = 3\n[weights.checks]\ndefaults = 2\n")
    assert rb.load(path) == weighted
    path.write_text("[weights.checks]\nforwards = 2\n")
    with pytest.raises(rb.RubricError, match="no check 'forwards'"):
        rb.load(path)


def test_submissions_are_found_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    (folder / "bob").mkdir(parents=True)
    (folder / "alice.py").write_text("x = 1\n")
    (folder / "bob" / "layers.py").write_text("x = 2\n")
    (folder / "bob" / "notes.txt").write_text("hi\n")
    (folder / "two").mkdir()
    (folder / "two" / "a.py").write_text("")
    (folder / "two" / "b.py").write_text("")
    with zipfile.ZipFile(folder / "evil.zip", "w") as archive:
        archive.writestr("../escape.py", "x = 3\n")
    with zipfile.ZipFile(folder / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("layers.py", b"#" * (sb.MAX_BYTES + 1))
    ids = tmp_path / "ids.csv"
    ids.write_text("path,id\nclass/alice.py,s-001\n")
    found = {s.id: s for s in sb.discover([folder], ids)}
    assert set(found) == {"s-001", "bob", "two", "evil", "bomb"}
    assert found["s-001"].entry == "alice.py" and found["bob"].entry == "layers.py"
    assert "several candidates (a.py, b.py)" in found["two"].problem
    assert "leaves the archive" in found["evil"].problem
    assert "more than" in found["bomb"].problem
    before = found["bob"].fingerprint
    assert sb.read(folder / "bob", "bob").fingerprint == before
    (folder / "bob" / "layers.py").write_text("x = 5\n")
    assert sb.read(folder / "bob", "bob").fingerprint != before
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("carol/layers.py", "x = 4\n")
    (folder / "carol.zip").write_bytes(buffer.getvalue())
    carol = sb.read(folder / "carol.zip", "carol")
    assert carol.files == {"layers.py": b"x = 4\n"} and carol.entry == "layers.py"


FORGERS = ("liar", "patches_suite", "patches_numpy", "patches_oracle", "forges_replies",
           "rewrites_json", "calls_home")  # fmt: skip
FORGER_SELECTION = "max_pooling2d and test_forward and (plain or padding)"


def test_no_forger_and_no_answer_key_passes_a_grade(tmp_path: Path) -> None:
    """Each forger of tests/impls/forgers hands in a max pooling that returns
    zeros; one submission hands in refcnn itself, one imports it by a
    computed name when called. None passes; the answer key's rows say why;
    the listener on loopback hears nothing; the daemon is gone at the end."""
    from tests.test_boundary import _daemons, heard, listen

    folder = tmp_path / "class"
    folder.mkdir()
    listener = listen()
    mark = f"refcnn-forger-{os.getpid()}-{time.monotonic_ns()}"
    for name in FORGERS:
        source = (ROOT / "tests" / "impls" / "forgers" / f"{name}.py").read_text()
        source = source.replace("KNOWN_PORT = 0", f"KNOWN_PORT = {listener.getsockname()[1]}")
        source = source.replace('KNOWN_MARK = ""', f"KNOWN_MARK = {mark!r}")
        (folder / f"{name}.py").write_text(source)
    (folder / "answer_key.py").write_text("from refcnn import *  # noqa: F403\n")
    (folder / "computed.py").write_text(
        "import importlib\n\n\ndef max_pooling2d(u, pool_size=2, padding=0, strides=None):\n"
        "    key = importlib.import_module('ref' + 'cnn')\n"
        "    return key.max_pooling2d(u, pool_size, padding, strides)\n"
    )
    os.chmod(folder, 0o700)
    out = tmp_path / "out"
    result = grade(
        str(folder), "--out", str(out), "-k", FORGER_SELECTION, *LIMITS, "--pythonpath",
        str(ROOT), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    found = rows(out)
    assert set(found) == {*FORGERS, "answer_key", "computed"}
    for identity, row in found.items():
        assert row["all_passed"] == "no" and float(row["score"]) < 1.0, (identity, row)
    assert found["answer_key"]["ending"] == "unusable"
    assert found["answer_key"]["message"] == "imports refcnn, which this grading forbids"
    causes = json.loads((out / "computed" / "verdict.json").read_text())["causes"]
    assert "imports refcnn, which this grading forbids" in " ".join(c["title"] for c in causes)
    assert heard(listener) == []
    assert _daemons(mark) == []


def test_a_class_folder_is_never_one_submission(tmp_path: Path) -> None:
    """17 modules and one notebook given as one folder: 18 submissions. A
    student's folder holding a notebook and its helper module is one
    submission, and says that the helper was not judged."""
    folder = tmp_path / "class"
    folder.mkdir()
    for number in range(17):
        (folder / f"student{number:02}.py").write_text("x = 1\n")
    nbformat.write(nbformat.v4.new_notebook(), folder / "latecomer.ipynb")
    found = sb.discover([folder])
    assert len(found) == 18 and {s.id for s in found} >= {"student00", "latecomer"}
    alice = tmp_path / "alice"
    alice.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), alice / "notebook.ipynb")
    (alice / "mylayers.py").write_text("x = 1\n")
    (tmp_path / "others").mkdir()
    (alice).rename(tmp_path / "others" / "alice")
    (tmp_path / "others" / "bob.py").write_text("x = 2\n")
    by_id = {s.id: s for s in sb.discover([tmp_path / "others"])}
    assert by_id["alice"].entry == "notebook.ipynb"
    assert by_id["alice"].not_judged == ["mylayers.py"] and by_id["bob"].not_judged == []


@pytest.mark.skipif(not ROOT_USER, reason="the grader's user ids need root")
def test_the_preflight_names_the_cause_and_the_fix(monkeypatch) -> None:
    """With bubblewrap the preflight passes whatever the folders above the
    interpreter allow (the sandbox shows them); without it, grading refuses
    unless --weaker-sandbox, and then a user id that cannot reach the
    interpreter is named with its fix, not judged as a crash."""
    from refcnn.conformance.grading.judge import Limits, preflight
    from refcnn.conformance.judging import boundary as bd

    if bd.bwrap() and not bd.bwrap_works(bd.bwrap()):
        assert preflight(Limits(), weaker_sandbox=False) == ""
    monkeypatch.setenv(bd.SANDBOX_VAR, "none")
    refused = preflight(Limits(), weaker_sandbox=False)
    assert (
        refused.startswith("bubblewrap cannot make the sandbox here")
        and "--weaker-sandbox" in refused
    )
    weaker = preflight(Limits(), weaker_sandbox=True)
    blocked = bd.blocked_folders(bd.UIDS_FIRST, [sys.base_prefix, sys.prefix])
    if blocked:  # e.g. /root, mode 0700
        assert weaker.startswith("a trivial submission did not run as user id") and (
            f"chmod o+x {blocked[0]}" in weaker
        ), weaker
    else:
        assert weaker == ""


def test_the_class_page_and_the_autograder_text_in_japanese() -> None:
    """What a teacher reads of a grading, in Japanese: the class page (its
    lang, headings, statuses, endings), the autograder's output, --help."""
    from refcnn import i18n
    from refcnn.conformance.grading import outputs as go
    from refcnn.conformance.grading.judge import Judgement
    from tests.test_language import _page_text, english_sentences

    verdict = _verdict({("max_pooling2d", "forward"): {"plain": "pass", "ties": "FAIL"}})
    with i18n.speaking("ja"):
        hint = i18n.tr("the gradient went to the last of tied maxima; the article sends it to the "
                       "first maximum (of a pooling window row by row, left to right; of maxout's "
                       "pieces)")  # fmt: skip
        verdict["causes"] = [{"number": 1, "op": "max_pooling2d", "title": "最大値プーリング",
                              "hint": hint}]  # fmt: skip
        judged = [
            Judgement("a", "f1", verdict, "finished", seconds=1.0),
            Judgement("b", "f2", None, "crashed", message=i18n.tr("usage error")),
        ]
        page = go.index_html(judged, rb.Rubric(), "9-1")
        results = go.gradescope_results(judged[0], rb.Rubric())
        unjudged = go.gradescope_results(judged[1], rb.Rubric())
    assert '<html lang="ja">' in page and "提出物 × 演算" in page and "不合格" in page
    assert "クラッシュ" in page and english_sentences(_page_text(page)) == []
    assert "考えられる原因" in results["output"] and "不合格" in results["tests"][0]["output"]
    assert unjudged["output"].startswith("採点していません: クラッシュ")
    with i18n.speaking("en"):
        english = go.index_html(judged, rb.Rubric(), "9-1")
    assert '<html lang="en">' in english and "submissions × ops" in english
    shown = grade("--lang", "ja", "--help", cwd=ROOT)
    assert shown.returncode == 0 and "使い方: refcnn grade" in shown.stdout, shown.stdout
    assert "オプション" in shown.stdout and "成績を書き出すフォルダ" in shown.stdout
