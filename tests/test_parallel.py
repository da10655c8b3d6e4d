"""Splitting batches across threads: the thread count and its validation,
the shards, the same numbers (to rounding) as one thread, the same bits run
after run for a given thread count, and ``refcnn train --threads``:
bit-identical logs and checkpoints, and resumes, for a given seed and count.

``REFCNN_SPLIT_ALWAYS=1`` makes refcnn split the small inputs of these tests,
which its thresholds would otherwise keep on one thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import refcnn
from refcnn import _parallel
from refcnn import convolution as conv_module
from tests.test_cli import log_rows, same_run
from tests.test_cli import refcnn as run_refcnn

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def split_always(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(_parallel.SPLIT_ALWAYS_VAR, "1")
    yield
    refcnn.set_num_threads(None)


def test_thread_count_from_the_environment_and_validation(monkeypatch) -> None:
    monkeypatch.setenv(_parallel.ENV_VAR, "3")
    assert _parallel.default_threads() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(_parallel.ENV_VAR, bad)
        with pytest.raises(ValueError, match="REFCNN_NUM_THREADS must be an int >= 1"):
            _parallel.default_threads()
    monkeypatch.delenv(_parallel.ENV_VAR)
    assert _parallel.default_threads() == len(os.sched_getaffinity(0))
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be an int >= 1 or None"):
            refcnn.set_num_threads(bad)
    before = refcnn.num_threads()
    with _parallel.threads(3):
        assert refcnn.num_threads() == 3
    assert refcnn.num_threads() == before


@pytest.mark.parametrize(("n", "threads"), [(10, 3), (2, 3), (7, 2), (1, 2)])
def test_shards_cover_the_batch_in_order(n: int, threads: int, split_always) -> None:
    refcnn.set_num_threads(threads)
    parts = _parallel.shards(n, work=1, min_work=10**9)
    assert len(parts) == min(n, threads)
    assert [i for part in parts for i in range(n)[part]] == list(range(n))
    sizes = [part.stop - part.start for part in parts]
    assert max(sizes) - min(sizes) <= 1


def test_small_work_stays_on_one_thread() -> None:
    with _parallel.threads(2):
        assert _parallel.shards(100, work=10, min_work=11) == [slice(0, 100)]
        assert len(_parallel.shards(100, work=11, min_work=11)) == 2


def test_errors_in_a_shard_reach_the_caller(split_always) -> None:
    def fails_in_the_second(index: int) -> int:
        if index == 1:
            raise ValueError("shard 1 failed")
        return index

    with _parallel.threads(2), pytest.raises(ValueError, match="shard 1 failed"):
        _parallel.run(fails_in_the_second, 2)
    with _parallel.threads(2):
        assert _parallel.run(lambda index: index * 10, 2) == [0, 10]  # the pool still works


def _layers(u, W, b, padding, strides):
    z = refcnn.convolution2d(u, W, b, padding, strides)
    dz = np.cos(np.arange(z.size)).reshape(z.shape)
    p = refcnn.max_pooling2d(u, 2, padding, strides)
    a = refcnn.average_pooling2d(u, 3, padding, 1)
    return [
        z,
        *refcnn.convolution2d_back(dz, u, W, b, padding, strides),
        p,
        refcnn.max_pooling2d_back(
            np.sin(np.arange(p.size)).reshape(p.shape), u, p, 2, padding, strides
        ),
        a,
        refcnn.average_pooling2d_back(np.ones(a.shape), u, a, 3, padding, 1),
    ]


@pytest.mark.parametrize("banded", [True, False], ids=["banded", "im2col"])
@pytest.mark.parametrize("channels", [1, 6])
def test_split_layers_match_one_thread_and_repeat_bit_for_bit(
    banded: bool, channels: int, split_always, monkeypatch
) -> None:
    monkeypatch.setattr(conv_module, "banded", lambda *args: banded)
    rng = np.random.default_rng(4)
    u = rng.integers(-3, 4, (7, 9, 8, channels)).astype(float)  # ties for max pooling
    W, b = rng.standard_normal((5, 3, 2, channels)), rng.standard_normal(5)
    refcnn.set_num_threads(1)
    alone = _layers(u, W, b, (1, 0), (2, 1))
    for threads in (2, 3):
        refcnn.set_num_threads(threads)
        split = _layers(u, W, b, (1, 0), (2, 1))
        again = _layers(u, W, b, (1, 0), (2, 1))
        for one, many, repeat in zip(alone, split, again, strict=True):
            np.testing.assert_allclose(many, one, rtol=1e-12, atol=1e-12)
            assert np.array_equal(many, repeat)


def _article_gradients(threads: int) -> tuple[float, dict]:
    refcnn.set_num_threads(threads)
    net = refcnn.article_model(seed=5)
    rng = np.random.default_rng(6)
    return refcnn.gradients(net, rng.random((9, 28, 28, 1)), rng.integers(0, 10, 9))


def test_split_training_step_matches_one_thread(split_always) -> None:
    loss, grads = _article_gradients(1)
    for threads in (2, 4):
        split_loss, split_grads = _article_gradients(threads)
        assert split_loss == pytest.approx(loss, rel=1e-12)
        for layer, by_name in grads.items():
            for name, grad in by_name.items():
                np.testing.assert_allclose(split_grads[layer][name], grad, rtol=1e-10, atol=1e-12)
        again = _article_gradients(threads)[1]
        for layer, by_name in split_grads.items():
            for name, grad in by_name.items():
                assert np.array_equal(again[layer][name], grad), (threads, layer, name)


def test_conformance_suite_passes_with_every_pass_split(tmp_path: Path) -> None:
    """The suite's inputs are small: forced to split, refcnn still conforms."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "refcnn.conformance",
            "-n",
            "0",
            "-k",
            "convolution2d or pooling2d or flatten2d or convpscfu",
            "--conformance-failures",
            str(tmp_path / "failures.txt"),
        ],
        cwd=ROOT,
        env={**os.environ, _parallel.SPLIT_ALWAYS_VAR: "1", _parallel.ENV_VAR: "3"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:]


