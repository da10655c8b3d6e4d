"""Training time per epoch: refcnn against the same network in torch (CPU),
side by side in one run, float64 and float32.

The article's network (conv 6@7x7 -> relu -> 2x2 max pool -> flatten ->
affine 100 -> relu -> affine 50 -> relu -> affine 10 -> softmax + cross
entropy), batch 100, plain SGD (eta 0.1), the same initial weights and the
same batch order for both; torch uses ``torch.set_num_threads(cores)``.
Only the training pass is timed (no evaluation). torch gets the images as an
ordinary contiguous NCHW tensor (strides asserted: see ``_fair.nchw``), each
batch gathered from it as the training loop of a torch user would, and all
cores.

    python benchmarks/bench_training.py --data-dir ../shared/data/mnist [--epochs 1]
    python benchmarks/bench_training.py --limit 10000      # a quicker, partial epoch

Targets (issue 11): refcnn float64 <= 0.5 x torch float64; refcnn float32 <=
1.0 x torch float32. Prints the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from _fair import environment, nchw

import refcnn
from refcnn import data
from refcnn import model as refcnn_model
from refcnn.conformance.expected import torch_reference


def time_refcnn(
    model: refcnn.Model, x: np.ndarray, t: np.ndarray, order: np.ndarray, batch: int
) -> float:
    optimizer = refcnn.create_optimizer(refcnn.SGD, eta=0.1)
    targets = refcnn.one_hot(t, 10).astype(model.dtype)
    start = time.perf_counter()
    refcnn_model.train_epoch(model, x, targets, optimizer, batch, order)
    return time.perf_counter() - start


def time_torch(
    net, x: np.ndarray, t: np.ndarray, order: np.ndarray, batch: int, dtype: str
) -> float:
    import torch

    xt = nchw(x.astype(dtype))
    tt = torch.from_numpy(t)
    index_t = torch.from_numpy(order)
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    start = time.perf_counter()
    for i in range(0, len(order), batch):
        index = index_t[i : i + batch]
        sgd.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(xt[index]), tt[index])
        loss.backward()
        sgd.step()
    return time.perf_counter() - start


TARGETS = {"float64": 0.5, "float32": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("REFCNN_DATA_DIR"))
    parser.add_argument(
        "--epochs",
        type=int,
        default=5,
        help="epochs timed per library and dtype, alternating refcnn and torch (median)",
    )
    parser.add_argument("--limit", type=int, default=None, help="use the first N images")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    (x, t), _ = data.load_mnist(args.data_dir)
    if args.limit:
        x, t = x[: args.limit], t[: args.limit]
    print(environment(args.threads))
    print(
        f"refcnn threads: {refcnn.num_threads()}; {len(x)} images per epoch, batch 100; "
        f"{args.epochs} epochs each, refcnn and torch alternating, the same batch order; "
        "median seconds per epoch, median of the ratios of each refcnn epoch to the torch "
        "epoch after it"
    )
    print(
        f"{'dtype':<9}{'refcnn s/epoch':>16}{'torch s/epoch':>15}{'ratio':>8}"
        f"{'ratio per pair (min-max)':>27}   target"
    )
    for dtype in ("float64", "float32"):
        model = refcnn_model.article_model(seed=10, dtype=dtype)
        net = torch_reference.article_network(model)
        rng = np.random.default_rng(0)
        ours, theirs = [], []
        for _ in range(args.epochs):
            order = rng.permutation(len(x))
            ours.append(time_refcnn(model, x, t, order, 100))
            theirs.append(time_torch(net, x, t, order, 100, dtype))
        mine, peer = statistics.median(ours), statistics.median(theirs)
        # Each refcnn epoch against the torch epoch run right after it: the
        # machine's speed drifts between runs, less within a pair.
        pairs = [a / b for a, b in zip(ours, theirs, strict=True)]
        ratio = statistics.median(pairs)
        target = TARGETS[dtype]
        verdict = "met" if ratio <= target else "NOT met"
        print(
            f"{dtype:<9}{mine:>16.2f}{peer:>15.2f}{ratio:>8.2f}"
            f"{f'{min(pairs):.2f}-{max(pairs):.2f}':>27}   <= {target:.1f}: {verdict}"
        )


if __name__ == "__main__":
    main()
