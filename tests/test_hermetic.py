"""Hermetic runs: in an environment whose other pytest plugins would change a
run (pytest-randomly reorders and reseeds tests, pytest-benchmark and a
plugin of our own write files into the working folder), ``refcnn
conformance`` and ``check()`` give the verdict they give without them, and
leave no file behind but the ones asked for.

The environment is a virtual environment that sees this one's packages (a
``.pth`` file) and has the plugins installed in it alone: pytest-randomly
and pytest-benchmark from the package registry, and ``meddler``, written
here, which writes a file at the start of every pytest session and reverses
the order of the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from tests.test_api import comparable
from tests.test_harness import ROOT, run_suite

PLANTED = "tests.impls.broken.max_pool_last_tie"
SELECTION = "max_pooling2d"

MEDDLER = """
import os

def pytest_sessionstart(session):
    with open(os.path.join(os.getcwd(), "meddler-was-here.txt"), "w") as f:
        f.write("a foreign plugin ran\\n")

def pytest_collection_modifyitems(items):
    items.reverse()
"""


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)


@pytest.fixture(scope="module")
def meddling_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A virtual environment with this one's packages and three meddling plugins."""
    root = tmp_path_factory.mktemp("meddling")
    venv = root / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    python = str(venv / "bin" / "python")
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    ours = sysconfig.get_paths()["purelib"]
    Path(site.stdout.strip(), "ours.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    # meddler, installed by hand: its module and the metadata that registers it
    site_packages = Path(site.stdout.strip())
    (site_packages / "meddler.py").write_text(textwrap.dedent(MEDDLER))
    info = site_packages / "meddler-1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: meddler\nVersion: 1\n")
    (info / "entry_points.txt").write_text("[pytest11]\nmeddler = meddler\n")
    installed = _run(
        [python, "-m", "pip", "install", "--quiet", "pytest-randomly", "pytest-benchmark"]
    )
    if installed.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"could not install the meddling plugins: {installed.stderr[-2000:]}")
        pytest.skip(f"no package registry here: {installed.stderr[-300:]}")
    return python


def test_the_plugins_do_meddle_with_a_plain_pytest_run(
    meddling_python: str, tmp_path: Path
) -> None:
    (tmp_path / "test_x.py").write_text("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    result = _run([meddling_python, "-m", "pytest", "-p", "no:cacheprovider"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "randomly-seed" in result.stdout and "benchmark" in result.stdout
    assert (tmp_path / "meddler-was-here.txt").exists()


def test_the_verdict_is_the_same_and_nothing_is_left_behind(
    meddling_python: str, tmp_path: Path
) -> None:
    (tmp_path / "plain").mkdir()
    _, expected, _ = run_suite(PLANTED, tmp_path / "plain", "-k", SELECTION)
    work = tmp_path / "work"
    work.mkdir()
    report = tmp_path / "verdict.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = _run(
        [meddling_python, "-m", "refcnn.conformance", "--impl", PLANTED, "-k", SELECTION,
         "-n", "2", "--conformance-report", str(report), "--conformance-failures",
         str(tmp_path / "failures.txt")],
        cwd=work, env=env,
    )  # fmt: skip
    assert command.returncode == 1, command.stdout[-3000:] + command.stderr[-3000:]
    assert "randomly" not in command.stdout + command.stderr
    assert "benchmark" not in command.stdout + command.stderr
    assert comparable(json.loads(report.read_text())) == comparable(expected)
    api = _run(
        [meddling_python, "-c",
         "import json; from refcnn.conformance import check; "
         f"print(json.dumps(check({PLANTED!r}, keyword={SELECTION!r}, progress=False).to_json()))"],
        cwd=work, env=env,
    )  # fmt: skip
    assert api.returncode == 0, api.stderr[-3000:]
    assert comparable(json.loads(api.stdout)) == comparable(expected)
    assert list(work.iterdir()) == []  # no .benchmarks, no meddler's file, no cache
