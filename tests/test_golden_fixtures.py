"""The derived golden fixtures: --check passes, regeneration is byte-identical
and atomic, tampering is caught by name, the article's fixtures are never
written, and the conformance suite runs where torch cannot be imported."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from refcnn.conformance.expected import article as fx
from refcnn.conformance.expected import golden
from refcnn.conformance.inputs import corners as cn
from refcnn.conformance.inputs import op_table as ot
from tests.test_harness import run_suite

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "regenerate_fixtures.py"
needs_torch = pytest.mark.skipif(
    __import__("importlib").util.find_spec("torch") is None, reason="needs torch"
)

# A sitecustomize that makes `import torch` fail, as on a machine without it.
NO_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("No module named 'torch'", name=name)
        return None
sys.meta_path.insert(0, _NoTorch())
"""


def digests(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def run(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
    )


@needs_torch
def test_check_passes_on_the_committed_fixtures() -> None:
    result = run([str(SCRIPT), "--check"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": ok (") == len(golden.read_manifest()["files"])


@needs_torch
def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    ops = ["--op", "max_pooling2d", "--op", "softmax_cross_entropy"]
    first, second = tmp_path / "a", tmp_path / "b"
    for directory in (first, second):
        directory.mkdir()
        result = run([str(SCRIPT), *ops, "--dir", str(directory)])
        assert result.returncode == 0, result.stdout + result.stderr
    assert digests(first) == digests(second)
    # The committed files were made with the versions in their manifest; with
    # others, the draws (hypothesis) or the results (torch) may differ.
    if golden.read_manifest()["versions"] == golden._versions():
        committed = digests(golden.GOLDEN_DIR)
        assert digests(first)["max_pooling2d.npz"] == committed["max_pooling2d.npz"]


@needs_torch
def test_drift_is_reported_per_file(tmp_path: Path) -> None:
    """A stored value that torch no longer reproduces: --check exits 1 and says
    which file, case and array (the manifest is updated to the edited file, so
    it is a drift, not a corruption)."""
    copy = tmp_path / "golden"
    shutil.copytree(golden.GOLDEN_DIR, copy)
    cases = golden.load_golden("average_pooling2d", copy)
    index = next(i for i, case in enumerate(cases) if case.z.size)
    cases[index].z = cases[index].z + 1e-6
    content = golden.encode(cases)
    (copy / "average_pooling2d.npz").write_bytes(content)
    manifest = json.loads((copy / golden.MANIFEST).read_text())
    manifest["files"]["average_pooling2d.npz"]["sha256"] = golden.sha256(content)
    (copy / golden.MANIFEST).write_text(json.dumps(manifest))
    result = run(
        [
            str(SCRIPT),
            "--check",
            "--op",
            "average_pooling2d",
            "--op",
            "flatten2d",
            "--dir",
            str(copy),
        ]
    )
    assert result.returncode == 1
    assert "average_pooling2d.npz: DRIFT" in result.stdout and f"case {index} z" in result.stdout
    assert "flatten2d.npz: ok" in result.stdout


def test_tampered_file_is_caught_by_name(tmp_path: Path) -> None:
    copy = tmp_path / "golden"
    shutil.copytree(golden.GOLDEN_DIR, copy)
    path = copy / "convolution2d.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(golden.IntegrityError, match=r"convolution2d\.npz: SHA-256"):
        golden.load_golden("convolution2d", copy)
    golden.load_golden("flatten2d", copy)  # the others are still used
    result = run(
        [
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "conformance/tests/test_golden.py",
            "-k",
            "convolution2d or flatten2d",
        ],
        env={"REFCNN_GOLDEN_DIR": str(copy)},
    )
    assert result.returncode == 1
    assert "convolution2d.npz: SHA-256" in result.stdout
    assert (
        "test_golden_cases[flatten2d-plain-f64] PASSED"
        in run(
            [
                "-m",
                "pytest",
                "-v",
                "-p",
                "no:cacheprovider",
                "conformance/tests/test_golden.py",
                "-k",
                "flatten2d",
            ],
            env={"REFCNN_GOLDEN_DIR": str(copy)},
        ).stdout
    )


@needs_torch
def test_interrupted_regeneration_leaves_the_old_files_whole(tmp_path: Path, monkeypatch) -> None:
    copy = tmp_path / "golden"
    shutil.copytree(golden.GOLDEN_DIR, copy)
    before = digests(copy)
    from refcnn import checkpoint

    def dies_half_way(path: Path, content: bytes) -> None:
        def write(file) -> None:
            file.write(content[: len(content) // 2])
            raise KeyboardInterrupt  # Ctrl-C in the middle of a file

        checkpoint.atomic_write(path, write)

    monkeypatch.setattr(golden, "_atomic_write", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        golden.regenerate(["max_pooling2d"], directory=copy, out=open(os.devnull, "w"))
    assert digests(copy) == before  # no half file, no leftover temporary


@needs_torch
def test_regeneration_never_writes_the_article_fixtures(tmp_path: Path) -> None:
    before = digests(fx.ARTICLE_DIR)
    copy = tmp_path / "golden"
    copy.mkdir()
    result = run([str(SCRIPT), "--op", "conv", "--dir", str(copy)])
    assert result.returncode == 0 and "ARTICLE FIXTURE" not in result.stdout
    assert digests(fx.ARTICLE_DIR) == before
    assert sorted(p.name for p in copy.iterdir()) == ["MANIFEST.json", "conv.npz"]


@pytest.mark.parametrize("impl", ["refcnn", "tests.impls.article_loops"])
def test_suite_runs_without_torch(impl: str, tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(NO_TORCH)
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    probe = run(
        [
            "-c",
            "import importlib.util as u, sys; import refcnn.conformance.expected.oracle as o; "
            "print(o.torch_available())",
        ],
        env,
    )
    assert probe.stdout.strip() == "False", probe.stderr
    code, verdict, output = run_suite(impl, tmp_path, pythonpath=env["PYTHONPATH"])
    assert code == 0, output[-3000:]
    assert "oracle = golden fixtures made by torch" in output
    assert verdict["oracle"].startswith("golden fixtures")
    for op in ("convolution2d", "max_pooling2d", "average_pooling2d", "flatten2d"):
        assert verdict["ops"][op]["golden"]["status"] == "pass"
        assert verdict["ops"][op]["backward"]["status"] == "pass"
    assert verdict["ops"]["max_pooling2d"]["semantics"]["status"] == "skipped"  # needs torch


# A corner's stored cases all hold what the corner is about (the tag of the
# same name), but in the corners about nothing in particular (plain, mixed).
UNTAGGED = {name for name, corner in cn.CORNERS.items() if not corner.tagged}


@pytest.mark.parametrize("name", [op.name for op in ot.OPS])
def test_golden_cases_cover_every_corner(name: str) -> None:
    op = ot.BY_NAME[name]
    entry = golden.read_manifest()["files"][f"{name}.npz"]
    coverage = entry["coverage"]
    assert set(coverage) == set(op.corners)
    drawn = golden.cases_per_corner(op)
    assert sum(drawn.values()) >= golden.MIN_CASES_PER_OP
    cases = golden.load_golden(name)
    assert entry["cases"] == len(cases) == sum(v["cases"] for v in coverage.values())
    assert coverage == golden.coverage(op, [c.sample for c in cases])
    for corner, counts in coverage.items():
        if corner not in UNTAGGED:
            assert counts["tags"].get(corner) == counts["cases"], (corner, counts)
        # the corner's drawn cases, and one more per degenerate shape they lacked
        degenerate = cn.degenerate(op.shape, corner) if op.shape is not None else ()
        assert drawn[corner] <= counts["cases"] <= drawn[corner] + len(degenerate), corner
        for tag in degenerate:
            assert counts["tags"].get(tag, 0) >= 1, (corner, tag, counts)


def test_golden_cases_have_more_than_4_channels_and_filters() -> None:
    cases = golden.load_golden("convolution2d")
    many = [c.sample for c in cases if c.sample.corner == "many channels"]
    assert many and all(s.arrays["W"].shape[0] > 4 and s.arrays["u"].shape[3] > 4 for s in many)


def test_drawing_too_few_cases_says_which_corner_and_how_many() -> None:
    """A corner whose strategy cannot give the cases asked for stops the
    regeneration with the op, the corner and the counts, not a bare error."""
    from dataclasses import replace

    from hypothesis import strategies as st

    op = ot.BY_NAME["convpsc"]  # its plain corner wants degenerate shapes too
    same = replace(op, samples=lambda *_: st.just("one sample"), tags=lambda sample: set())
    with pytest.raises(RuntimeError, match=r"^convpsc plain: 1 ordinary cases in \d+$"):
        golden.draw_samples(same, "plain", 2)
    untagged = replace(op, samples=lambda *_: st.integers(), tags=lambda sample: set())
    with pytest.raises(RuntimeError, match=r"^convpsc plain: no '[^']+' in \d+ draws$"):
        golden.draw_samples(untagged, "plain", 2)


# --- the recheck's comparison and the script's reports (what --check decides) ----------


def _case(z: list[float], **grads: list[float]) -> golden.GoldenCase:
    return golden.GoldenCase(
        None,
        None,
        np.array(z),
        {k: np.array(v) for k, v in grads.items()},  # type: ignore[arg-type]
    )


def test_the_recheck_tolerance_is_relative_and_inclusive() -> None:
    rtol = golden.tol.GOLDEN_RECHECK_RTOL
    # a difference of exactly the tolerance still agrees (the bound is inclusive)
    assert golden._compare([_case([0.0])], [_case([rtol])]) == []
    # relative to the values' scale: 500 x rtol on values of 1000 agrees, 2000 x does not
    assert golden._compare([_case([1000.0])], [_case([1000.0 + 500 * rtol])]) == []
    assert golden._compare([_case([1000.0])], [_case([1000.0 + 2000 * rtol])]) != []


def test_the_recheck_reports_every_array_of_a_case() -> None:
    """A changed shape in one array does not hide a drift in the next."""
    stored = [_case([1.0, 2.0], u=[1.0], w=[3.0])]
    fresh = [_case([1.0], u=[1.0], w=[3.5])]
    problems = golden._compare(stored, fresh)
    assert problems == ["case 0 z: shape changed", "case 0 dw: max |diff| 0.5 > 3e-12"], problems
    assert golden._compare(stored, fresh + fresh) == ["1 stored cases, 2 recomputed"]


@needs_torch
def test_check_reports_to_its_stream_and_goes_on_after_a_bad_file(tmp_path: Path) -> None:
    """--check of a missing file and a drifted one: each said on the stream
    given, exit status 1, and the files after them still checked."""
    import io

    copy = tmp_path / "golden"
    shutil.copytree(golden.GOLDEN_DIR, copy)
    (copy / "average_pooling2d.npz").unlink()
    cases = golden.load_golden("flatten2d", copy)
    index = next(i for i, case in enumerate(cases) if case.z.size)
    cases[index].z = cases[index].z + 1.0
    content = golden.encode(cases)
    (copy / "flatten2d.npz").write_bytes(content)
    manifest = json.loads((copy / golden.MANIFEST).read_text())
    manifest["files"]["flatten2d.npz"]["sha256"] = golden.sha256(content)
    (copy / golden.MANIFEST).write_text(json.dumps(manifest))
    golden._load_golden.cache_clear()
    out = io.StringIO()
    status = golden.regenerate(["average_pooling2d", "flatten2d", "conv"], check=True,
                               directory=copy, out=out)  # fmt: skip
    said = out.getvalue()
    assert status == 1, said
    assert "average_pooling2d.npz: " in said and "listed in MANIFEST.json but missing" in said
    assert "flatten2d.npz: DRIFT" in said and f"    case {index} z: max |diff|" in said
    assert "conv.npz: ok" in said  # checked after both
    alone = io.StringIO()  # a missing file alone fails the check too
    assert golden.regenerate(["average_pooling2d"], check=True, directory=copy, out=alone) == 1
    unknown = io.StringIO()
    assert golden.regenerate(["no_such_op"], check=True, directory=copy, out=unknown) == 2
    assert unknown.getvalue().strip().endswith("unknown op(s): no_such_op")


@needs_torch
def test_regeneration_writes_a_manifest_that_lists_each_file(tmp_path: Path) -> None:
    """The manifest written: sorted keys (a diff of it is a diff of the
    fixtures), and per file its digest, case count, size and coverage; each
    file said on the stream given."""
    import io

    folder = tmp_path / "golden"
    folder.mkdir()
    out = io.StringIO()
    assert golden.regenerate(["flatten2d"], directory=folder, out=out) == 0, out.getvalue()
    assert re.fullmatch(r"flatten2d\.npz: \d+ cases, \d+ bytes\n", out.getvalue()), out.getvalue()
    text = (folder / golden.MANIFEST).read_text()
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    entry = manifest["files"]["flatten2d.npz"]
    content = (folder / "flatten2d.npz").read_bytes()
    assert entry["sha256"] == golden.sha256(content) and entry["bytes"] == len(content)
    assert entry["cases"] == len(golden.decode(content)) and entry["coverage"]


def test_the_script_says_what_went_wrong_on_stderr(tmp_path: Path) -> None:
    """A manifest missing under --check, torch missing: one line on stderr
    and a non-zero exit; --help describes the options."""
    empty = tmp_path / "empty"
    empty.mkdir()
    if __import__("importlib").util.find_spec("torch") is not None:
        missing = run([str(SCRIPT), "--check", "--dir", str(empty)])
        assert missing.returncode == 1 and "MANIFEST.json is missing" in missing.stderr
        assert missing.stdout.count("\n") <= 1, missing.stdout  # nothing but the article's check
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_TORCH)
    no_torch = run([str(SCRIPT), "--check"], env={"PYTHONPATH": f"{site}:{ROOT}"})
    assert no_torch.returncode == 2, no_torch.stdout + no_torch.stderr
    assert no_torch.stderr.strip() == "regenerate_fixtures needs torch (pip install torch==2.13.0)"
    shown = run([str(SCRIPT), "--help"])
    assert shown.returncode == 0 and "--op NAME" in shown.stdout
    assert "Rebuild or check the golden fixtures" in shown.stdout
    assert "only this op (repeatable)" in shown.stdout and "write nothing" in shown.stdout


def test_the_article_input_rule_gives_exact_integers() -> None:
    """The printed inputs spell their indices (u553[i][j][k] = 100 i + 10 j + k,
    1-based): integers, as the article prints them."""
    value = fx.index_digits((2, 3))
    assert value.dtype.kind == "i" and value.tolist() == [[11, 12, 13], [21, 22, 23]]


@needs_torch
def test_a_changed_article_fixture_is_reported_never_rewritten(tmp_path: Path, monkeypatch) -> None:
    import io

    monkeypatch.setattr(golden, "check_article_fixtures", lambda oracle: ["conv.json differs"])
    out = io.StringIO()
    assert golden.regenerate(["no_such_op"], directory=tmp_path, out=out) == 2  # usage first
    out = io.StringIO()
    assert golden.regenerate([], check=True, directory=golden.GOLDEN_DIR, out=out) == 1
    assert out.getvalue().startswith("ARTICLE FIXTURE: conv.json differs (not modified"), out


def test_the_article_fixtures_are_read_as_utf8_whatever_the_locale() -> None:
    """They hold the article's Japanese: read without naming the encoding,
    a locale that is not UTF-8 would garble them (Python warns of it)."""
    probe = ("from refcnn.conformance.expected import article as a; "
             "print(len(a.layer_table()), len(a.article_examples()))")  # fmt: skip
    result = run(["-X", "warn_default_encoding", "-W", "error::EncodingWarning", "-c", probe],
                 env={"PYTHONPATH": str(ROOT)})  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
