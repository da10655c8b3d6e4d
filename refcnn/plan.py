"""The execution plan of a model's passes: its layers (``refcnn.layers``)
grouped into steps, each run as one. A relu followed by max pooling runs as
pooling then relu (the same bits, on the smaller array), and runs of
per-example steps are split over shards of a large batch, on threads, their
weight gradients added in shard order (the same bits for a given number of
threads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _parallel
from . import activations as act
from .layers import Context, Layer


@dataclass(frozen=True)
class Step:
    """Consecutive layers run as one: ``forward(u, ctx) -> (z, cache)``,
    ``backward(dz, cache, calc_du) -> (du, {layer name: gradients})``."""

    layers: tuple[Layer, ...]
    forward: Callable[[np.ndarray, Context], tuple[np.ndarray, Any]]
    backward: Callable[[np.ndarray, Any, bool], tuple[np.ndarray | None, dict]]


def _single(layer: Layer) -> Step:
    def forward(u, ctx):
        return layer.kind.forward(u, layer, ctx)

    def backward(dz, cache, calc_du):
        du, grads = layer.kind.backward(dz, cache, layer, calc_du)
        return du, {layer.name: grads}

    return Step((layer,), forward, backward)


def _relu_then_max_pool(relu_layer: Layer, pool_layer: Layer) -> Step:
    """``max_pool(relu(u))`` as ``relu(max_pool(u))``: the same numbers, bit
    for bit (relu is monotonic and maps the padded zeros to themselves; in the
    backward both orders multiply the same routed values by the same 0/1
    masks), with relu on the pooled, 4x smaller array."""

    def forward(u, ctx):
        pooled, pool_cache = pool_layer.kind.forward(u, pool_layer, ctx)
        return act.relu(pooled), (pool_cache, pooled)

    def backward(dz, cache, calc_du):
        pool_cache, pooled = cache
        du, _ = pool_layer.kind.backward(act.relu_back(dz, pooled), pool_cache, pool_layer, calc_du)
        return du, {relu_layer.name: {}, pool_layer.name: {}}

    return Step((relu_layer, pool_layer), forward, backward)


# The summed LayerKind.cost of a batch (in float64: float32 counts half) from
# which splitting a run of steps pays (benchmarks/bench_threshold.py: the
# article's network, 2 threads, from a batch of about 80 in float64, 160 in
# float32).
SPLIT_WORK = 20_000_000


def _per_example(step: Step) -> bool:
    return all(layer.kind.per_example for layer in step.layers)


def _split(steps: list[Step]) -> Step:
    """Consecutive per-example steps run on shards of the batch in parallel:
    each shard goes forward through all of them, and backward, on its own
    thread (BLAS held to one thread each); the weight gradients of the
    shards are added in shard order, so a given number of threads always
    computes the same bits. One split per pass instead of one per layer: a
    thread costs about 70 microseconds to wake."""
    layers = tuple(layer for step in steps for layer in step.layers)
    cost = sum(layer.kind.cost(layer) for layer in layers)

    def forward(u, ctx):
        # float32 passes take about half the time of float64 ones
        work = u.shape[0] * cost * u.dtype.itemsize / 8
        parts = _parallel.shards(u.shape[0], work, SPLIT_WORK)
        if len(parts) == 1:  # not worth it (or one thread): step by step
            caches = []
            for step in steps:
                u, cache = step.forward(u, ctx)
                caches.append(cache)
            return u, (parts, [caches])

        def shard(index: int):
            x, caches, sub = u[parts[index]], [], ctx.shard(index)
            for step in steps:
                x, cache = step.forward(x, sub)
                caches.append(cache)
            return x, caches

        results = _parallel.run(shard, len(parts))
        return np.concatenate([x for x, _ in results]), (parts, [c for _, c in results])

    def backward(dz, cache, calc_du):
        parts, shard_caches = cache

        def shard(index: int):
            d, grads = dz[parts[index]], {}
            for position in range(len(steps) - 1, -1, -1):
                d, step_grads = steps[position].backward(
                    d, shard_caches[index][position], calc_du or position > 0
                )
                grads.update(step_grads)
            return d, grads

        results = _parallel.run(shard, len(parts))
        grads = results[0][1]
        for _, more in results[1:]:
            grads = {
                name: {p: g + more[name][p] for p, g in layer_grads.items()}
                for name, layer_grads in grads.items()
            }
        du = (
            results[0][0]
            if len(parts) == 1 or not calc_du
            else np.concatenate([d for d, _ in results])
        )
        return du, grads

    return Step(layers, forward, backward)


def steps(layers: list[Layer]) -> list[Step]:
    """The layers as steps: one per layer, but ``relu`` followed by
    ``max_pooling2d``, which are fused (the article's ``reluc1``,
    ``pooling1``)."""
    steps, index = [], 0
    while index < len(layers):
        pair = layers[index : index + 2]
        if [layer.kind.name for layer in pair] == ["relu", "max_pooling2d"]:
            steps.append(_relu_then_max_pool(*pair))
            index += 2
        else:
            steps.append(_single(layers[index]))
            index += 1
    return steps


def plan(layers: list[Layer]) -> list[Step]:
    """The steps of :func:`steps`, runs of per-example ones grouped to be
    split across threads as one (see ``_split``)."""
    grouped: list[Step] = []
    run: list[Step] = []
    for step in steps(layers):
        if _per_example(step):
            run.append(step)
            continue
        if run:
            grouped.append(_split(run))
            run = []
        grouped.append(step)
    if run:
        grouped.append(_split(run))
    return grouped