ARGS = ("train", "--batch-size", "150", "--seed", "2", "--no-progress")


@pytest.mark.parametrize("threads", ["1", "2"])
def test_same_seed_and_threads_give_identical_runs(threads: str, tmp_path: Path) -> None:
    for out in ("a", "b"):
        result = run_refcnn(
            *ARGS, "--epochs", "2", "--threads", threads, "--out", out, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
    same_run(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "a/checkpoint.npz").read_bytes() != b""


def test_resume_keeps_the_runs_thread_count(tmp_path: Path) -> None:
    whole = run_refcnn(*ARGS, "--epochs", "2", "--threads", "2", "--out", "a", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    first = run_refcnn(*ARGS, "--epochs", "1", "--threads", "2", "--out", "b", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    resumed = run_refcnn("train", "--resume", "--epochs", "2", "--out", "b", cwd=tmp_path)
    assert resumed.returncode == 0 and "threads=2" in resumed.stderr, resumed.stderr
    same_run(tmp_path / "a", tmp_path / "b")
    assert [r["epoch"] for r in log_rows(tmp_path / "b")] == ["0", "1", "2"]
    other = run_refcnn("train", "--resume", "--epochs", "3", "--threads", "1", "--out", "b",
                       cwd=tmp_path)  # fmt: skip
    assert other.returncode == 0 and "will not be bit-identical" in other.stderr


def test_a_forked_child_gets_a_pool_of_its_own() -> None:
    """After the pool has run, a forked child (multiprocessing, the suite's
    sandbox) must not wait for the parent's threads."""
    script = """
import os, sys
import numpy as np
from refcnn import _parallel
_parallel.set_num_threads(2)
assert _parallel.run(lambda i: i, 2) == [0, 1]  # the parent's pool now has a thread
pid = os.fork()
if pid == 0:
    os._exit(0 if _parallel.run(lambda i: i * 10, 2) == [0, 10] else 1)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    result = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True)
    assert result.returncode == 0, result.stderr
