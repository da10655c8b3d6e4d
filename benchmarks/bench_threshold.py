"""Where splitting a batch across threads starts to pay: the article's
training step (forward and backward of its network), and the MNIST
convolution and pooling layers alone, timed with 1 and with N threads at
growing batch sizes, side by side in one run.

    python benchmarks/bench_threshold.py [--threads 2] [--repeat 40]

Prints, per batch size, the fastest of ``--repeat`` runs (the machine's other
work only ever adds time) with 1 thread and with N, their ratio, and the work
estimate refcnn compares with the threshold of that kind of pass
(``refcnn.layers.SPLIT_WORK``, ``refcnn.pool.SPLIT_WORK``,
``refcnn.convolution.SPLIT_WORK`` for im2col convolutions). The thresholds are
set from these numbers: about the work of the smallest batch that N threads
run clearly faster. The N-thread runs force the split (``REFCNN_SPLIT_ALWAYS``)
whatever the threshold.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
from _fair import environment

import refcnn
from refcnn import _parallel, model
from refcnn.layers import Context, plan

BATCHES = (2, 4, 10, 25, 50, 100, 200, 500)


def fastest_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return 1000 * best


def step_runner(net: refcnn.Model, x: np.ndarray, t: np.ndarray) -> Callable[[], object]:
    ctx = Context(True, net.rng, net.dtype)

    def run() -> None:
        steps = plan(net.layers)
        caches, u = [], x
        for step in steps:
            u, cache = step.forward(u, ctx)
            caches.append(cache)
        dz = (u - t) / len(t)
        for position in range(len(steps) - 1, -1, -1):
            dz, _ = steps[position].backward(dz, caches[position], position > 0)

    return run


def cases(n: int, dtype: str):
    """(name, work estimate, function) per measured pass at batch ``n``."""
    rng = np.random.default_rng(0)
    net = model.article_model(seed=0, dtype=dtype)
    x = rng.random((n, 28, 28, 1)).astype(dtype)
    t = np.eye(10, dtype=dtype)[rng.integers(0, 10, n)]
    cost = sum(layer.kind.cost(layer) for layer in net.layers)
    scale = np.dtype(dtype).itemsize / 8  # work is counted in float64 equivalents
    yield "training step (whole net)", int(n * cost * scale), step_runner(net, x, t)
    W, b = net.layers[0].params["W"], net.layers[0].params["b"]
    z = refcnn.convolution2d(x, W, b)
    yield (
        "convolution2d fwd+bwd",
        n * 22 * 22 * 49 * 7,
        lambda: refcnn.convolution2d_back(z, x, W, b, calc_du_flag=False),
    )
    p = refcnn.max_pooling2d(z)
    yield (
        "max_pooling2d fwd+bwd",
        n * 11 * 11 * 6 * 4 * 3,
        lambda: refcnn.max_pooling2d_back(p, z, refcnn.max_pooling2d(z)),
    )
    if n <= 50:  # the larger layer (im2col): 16 channels, 32 filters 3x3, padding 1
        u = rng.standard_normal((n, 32, 32, 16)).astype(dtype)
        W2 = rng.standard_normal((32, 3, 3, 16)).astype(dtype)
        b2 = np.zeros(32, dtype)
        z2 = refcnn.convolution2d(u, W2, b2, 1)
        yield (
            "larger conv fwd+bwd (im2col)",
            int(n * 32 * 32 * 144 * 33 * scale),
            lambda: refcnn.convolution2d_back(z2, u, W2, b2, 1),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    print(environment(1))
    print(f"fastest of {args.repeat} runs, ms")
    for dtype in ("float64", "float32"):
        print(f"\n{dtype}")
        many = f"{args.threads} threads"
        print(f"{'pass':<30}{'batch':>6}{'work':>14}{'1 thread':>10}{many:>11}{'ratio':>7}")
        for n in BATCHES:
            for name, work, fn in cases(n, dtype):
                timings = []
                for threads in (1, args.threads):
                    refcnn.set_num_threads(threads)
                    os.environ[_parallel.SPLIT_ALWAYS_VAR] = "1" if threads > 1 else "0"
                    timings.append(fastest_ms(fn, args.repeat))
                os.environ.pop(_parallel.SPLIT_ALWAYS_VAR)
                one, many = timings
                print(f"{name:<30}{n:>6}{work:>14,}{one:>10.2f}{many:>11.2f}{many / one:>7.2f}")
    refcnn.set_num_threads(None)


if __name__ == "__main__":
    main()
