"""``refcnn grade --dask``: a real local cluster (a ``dask scheduler`` and two
``dask worker`` processes) judges a small class; the grades, the pages and
the class page are those of ``--jobs 2`` (but the time and memory columns)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_boundary import heard, listen
from tests.test_grading import _module_source, grade
from tests.test_harness import ROOT

pytest.importorskip("distributed")
SELECTION = "max_pooling2d and (plain or ties or defaults) and not golden"
TIMING = ("seconds", "cpu_seconds", "peak_memory_mb")


@pytest.fixture
def cluster(tmp_path: Path):
    """A scheduler and two workers, one task at a time each; their address."""
    scheduler_file = tmp_path / "scheduler.json"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [str(bin_dir / "dask"), "scheduler", "--scheduler-file", str(scheduler_file),
             "--port", "0", "--dashboard-address", ":0", "--host", "127.0.0.1"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    ]  # fmt: skip
    deadline = time.monotonic() + 120
    while not scheduler_file.exists():
        assert time.monotonic() < deadline and processes[0].poll() is None, "no scheduler"
        time.sleep(0.2)
    for _ in range(2):
        processes.append(
            subprocess.Popen(
                [str(bin_dir / "dask"), "worker", "--scheduler-file", str(scheduler_file),
                 "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
    address = json.loads(scheduler_file.read_text())["address"]
    from distributed import Client

    with Client(address, timeout=120) as client:
        client.wait_for_workers(2, timeout=120)
    try:
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _grades(out: Path) -> list[dict[str, str]]:
    with open(out / "grades.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(handle)]


def test_a_dask_cluster_grades_as_local_cores_do(cluster: str, tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "honest.py").write_text(_module_source("tests.impls.article_loops"))
    (folder / "last_tie.py").write_text(_module_source("tests.impls.broken.max_pool_last_tie"))
    (folder / "default_3.py").write_text(_module_source("tests.impls.broken.pool_size_default_3"))
    shutil.copy(ROOT / "tests" / "impls" / "grading" / "exits_at_import.py", folder)
    # the scheduler's address is on the teacher's command line: a submission
    # that reaches it hands in zeros (and could run code on the workers)
    host, port = cluster.removeprefix("tcp://").rsplit(":", 1)
    (folder / "calls_scheduler.py").write_text(
        _module_source("tests.impls.article_loops") + "\n\nimport socket as _socket\n"
        "_honest = max_pooling2d\n\n\n"
        "def max_pooling2d(u, pool_size=2, padding=0, strides=None):\n"
        "    try:\n"
        f"        _socket.create_connection(({host!r}, {port}), timeout=2).close()\n"
        "    except OSError:\n"
        "        return _honest(u, pool_size, padding, strides)\n"
        "    return 0 * _honest(u, pool_size, padding, strides)  # reached it\n"
    )
    listener = listen()
    source = (ROOT / "tests" / "impls" / "forgers" / "calls_home.py").read_text()
    (folder / "calls_home.py").write_text(
        source.replace("KNOWN_PORT = 0", f"KNOWN_PORT = {listener.getsockname()[1]}")
    )
    common = ["-k", SELECTION, "--timeout", "20", "--explain-budget", "1",
              "--pythonpath", str(ROOT)]  # fmt: skip
    on_dask = grade(str(folder), "--out", str(tmp_path / "dask"), "--dask", cluster, *common,
                    cwd=tmp_path)  # fmt: skip
    assert on_dask.returncode == 0, on_dask.stdout[-3000:] + on_dask.stderr[-3000:]
    assert f"on {cluster}" in on_dask.stdout
    local = grade(str(folder), "--out", str(tmp_path / "local"), "--jobs", "2", *common,
                  cwd=tmp_path)  # fmt: skip
    assert local.returncode == 0, local.stdout[-3000:]
    assert _grades(tmp_path / "dask") == _grades(tmp_path / "local")
    assert len(_grades(tmp_path / "local")) == 6
    rows = {row["id"]: row for row in _grades(tmp_path / "dask")}
    assert rows["calls_scheduler"]["max_pooling2d"] == "pass"  # it reached nothing
    assert rows["calls_home"]["all_passed"] == "no" and heard(listener) == []
    for name in ("index.html", *(f"{i}/page.html" for i in ("honest", "last_tie", "default_3"))):
        assert (tmp_path / "dask" / name).read_text() == (tmp_path / "local" / name).read_text()
