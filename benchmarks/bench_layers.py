"""refcnn layers against torch.nn.functional, side by side in one run.

For each case, dtype and pass (forward + backward of a convolution followed
by 2x2 max pooling, through the public functions ``convolution2d``,
``max_pooling2d`` and their ``_back``s; and of each layer alone), runs refcnn
and torch on the same values in alternating rounds and prints the median
wall time of each and the median of the rounds' ratios refcnn/torch. torch
gets ordinary contiguous NCHW tensors (strides asserted), converted before
timing, and all cores; a last row per case shows torch's channels-last path,
labelled as such.

    python benchmarks/bench_layers.py [--rounds 5] [--repeat 10] [--threads N]

Targets (issue 11): conv + pool forward and backward <= 1.0 x torch in
float64 and <= 2.0 x in float32, for both cases.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from _fair import environment, filters_oihw, nchw

import refcnn

CASES = {
    # name: (batch, h, w, c, filters, kernel, padding)
    "article MNIST layer": (100, 28, 28, 1, 6, 7, 0),
    "larger layer": (32, 32, 32, 16, 32, 3, 1),
}
TARGETS = {"float64": 1.0, "float32": 2.0}
MAIN = "conv+pool fwd+bwd"


def paired_ms(ours: Callable[[], object], theirs: Callable[[], object], rounds: int, repeat: int):
    """Median milliseconds of each, and the median ratio over ``rounds``
    rounds; a round runs refcnn ``repeat`` times, then torch ``repeat``
    times (each warm, as in a training loop), and compares their medians.
    The machine's speed drifts from minute to minute more than within a
    round."""
    for _ in range(3):
        ours(), theirs()
    mine, peer = [], []
    for _ in range(rounds):
        for fn, times in ((ours, mine), (theirs, peer)):
            block = []
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                block.append(time.perf_counter() - start)
            times.append(statistics.median(block))
    ratios = [a / b for a, b in zip(mine, peer, strict=True)]
    return 1000 * statistics.median(mine), 1000 * statistics.median(peer), statistics.median(ratios)


def make_case(case: tuple, dtype: str, seed: int = 0) -> dict[str, np.ndarray]:
    n, h, w, c, fn, k, p = case
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, h, w, c)).astype(dtype)
    W = (rng.standard_normal((fn, k, k, c)) * np.sqrt(2 / (k * k * c))).astype(dtype)
    b = rng.standard_normal(fn).astype(dtype)
    zh = h + 2 * p - k + 1
    dp = rng.standard_normal((n, zh // 2, zh // 2, fn)).astype(dtype)
    dz = rng.standard_normal((n, zh, zh, fn)).astype(dtype)
    return {"u": u, "W": W, "b": b, "dp": dp, "dz": dz, "padding": p}


def refcnn_passes(x: dict) -> dict[str, Callable[[], object]]:
    u, W, b, dp, dz, p = x["u"], x["W"], x["b"], x["dp"], x["dz"], x["padding"]
    z = refcnn.convolution2d(u, W, b, p)

    def conv_pool() -> object:
        z = refcnn.convolution2d(u, W, b, p)
        y = refcnn.max_pooling2d(z)
        dzz = refcnn.max_pooling2d_back(dp, z, y)
        return refcnn.convolution2d_back(dzz, u, W, b, p)

    def conv() -> object:
        refcnn.convolution2d(u, W, b, p)
        return refcnn.convolution2d_back(dz, u, W, b, p)

    def pool() -> object:
        return refcnn.max_pooling2d_back(dp, z, refcnn.max_pooling2d(z))

    return {MAIN: conv_pool, "conv fwd+bwd": conv, "maxpool fwd+bwd": pool}


def torch_passes(x: dict, channels_last: bool = False) -> dict[str, Callable[[], object]]:
    import torch
    import torch.nn.functional as F

    p = x["padding"]
    u = nchw(x["u"])
    if channels_last:
        u = u.contiguous(memory_format=torch.channels_last)
    u.requires_grad_()
    W = filters_oihw(x["W"]).requires_grad_()
    b = torch.from_numpy(x["b"].copy()).requires_grad_()
    dp, dz = nchw(x["dp"]), nchw(x["dz"])
    z0 = F.conv2d(u, W, b, padding=p).detach().contiguous().requires_grad_()

    def conv_pool() -> object:
        y = F.max_pool2d(F.conv2d(u, W, b, padding=p), 2)
        return torch.autograd.grad(y, (u, W, b), dp)

    def conv() -> object:
        z = F.conv2d(u, W, b, padding=p)
        return torch.autograd.grad(z, (u, W, b), dz)

    def pool() -> object:
        return torch.autograd.grad(F.max_pool2d(z0, 2), (z0,), dp)

    return {MAIN: conv_pool, "conv fwd+bwd": conv, "maxpool fwd+bwd": pool}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per cell (median)")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per library and round")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    print(environment(args.threads))
    print(
        f"refcnn threads: {refcnn.num_threads()}; {args.rounds} rounds of {args.repeat} refcnn "
        f"runs then {args.repeat} torch runs; medians"
    )
    header = f"{'case':<22}{'dtype':<9}{'pass':<40}{'refcnn ms':>11}{'torch ms':>10}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    summary = []
    for name, case in CASES.items():
        for dtype in ("float64", "float32"):
            x = make_case(case, dtype)
            ours, theirs = refcnn_passes(x), torch_passes(x)
            rows = [(label, ours[label], theirs[label]) for label in ours]
            rows.append((f"{MAIN} (torch channels-last)", ours[MAIN], torch_passes(x, True)[MAIN]))
            for label, ours_fn, theirs_fn in rows:
                r, t, ratio = paired_ms(ours_fn, theirs_fn, args.rounds, args.repeat)
                print(f"{name:<22}{dtype:<9}{label:<40}{r:>11.2f}{t:>10.2f}{ratio:>8.2f}")
                if label == MAIN:
                    summary.append((name, dtype, ratio))
    print("\ntargets, conv + pool forward and backward (refcnn / torch, ordinary NCHW):")
    for name, dtype, ratio in summary:
        verdict = "met" if ratio <= TARGETS[dtype] else "NOT met"
        print(f"  {name:<22}{dtype:<9}{ratio:6.2f}  (target <= {TARGETS[dtype]:.1f}: {verdict})")


if __name__ == "__main__":
    main()
