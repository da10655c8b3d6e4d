"""`refcnn` on the embedded MNIST subset: outputs, resume after a kill,
Ctrl-C, evaluate, summary. Runs the real command in subprocesses."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from refcnn import checkpoint, cli, model
from refcnn.conformance.expected import article as fx

ROOT = Path(__file__).resolve().parent.parent


def refcnn(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "refcnn", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "REFCNN_DATA_DIR": ""},
    )


def start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "refcnn", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "REFCNN_DATA_DIR": ""},
    )


def log_rows(out: Path) -> list[dict]:
    with open(out / "log.csv", newline="") as file:
        return list(csv.DictReader(file))


def wait_for_epoch(out: Path, epoch: int, process: subprocess.Popen, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if (out / "log.csv").exists() and len(log_rows(out)) > epoch:  # written after the
            return  # checkpoint of that epoch
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no epoch {epoch} in {out} after {limit} s")


def load(out: Path):
    return checkpoint.load_checkpoint(
        out / "checkpoint.npz", lambda s: model.article_model(s["seed"], s["dtype"])
    )


def same_run(a: Path, b: Path) -> None:
    model_a, _optimizer_a, info_a, _ = load(a)
    model_b, _optimizer_b, info_b, _ = load(b)
    for la, lb in zip(model_a.layers, model_b.layers, strict=True):
        for name in la.params:
            assert np.array_equal(la.params[name], lb.params[name]), (la.name, name)
    assert model_a.rng.bit_generator.state == model_b.rng.bit_generator.state
    info_a.pop("seconds"), info_b.pop("seconds")
    assert info_a == info_b
    rows = [{k: v for k, v in r.items() if k != "seconds"} for r in log_rows(a)]
    assert rows == [{k: v for k, v in r.items() if k != "seconds"} for r in log_rows(b)]


def test_summary_prints_the_articles_table(tmp_path: Path) -> None:
    result = refcnn("summary", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.splitlines() == fx.layer_table()["printed"]


def test_train_with_no_data_uses_the_embedded_subset(tmp_path: Path) -> None:
    result = refcnn("train", "--epochs", "2", "--out", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "run"
    assert "the MNIST subset shipped with refcnn: 6000 training, 1000 test" in result.stderr
    assert "epoch 2/2 [##############################] 60/60" in result.stderr  # progress
    lines = result.stdout.splitlines()
    assert lines[0] == "input - 0 (28, 28, 1)" and lines[-1].startswith("elapsed time = ")
    rows = log_rows(out)
    assert list(rows[0]) == ["epoch", "train_acc", "train_loss", "test_acc", "test_loss", "seconds"]
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert float(rows[2]["test_acc"]) > 0.8  # real digits: two epochs learn something
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "curves.png", "log.csv"]
    evaluated = refcnn("evaluate", str(out / "checkpoint.npz"), cwd=tmp_path)
    assert evaluated.returncode == 0
    assert f"test accuracy {float(rows[2]['test_acc']):.4f}" in evaluated.stdout
    again = refcnn("train", "--epochs", "2", "--out", "run", cwd=tmp_path)
    assert again.returncode != 0 and "use --resume" in again.stderr


def test_resume_after_a_kill_ends_identical(tmp_path: Path) -> None:
    args = ("train", "--epochs", "4", "--seed", "3", "--batch-size", "200", "--no-progress")
    uninterrupted = refcnn(*args, "--out", "a", cwd=tmp_path)
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    process = start(*args, "--out", "b", cwd=tmp_path)
    wait_for_epoch(tmp_path / "b", 1, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = load(tmp_path / "b")[2]["epoch"][-1]
    assert 1 <= killed_at < 4
    resumed = refcnn("train", "--epochs", "4", "--out", "b", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming b/checkpoint.npz after epoch {killed_at}" in resumed.stderr
    same_run(tmp_path / "a", tmp_path / "b")


def test_ctrl_c_stops_cleanly_and_the_run_resumes(tmp_path: Path) -> None:
    process = start("train", "--epochs", "50", "--out", "run", "--no-progress", cwd=tmp_path)
    wait_for_epoch(tmp_path / "run", 1, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 130, stderr[-3000:]
    assert "interrupted" in stderr and "--resume --epochs 50" in stderr
    done = int(log_rows(tmp_path / "run")[-1]["epoch"])
    _, _, info, _ = load(tmp_path / "run")
    assert info["epoch"][-1] == done  # written after the epoch, so the two agree
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".")]
    resumed = refcnn("train", "--epochs", str(done + 1), "--out", "run", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0 and int(log_rows(tmp_path / "run")[-1]["epoch"]) == done + 1


def test_resume_without_a_checkpoint_and_bad_options(tmp_path: Path) -> None:
    result = refcnn("train", "--resume", "--out", "nothing", cwd=tmp_path)
    assert result.returncode != 0 and "no nothing/checkpoint.npz" in result.stderr
    result = refcnn("train", "--optimizer", "AdaDelta", "--lr", "0.1", cwd=tmp_path)
    assert result.returncode != 0 and "--lr does not apply to AdaDelta" in result.stderr
    result = refcnn(
        "train",
        "--data-dir",
        str(tmp_path / "nowhere"),
        "--epochs",
        "1",
        cwd=tmp_path,
    )
    assert result.returncode != 0


@pytest.mark.parametrize("dtype", ["float32"])
def test_float32_training(tmp_path: Path, dtype: str) -> None:
    result = refcnn(
        "train",
        "--epochs",
        "1",
        "--dtype",
        dtype,
        "--optimizer",
        "Adam",
        "--out",
        "run",
        "--no-progress",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    trained, optimizer, _, settings = load(tmp_path / "run")
    assert settings["dtype"] == dtype and trained.layers[0].params["W"].dtype == np.float32
    assert optimizer["func"].__name__ == "Adam" and optimizer["stats"]["conv1"]["W"]["t"] == 60


def test_ctrl_c_is_not_lost_when_a_library_swallows_it() -> None:
    """A KeyboardInterrupt caught by a library (matplotlib's font code did,
    while the epoch's plot was drawn) is raised again at the next batch; one
    during the writing of an epoch's files waits until they are written."""
    from refcnn.cli import _Interrupt

    interrupt = _Interrupt()
    try:
        interrupt._handler(signal.SIGINT, None)
    except KeyboardInterrupt:
        pass  # swallowed
    with pytest.raises(KeyboardInterrupt):
        interrupt.check()
    interrupt = _Interrupt()
    written = []
    with pytest.raises(KeyboardInterrupt):
        with interrupt.deferred_while():
            interrupt._handler(signal.SIGINT, None)  # no raise inside
            written.append("checkpoint, log, plot")
    assert written == ["checkpoint, log, plot"]


# --- bad arguments and bad files: one line naming what is wrong, exit 2, nothing trained


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--lr", "-1"), "SGD: eta must be a finite number in (0, inf), got -1.0"),
        (("--lr", "nan"), "SGD: eta must be a finite number in (0, inf), got nan"),
        (("--lr", "inf"), "SGD: eta must be a finite number in (0, inf), got inf"),
        (("--optimizer", "Adam", "--lr", "0"), "Adam: alpha must be a finite number in (0, inf)"),
        (("--out", "a_file"), "--out a_file: is a file; give a folder"),
        (("--data-dir", "a_file"), "--data-dir a_file: is a file; give the folder"),
    ],
)
def test_train_rejects_bad_arguments_before_training(args, says, tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("not a folder\n")
    result = refcnn("train", "--epochs", "1", "--no-progress", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert says in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "epoch 1" not in result.stderr and not (tmp_path / "refcnn-run" / "log.csv").exists()


def test_out_that_cannot_be_written_is_said_before_training(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes anywhere but /proc and the like
        out = "/proc/refcnn-run"
    else:
        (tmp_path / "locked").mkdir(mode=0o500)
        out = str(tmp_path / "locked" / "run")
    result = refcnn("train", "--epochs", "1", "--no-progress", "--out", out, cwd=tmp_path)
    assert result.returncode == 2 and f"--out {out}: cannot write there" in result.stderr


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of zero epochs (RMSprop, lr 0.01): a checkpoint to resume and break."""
    folder = tmp_path_factory.mktemp("run")
    result = refcnn(
        "train", "--epochs", "0", "--optimizer", "RMSprop", "--lr", "0.01", "--no-progress",
        "--out", "run", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return folder


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("truncated", "a truncated or corrupted checkpoint (BadZipFile"),
        ("text", "not a refcnn checkpoint (not an .npz archive)"),
        ("zeroed", "a truncated or corrupted checkpoint"),
    ],
)
def test_damaged_checkpoint_is_one_line(damage: str, says: str, finished_run: Path) -> None:
    data = (finished_run / "run" / "checkpoint.npz").read_bytes()
    damaged = {
        "truncated": data[: len(data) // 3],
        "text": b"epoch,train_acc\n1,0.5\n",
        "zeroed": data[:64] + bytes(len(data) - 128) + data[-64:],
    }[damage]
    broken = finished_run / f"{damage}" / "checkpoint.npz"
    broken.parent.mkdir(exist_ok=True)
    broken.write_bytes(damaged)
    for args in (
        ("evaluate", str(broken)),
        ("train", "--out", damage, "--resume", "--epochs", "1"),
    ):
        result = refcnn(*args, cwd=finished_run)
        assert result.returncode == 2, (args, result.stderr[-2000:])
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0] and "checkpoint.npz" in lines[0], lines


def test_resume_names_each_conflicting_option(finished_run: Path) -> None:
    result = refcnn(
        "train", "--out", "run", "--resume", "--epochs", "1", "--optimizer", "Adam",
        "--seed", "3", "--lr", "0.01", "--batch-size", "50", cwd=finished_run,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    message = result.stderr
    assert "--optimizer Adam (the run's: RMSprop)" in message
    assert "--seed 3 (the run's: 10)" in message and "--batch-size 50 (the run's: 100)" in message
    assert "--lr" not in message.split("differ from them:")[1]  # the run's own lr: no conflict


@pytest.mark.parametrize("command", ["conformance", "grade", "regenerate-fixtures"])
def test_the_suites_subcommands_find_their_modules(command: str, capsys) -> None:
    """``refcnn conformance``, ``grade`` and ``regenerate-fixtures`` import
    the suite's modules only when asked: each finds its module (its --help)."""
    with pytest.raises(SystemExit) as ended:
        cli.main([command, "--help"])
    assert ended.value.code == 0
    assert command.split("-")[0] in capsys.readouterr().out


def test_the_trainer_speaks_the_language_asked_for(finished_run: Path) -> None:
    """--lang ja (or the locale): the trainer's --help, its lines and its
    errors in Japanese; LANG=C: English, as ever."""
    shown = refcnn("train", "--lang", "ja", "--help", cwd=finished_run)
    assert shown.returncode == 0 and "使い方: refcnn train" in shown.stdout
    assert "エポック数の合計（既定 30）" in shown.stdout, shown.stdout
    resumed = refcnn("train", "--lang", "ja", "--out", "run", "--resume", "--epochs", "0",
                     "--no-progress", cwd=finished_run)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "をエポック 0 の後から再開し" in resumed.stderr and "訓練画像" in resumed.stderr
    refused = refcnn("train", "--lang", "ja", "--out", "run", "--epochs", "1", cwd=finished_run)
    assert refused.returncode != 0 and "には以前の学習があります" in refused.stderr
    english = refcnn("train", "--lang", "en", "--out", "run", "--epochs", "1", cwd=finished_run)
    assert "already holds a run; use --resume" in english.stderr
