"""refcnn as a user gets it: an sdist and a wheel built from the sources, the
wheel installed into a fresh virtual environment where this repository is not
importable, and the suite run from a temporary folder on a user's module,
through each of its three entry points, with torch and with torch blocked.

The new environment reuses the packages already installed here (a ``.pth``
file naming this interpreter's site-packages; the editable install of refcnn
is not activated through it) instead of downloading them again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.test_golden_fixtures import NO_TORCH

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("installed")  # one build and one venv per run

# A small correct implementation, written for this test: conv (the article's
# fixtures) and flatten2d; and the same with flatten2d channel-first.
CORRECT = """
import numpy as np


def conv(u, f):
    u, f = np.asarray(u, dtype=float), np.asarray(f, dtype=float)
    (h, w), (fh, fw) = u.shape, f.shape
    z = np.empty((h - fh + 1, w - fw + 1))
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = np.sum(u[i : i + fh, j : j + fw] * f)
    return z


def flatten2d(u):
    u = np.array(u, dtype=float)
    return u.reshape(u.shape[0], int(np.prod(u.shape[1:])))


def flatten2d_back(dz, u, z):
    return np.array(dz, dtype=float).reshape(np.shape(u))
"""
BROKEN = CORRECT.replace(
    "u.reshape(u.shape[0], int(np.prod(u.shape[1:])))",
    "u.transpose(0, 3, 1, 2).reshape(u.shape[0], int(np.prod(u.shape[1:])))",
)
SELECTION = "conv or flatten2d"  # conv: forward, fixtures, golden; flatten2d: all checks
ENTRY_POINTS = {
    "refcnn conformance": lambda venv: [str(venv / "bin" / "refcnn"), "conformance"],
    "python -m refcnn.conformance": lambda venv: [python(venv), "-m", "refcnn.conformance"],
    "pytest --pyargs": lambda venv: [
        python(venv),
        "-m",
        "pytest",
        "-p",
        "refcnn.conformance.plugin",
        "--pyargs",
        "refcnn.conformance",
        "-p",
        "no:cacheprovider",
    ],
}


def python(venv: Path) -> str:
    return str(venv / "bin" / "python")


def build(tmp: Path) -> tuple[Path, Path]:
    """sdist and wheel (the wheel built from the sdist, as pip would) of a
    copy of the sources, so that concurrent builds never share a build/ folder."""
    source = tmp / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in ("refcnn", "conformance", "fixtures"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    out = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return next(out.glob("*.tar.gz")), next(out.glob("*.whl"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("installed")
    sdist, wheel = build(tmp)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = subprocess.run(
        [python(venv), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "reused_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python(venv),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    user = tmp / "user project"  # a space in the path, as users have
    user.mkdir()
    (user / "mylayers.py").write_text(CORRECT)
    (user / "mybroken.py").write_text(BROKEN)
    blocker = tmp / "no_torch"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_TORCH)
    return {"sdist": sdist, "wheel": wheel, "venv": venv, "user": user, "blocker": blocker}


def run_entry_point(installed: dict, entry: str, module: str, torch: bool, *extra: str):
    report = installed["user"] / f"verdict-{module}-{torch}-{entry.split()[-1]}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "REFCNN_"))}
    env.pop("PYTHONPATH", None)
    if not torch:
        env["PYTHONPATH"] = str(installed["blocker"])
    command = [
        *ENTRY_POINTS[entry](installed["venv"]),
        "--impl",
        module,
        "-k",
        SELECTION,
        "--conformance-report",
        str(report),
        *extra,
    ]
    result = subprocess.run(
        command, cwd=installed["user"], env=env, capture_output=True, text=True, timeout=600
    )
    verdict = json.loads(report.read_text()) if report.exists() else {}
    return result.returncode, verdict, result.stdout + result.stderr


def test_wheel_and_sdist_contents(installed: dict) -> None:
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"refcnn", f"{installed['wheel'].name.split('-py3')[0]}.dist-info"}, top
    for needed in (
        "refcnn/conformance/tests/test_ops.py",
        "refcnn/conformance/plugin.py",
        "refcnn/conformance/tests/conftest.py",
        "refcnn/conformance/fixtures/golden/MANIFEST.json",
        "refcnn/conformance/fixtures/golden/convolution2d.npz",
        "refcnn/conformance/fixtures/article/convpscfu_u2553_f2333.json",
        "refcnn/datasets/mnist_subset.npz",
        "refcnn/locale/ja/LC_MESSAGES/refcnn.mo",  # compiled when the wheel was built
    ):
        assert needed in names, needed
    golden = {n for n in names if n.startswith("refcnn/conformance/fixtures/golden/")}
    manifest = json.loads((ROOT / "fixtures/golden/MANIFEST.json").read_text())
    assert len(golden) == len(manifest["files"]) + 1
    sdist = tarfile.open(installed["sdist"]).getnames()
    prefix = sdist[0].split("/")[0]
    for needed in (
        "conformance/tests/test_ops.py",
        "fixtures/golden/MANIFEST.json",
        "pyproject.toml",
    ):
        assert f"{prefix}/{needed}" in sdist, needed


def test_repository_is_not_importable_from_the_environment(installed: dict) -> None:
    probe = (
        "import importlib.util, refcnn, refcnn.conformance.expected.article as a; "
        "print(refcnn.__file__); print(a.FIXTURES_DIR); "
        "print(importlib.util.find_spec('tests'), importlib.util.find_spec('conformance'))"
    )
    out = subprocess.run(
        [python(installed["venv"]), "-c", probe],
        cwd=installed["user"],
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0].startswith(str(installed["venv"])), out
    assert out[1].startswith(str(installed["venv"])), out
    assert out[2] == "None None", out


@pytest.mark.parametrize("torch", [True, False], ids=["torch", "torch blocked"])
def test_three_entry_points_give_one_verdict(installed: dict, torch: bool) -> None:
    verdicts = {}
    for entry in ENTRY_POINTS:
        extra = ("-n", "2") if entry == "pytest --pyargs" else ("-n", "0")
        code, verdict, output = run_entry_point(installed, entry, "mylayers", torch, *extra)
        assert code == 0, (entry, output[-3000:])
        oracle = "oracle = torch" if torch else "oracle = golden fixtures made by torch"
        assert oracle in output, (entry, output[:500])
        assert "conformance verdict: mylayers" in output
        ops = verdict["ops"]
        assert ops["conv"]["fixtures"]["status"] == "pass", entry
        assert ops["conv"]["golden"]["status"] == "pass", entry
        assert ops["flatten2d"]["golden"]["status"] == "pass", entry
        assert ops["flatten2d"]["backward"]["status"] == "pass", entry
        assert ops["convolution2d"]["forward"]["status"] == "not provided", entry
        verdicts[entry] = {
            op: {check: (c["status"], c["examples"]) for check, c in checks.items()}
            for op, checks in ops.items()
        }
    first, *others = verdicts.values()
    assert all(other == first for other in others), verdicts


@pytest.mark.parametrize("torch", [True, False], ids=["torch", "torch blocked"])
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_entry_point_fails_a_broken_module(installed: dict, entry: str, torch: bool) -> None:
    code, verdict, output = run_entry_point(installed, entry, "mybroken", torch)
    assert code == 1, output[-3000:]
    assert verdict["ops"]["flatten2d"]["forward"]["status"] == "FAIL"
    assert verdict["ops"]["flatten2d"]["golden"]["status"] == "FAIL"
    assert verdict["ops"]["conv"]["fixtures"]["status"] == "pass"


def test_the_installed_wheel_speaks_japanese(installed: dict) -> None:
    """``pip install refcnn`` and nothing else: --lang ja gives the verdict
    in Japanese (the catalog compiled into the wheel)."""
    code, verdict, output = run_entry_point(
        installed, "refcnn conformance", "mybroken", True, "-n", "0", "--lang", "ja"
    )
    assert code == 1 and verdict["language"] == "ja", output[-3000:]
    assert "適合性の判定: mybroken（基準: torch）" in output and "不合格" in output, output
    assert verdict["ops"]["flatten2d"]["forward"]["status"] == "FAIL"  # identifiers as ever
