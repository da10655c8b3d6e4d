"""What the trust boundary costs: the median time of one call through the
worker (conformance.judging.boundary) against the same function called in this
process, side by side, on the inputs the suite draws (small) and a larger
one; then the default run's calls, and the boundary's share of the run
(its calls times the median cost of one, over the run's wall time).

    python benchmarks/boundary.py [--repeat 400] [--run-keyword "flatten2d or max_pooling2d"]

Prints threadpoolctl's view of the BLAS threads with the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import threadpoolctl

import refcnn
from refcnn.conformance.judging import boundary as bd

ROOT = Path(__file__).resolve().parents[1]


def _median_us(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def per_call(repeat: int) -> dict[str, tuple[float, float]]:
    """(in-process µs, through the worker µs) per case, medians."""
    rng = np.random.default_rng(0)
    cases = {
        "flatten2d (2, 3, 4, 5)": ("flatten2d", (rng.standard_normal((2, 3, 4, 5)),), {}),
        "max_pooling2d (4, 8, 8, 3)": ("max_pooling2d", (rng.standard_normal((4, 8, 8, 3)),), {}),
        "max_pooling2d (64, 28, 28, 8)": (
            "max_pooling2d", (rng.standard_normal((64, 28, 28, 8)),), {},
        ),
    }  # fmt: skip
    boundary = bd.Boundary("refcnn", [name for name, _, _ in cases.values()])
    boundary.start()
    found = {}
    try:
        for label, (name, args, kwargs) in cases.items():
            function = getattr(refcnn, name)
            boundary.call(name, args, kwargs)  # warm
            local = _median_us(lambda f=function, a=args, k=kwargs: f(*a, **k), repeat)
            remote = _median_us(lambda n=name, a=args, k=kwargs: boundary.call(n, a, k), repeat)
            found[label] = (local, remote)
        print(f"sandbox: {boundary.loaded.sandbox}")
    finally:
        boundary.close()
    return found


def run_share(keyword: str, overhead_us: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        stats = Path(folder) / "stats"
        env = {**os.environ, bd.STATS_VAR: str(stats), "PYTHONPATH": str(ROOT)}
        start = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "refcnn.conformance", "--impl", "refcnn", "-n", "0",
             "-k", keyword, "--conformance-report", str(Path(folder) / "v.json"),
             "--conformance-failures", str(Path(folder) / "f.txt")],
            cwd=folder, env=env, capture_output=True, check=False,
        )  # fmt: skip
        wall = time.monotonic() - start
        calls = sum(int(line.split()[0]) for line in stats.read_text().splitlines())
    share = calls * overhead_us / 1e6 / wall
    print(
        f"default run -k {keyword!r} (-n 0): {wall:.1f} s, {calls} calls through the worker; "
        f"{calls} x {overhead_us:.0f} us = {calls * overhead_us / 1e6:.2f} s, "
        f"{100 * share:.1f}% of the run"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=400)
    parser.add_argument("--run-keyword", default="flatten2d or max_pooling2d")
    args = parser.parse_args()
    print(threadpoolctl.threadpool_info())
    found = per_call(args.repeat)
    print(f"{'call':32} {'in-process us':>14} {'worker us':>10} {'cost us':>8} {'ratio':>6}")
    for label, (local, remote) in found.items():
        print(
            f"{label:32} {local:14.1f} {remote:10.1f} {remote - local:8.1f} {remote / local:6.1f}"
        )
    small = found["max_pooling2d (4, 8, 8, 3)"]
    run_share(args.run_keyword, small[1] - small[0])


if __name__ == "__main__":
    main()
