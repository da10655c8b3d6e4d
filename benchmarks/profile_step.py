"""Where the time of one training step of the article's network goes: per
layer, forward and backward, then the loss and the optimizer update; median
over the batches of a partial epoch, at each thread count given.

    python benchmarks/profile_step.py --data-dir ../shared/data/mnist [--threads 1 2]

Each layer's forward and backward is timed where it runs; when the batch is
split across threads, the shards run at once and the table shows the slowest
shard (the time the step waits for); "other" is the step's wall time less its
parts: the Python between the layers and, with threads, what the split
costs (waking the threads, waiting for the slower shard, joining). The fused
relu + max pooling step of the trainer is timed as one (under the pooling
layer).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import threading
import time
from collections import defaultdict

import numpy as np
from _fair import environment

import refcnn
from refcnn import data, losses
from refcnn import model as refcnn_model
from refcnn.layers import Context, plan


def instrument(model: refcnn.Model, times: dict) -> None:
    """Wrap each layer's forward and backward with a timer that records, per
    thread, the milliseconds spent in it during the current step."""

    def timed(label: str, fn):
        def wrapper(*args):
            start = time.perf_counter()
            result = fn(*args)
            key = (label, threading.get_ident())
            times[key] = times.get(key, 0.0) + 1000 * (time.perf_counter() - start)
            return result

        return wrapper

    for layer in model.layers:
        layer.kind = dataclasses.replace(
            layer.kind,
            forward=timed(f"{layer.name} forward", layer.kind.forward),
            backward=timed(f"{layer.name} backward", layer.kind.backward),
        )


def profile(dtype: str, x: np.ndarray, t: np.ndarray, batches: int) -> dict[str, float]:
    """Median milliseconds per part of a training step (SGD, batch 100)."""
    model = refcnn_model.article_model(seed=10, dtype=dtype)
    optimizer = refcnn.create_optimizer(refcnn.SGD, eta=0.1)
    ctx = Context(True, model.rng, model.dtype)
    targets = refcnn.one_hot(t, 10).astype(dtype)
    current: dict = {}
    instrument(model, current)
    rows: dict[str, list[float]] = defaultdict(list)
    for i in range(batches):
        xb, tb = x[i * 100 : (i + 1) * 100].astype(dtype), targets[i * 100 : (i + 1) * 100]
        current.clear()
        start = time.perf_counter()
        steps = plan(model.layers)
        caches, u = [], xb
        for step in steps:
            u, cache = step.forward(u, ctx)
            caches.append(cache)
        mark = time.perf_counter()
        dz = (np.exp(losses.log_softmax(u)) - tb) / len(tb)
        loss = time.perf_counter() - mark
        grads = {}
        for position in range(len(steps) - 1, -1, -1):
            dz, step_grads = steps[position].backward(dz, caches[position], position > 0)
            grads.update(step_grads)
        mark = time.perf_counter()
        for layer in model.layers:
            for name, grad in grads[layer.name].items():
                layer.params[name], _ = optimizer["func"](
                    layer.params[name], grad, **optimizer["params"]
                )
        update = time.perf_counter() - mark
        whole = 1000 * (time.perf_counter() - start)
        slowest: dict[str, float] = {}
        for (label, _), ms in current.items():
            slowest[label] = max(slowest.get(label, 0.0), ms)
        for label, ms in slowest.items():
            rows[label].append(ms)
        rows["loss"].append(1000 * loss)
        rows["SGD update"].append(1000 * update)
        parts = sum(slowest.values()) + 1000 * (loss + update)
        rows["other (between layers, split, join)"].append(max(0.0, whole - parts))
        rows["whole step"].append(whole)
    order = [f"{layer.name} forward" for layer in model.layers]
    order += [f"{layer.name} backward" for layer in reversed(model.layers)]
    order += ["loss", "SGD update", "other (between layers, split, join)", "whole step"]
    return {label: statistics.median(rows[label][2:]) for label in order if label in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("REFCNN_DATA_DIR"))
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count()])
    parser.add_argument("--json", default=None, help="also write the medians to this JSON file")
    args = parser.parse_args()
    (x, t), _ = data.load_mnist(args.data_dir) if args.data_dir else data.load_embedded_mnist()
    print(environment(1))
    print(f"median of {args.batches - 2} batches of 100 (SGD); milliseconds")
    everything = {}
    for dtype in ("float64", "float32"):
        results = {}
        for threads in args.threads:
            if hasattr(refcnn, "set_num_threads"):  # refcnn before its thread pool had none
                refcnn.set_num_threads(threads)
            results[threads] = profile(dtype, x, t, args.batches)
        everything[dtype] = results
        labels = list(results[args.threads[0]])
        print(f"\n{dtype:<38}" + "".join(f"{f'{n} thread(s)':>14}" for n in args.threads))
        for label in labels:
            cells = "".join(f"{results[n].get(label, 0):>14.2f}" for n in args.threads)
            print(f"{label:<38}{cells}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(everything, file, indent=1)


if __name__ == "__main__":
    main()
