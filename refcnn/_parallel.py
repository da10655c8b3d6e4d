"""A small persistent pool of threads for the layers' heavy passes.

The batch is split into contiguous shards, one per thread; the caller's
thread works on the first shard while the pool's threads take the others.
NumPy releases the GIL in its copies, ufuncs and matrix products, so the
shards run in parallel without leaving NumPy. While the pool is busy, BLAS is
held to one thread (``threadpoolctl``), so that the shards do not fight over
the cores, and given back its own count afterwards. Results come back in
shard order and callers reduce them in that order: for a given number of
threads, every run computes the same bits.

The number of threads: ``set_num_threads(n)``, else the environment variable
``REFCNN_NUM_THREADS``, else the cores this process may use. With 1 thread
nothing here runs: the layers take their single-threaded path, and BLAS keeps
its own threads. Small work is not split either: waking a thread costs 60 to
80 microseconds here, and threads running many short NumPy calls wait for
each other's GIL. Each caller estimates the work of its pass (multiply-adds,
copies, comparisons) and gives the threshold from which a split pays, as
measured by benchmarks/bench_threshold.py (see docs/performance.md): on a
2-core machine, a training step of the article's network from a batch of
about 80 in float64 (160 in float32), pooling of the MNIST layer's output from
about 170.
``REFCNN_SPLIT_ALWAYS=1`` splits whatever the work (for tests of the split
paths on small inputs).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

ENV_VAR = "REFCNN_NUM_THREADS"
SPLIT_ALWAYS_VAR = "REFCNN_SPLIT_ALWAYS"
T = TypeVar("T")

_lock = threading.Lock()  # one parallel region at a time (BLAS limits are global)
_inside = threading.local()  # set in the threads of a running region: no nesting
_state: dict[str, Any] = {"threads": None, "pool": None, "blas": None}


def _after_fork_in_child() -> None:
    """A forked child has none of its parent's threads (multiprocessing, the
    conformance suite's sandbox): the copied pool would wait for them for
    ever. Start afresh; a new pool is made when needed."""
    global _lock
    _lock = threading.Lock()
    _state["pool"] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """``REFCNN_NUM_THREADS`` if set, else the cores this process may use."""
    value = os.environ.get(ENV_VAR)
    if value is None or value.strip() == "":
        return _cores()
    try:
        threads = int(value)
    except ValueError:
        raise ValueError(f"{ENV_VAR} must be an int >= 1, got {value!r}") from None
    if threads < 1:
        raise ValueError(f"{ENV_VAR} must be an int >= 1, got {value!r}")
    return threads


def num_threads() -> int:
    """The number of threads refcnn's layers use (1: single-threaded)."""
    if _state["threads"] is None:
        _state["threads"] = default_threads()
    return _state["threads"]


def set_num_threads(threads: int | None) -> None:
    """Use ``threads`` threads from now on (``None``: back to the default,
    ``REFCNN_NUM_THREADS`` or the cores)."""
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(f"threads must be an int >= 1 or None, got {threads!r}")
    with _lock:
        pool = _state["pool"]
        if pool is not None:
            pool.shutdown(wait=True)
        _state["threads"] = default_threads() if threads is None else threads
        _state["pool"] = None


@contextmanager
def threads(count: int | None):
    """``with threads(n):`` run the block with ``n`` threads, then go back."""
    before = num_threads()
    set_num_threads(count)
    try:
        yield
    finally:
        set_num_threads(before)


def shards(n: int, work: float, min_work: float) -> list[slice]:
    """Contiguous slices of ``range(n)``, one per thread, or a single slice
    when there is one thread, ``work`` below ``min_work`` (the caller's
    measured threshold, in its units), fewer items than threads, or when
    called from a shard (no nesting). Shard sizes differ by one at most."""
    count = min(num_threads(), n)
    if count <= 1 or getattr(_inside, "active", False):
        return [slice(0, n)]
    if work < min_work and os.environ.get(SPLIT_ALWAYS_VAR) != "1":
        return [slice(0, n)]
    bounds = [n * i // count for i in range(count + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(count)]


def _pool() -> ThreadPoolExecutor:
    if _state["pool"] is None:
        _state["pool"] = ThreadPoolExecutor(
            max_workers=num_threads() - 1, thread_name_prefix="refcnn"
        )
    return _state["pool"]


def _blas():
    if _state["blas"] is None:
        import threadpoolctl

        _state["blas"] = threadpoolctl.ThreadpoolController().select(user_api="blas")
    return _state["blas"]


def _in_shard(fn: Callable[[int], T], index: int) -> T:
    _inside.active = True
    try:
        return fn(index)
    finally:
        _inside.active = False


def run(fn: Callable[[int], T], count: int) -> list[T]:
    """``[fn(0), ..., fn(count - 1)]``, the calls in parallel (BLAS held to
    one thread meanwhile), the results in order. ``fn(0)`` runs in the
    caller's thread."""
    if count == 1:
        return [fn(0)]
    with _lock, _blas().limit(limits=1):
        futures = [_pool().submit(_in_shard, fn, index) for index in range(1, count)]
        try:
            first = _in_shard(fn, 0)
        finally:
            wait(futures)  # every shard ends before the lock is released
        return [first, *(future.result() for future in futures)]
