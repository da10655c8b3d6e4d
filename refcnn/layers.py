"""The layer registry: one small unit per layer kind (init, forward,
backward; the trainer applies the optimizer to whatever gradients a backward
returns), registered in one place, ``LAYER_KINDS``, keyed by the article's
function object that ``add_layer`` receives (``relu``, ``affine``,
``convolution2d``, ...). No lookups by name through ``globals()``.

Shapes: ``d_prev``/``d_next`` of one example are an int (flat) or an
``(h, w, c)`` tuple (images), as in the article's layer table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _parallel, convolution, dense, dropout_layer, init, normalization, pool
from . import activations as act
from . import flatten as flat
from ._args import as_pair
from ._conv_methods import Geometry
from ._scratch import Buffers
from .shapes import window_geometry

Shape = Any  # int or (h, w, c)


@dataclass
class Layer:
    """One layer of a model: its kind, shapes, trainable ``params``,
    non-trainable ``state`` (running statistics) and fixed ``config``."""

    name: str
    kind: LayerKind
    d_prev: Shape
    d_next: Shape
    params: dict[str, np.ndarray] = field(default_factory=dict)
    state: dict[str, np.ndarray] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What a forward pass needs besides the data: training or inference, the
    generator for random layers (dropout, rrelu), the working dtype, and
    reusable buffers per layer and shard (kept for as long as the context:
    an epoch, an evaluation)."""

    train: bool
    rng: np.random.Generator
    dtype: np.dtype
    buffers: dict = field(default_factory=dict)

    def buffers_of(self, layer: Layer, shard: int) -> Buffers:
        return self.buffers.setdefault((id(layer), shard), Buffers())

    def outputs_of(self, layer: Layer) -> Buffers:
        """Where a layer puts its output and its input gradient, reused from
        step to step (a step's arrays are dead once its backward is done):
        fresh megabyte-sized arrays every step would be page-faulted and
        zeroed by the kernel each time, which cost as much as the layer."""
        return self.buffers.setdefault((id(layer), "outputs"), Buffers())

    def shard(self, index: int) -> Context:
        """The context of one shard of a batch split across threads: its own
        buffers, the rest shared."""
        key = ("shard", index)
        if key not in self.buffers:
            self.buffers[key] = Context(self.train, self.rng, self.dtype)
        return self.buffers[key]


def _size(shape: Shape) -> int:
    return int(np.prod(shape))


@dataclass(frozen=True)
class LayerKind:
    """``per_example``: the layer treats each example on its own and draws
    nothing at random, so a batch can be split across threads (not: dropout,
    rrelu, batch normalization); ``cost``: multiply-adds and copies per
    example, to decide whether a split pays."""

    name: str
    function: Callable
    init: Callable[..., tuple[Shape, dict, dict, dict]]
    forward: Callable[[np.ndarray, Layer, Context], tuple[np.ndarray, Any]]
    backward: Callable[[np.ndarray, Any, Layer, bool], tuple[np.ndarray | None, dict]]
    needs_d: bool = False
    decayed: tuple[str, ...] = ()  # parameters weight decay applies to
    per_example: bool = True
    cost: Callable[[Layer], int] = lambda layer: _size(layer.d_next)


def _flat(d_prev: Shape, kind: str) -> int:
    if not isinstance(d_prev, (int, np.integer)):
        raise ValueError(
            f"{kind} needs flat input, but the previous layer gives {d_prev}; "
            f"add a flatten2d layer first"
        )
    return int(d_prev)


def _image(d_prev: Shape, kind: str) -> tuple[int, int, int]:
    if not (isinstance(d_prev, tuple) and len(d_prev) == 3):
        raise ValueError(f"{kind} needs (h, w, c) image input, the previous layer gives {d_prev}")
    return d_prev


def _init_weights(
    rng,
    d_prev: int,
    d: int,
    weight_init_func=init.he_normal,
    weight_init_params=None,
    bias_init_func=init.zeros_b,
    bias_init_params=None,
):
    W = weight_init_func(d_prev, d, rng=rng, **(weight_init_params or {}))
    b = bias_init_func(d, rng=rng, **(bias_init_params or {}))
    return W, b


# --- affine and maxout ------------------------------------------------------


def _affine_init(d_prev, d, rng, **kwargs):
    W, b = _init_weights(rng, _flat(d_prev, "affine"), d, **kwargs)
    return d, {"W": W, "b": b}, {}, {}


def _affine_forward(u, layer, ctx):
    return u @ layer.params["W"] + layer.params["b"], u


def _affine_backward(dz, u, layer, calc_du):
    W = layer.params["W"]
    grads = {"W": u.T @ dz, "b": dz.sum(axis=0)}
    return (dz @ W.T if calc_du else None), grads


def _maxout_init(d_prev, d, rng, unit=1, **kwargs):
    W, b = _init_weights(rng, _flat(d_prev, "maxout"), d * unit, **kwargs)
    return d, {"W": W, "b": b}, {}, {"unit": unit}


def _maxout_forward(u, layer, ctx):
    p = layer.params
    return dense.maxout(u, p["W"], p["b"], layer.config["unit"]), u


def _maxout_backward(dz, u, layer, calc_du):
    p = layer.params
    du, dW, db = dense.maxout_back(dz, u, None, p["W"], p["b"], layer.config["unit"])
    return (du if calc_du else None), {"W": dW, "b": db}


# --- element-wise activations ---------------------------------------------


def _activation(forward: Callable, backward: Callable, **defaults: Any):
    """A parameter-free unit (besides fixed keyword params such as ``alpha``)."""

    def init_(d_prev, d, rng, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(
                f"{forward.__name__} takes {sorted(defaults) or 'no parameters'}, "
                f"got {sorted(unknown)}"
            )
        return d_prev, {}, {}, {**defaults, **kwargs}

    def forward_(u, layer, ctx):
        z = forward(u, **layer.config)
        return z, (u, z)

    def backward_(dz, cache, layer, calc_du):
        u, z = cache
        return backward(dz, u, z, **layer.config), {}

    return init_, forward_, backward_


def _prelu_init(d_prev, d, rng, alpha=0.25):
    channels = d_prev if isinstance(d_prev, (int, np.integer)) else d_prev[-1]
    return d_prev, {"alpha": np.full(int(channels), float(alpha))}, {}, {}


def _prelu_forward(u, layer, ctx):
    return act.prelu(u, layer.params["alpha"]), u


def _prelu_backward(dz, u, layer, calc_du):
    du, dalpha = act.prelu_back(dz, u, None, layer.params["alpha"])
    return du, {"alpha": dalpha}


def _rrelu_init(d_prev, d, rng, min=0.0, max=0.1):
    return d_prev, {}, {}, {"min": min, "max": max}


def _rrelu_forward(u, layer, ctx):
    c = layer.config
    slopes = act.rrelu_slopes(u.shape, c["min"], c["max"], ctx.rng) if ctx.train else None
    return act.rrelu(u, c["min"], c["max"], slopes), (u, slopes)


def _rrelu_backward(dz, cache, layer, calc_du):
    u, slopes = cache
    return act.rrelu_back(dz, u, None, layer.config["min"], layer.config["max"], slopes), {}


# --- dropout and batch normalization ----------------------------------------


def _dropout_init(d_prev, d, rng, dropout_ratio=0.9):
    dropout_layer.check_ratio(dropout_ratio)
    return d_prev, {}, {}, {"dropout_ratio": dropout_ratio}


def _dropout_forward(u, layer, ctx):
    ratio = layer.config["dropout_ratio"]
    mask = dropout_layer.dropout_mask(u.shape, ratio, ctx.rng) if ctx.train else None
    return dropout_layer.dropout(u, ratio, mask), mask


def _dropout_backward(dz, mask, layer, calc_du):
    return dropout_layer.dropout(dz, layer.config["dropout_ratio"], mask), {}


def _batchnorm_init(
    d_prev, d, rng, batch_norm_node=True, use_gamma_beta=True, use_train_stats=True, alpha=0.1
):
    shape = (d_prev,) if isinstance(d_prev, (int, np.integer)) else tuple(d_prev)
    stat_shape = shape if batch_norm_node else shape[-1:]
    params = {"gamma": np.ones(stat_shape), "beta": np.zeros(stat_shape)} if use_gamma_beta else {}
    state = {"running_mean": np.zeros(stat_shape), "running_var": np.ones(stat_shape)}
    config = {
        "batch_norm_node": batch_norm_node,
        "use_train_stats": use_train_stats,
        "alpha": alpha,
    }
    return d_prev, params, state, config


def _batchnorm_forward(u, layer, ctx):
    c, p, s = layer.config, layer.params, layer.state
    gamma, beta = p.get("gamma", 1.0), p.get("beta", 0.0)
    node = c["batch_norm_node"]
    if ctx.train:
        mean, var, count = normalization.batch_statistics(u, node)
        alpha = c["alpha"]
        s["running_mean"] = (1 - alpha) * s["running_mean"] + alpha * mean
        unbiased = var * count / max(count - 1, 1)
        s["running_var"] = (1 - alpha) * s["running_var"] + alpha * unbiased
        # The batch's own statistics, already computed (training mode).
        return normalization.batch_normalization(u, gamma, beta, node, mean, var), u
    if c["use_train_stats"]:
        z = normalization.batch_normalization(
            u, gamma, beta, node, s["running_mean"], s["running_var"]
        )
    else:
        z = normalization.batch_normalization(u, gamma, beta, node)
    return z, u


def _batchnorm_backward(dz, u, layer, calc_du):
    p = layer.params
    du, dgamma, dbeta = normalization.batch_normalization_back(
        dz, u, None, p.get("gamma", 1.0), p.get("beta", 0.0), layer.config["batch_norm_node"]
    )
    return du, ({"gamma": dgamma, "beta": dbeta} if p else {})


# --- convolution, pooling, flatten ------------------------------------------


def _conv_init(
    d_prev,
    d,
    rng,
    filter_size=2,
    padding=0,
    strides=1,
    weight_init_func=init.he_normal,
    weight_init_params=None,
    bias_init_func=init.zeros_b,
    bias_init_params=None,
):
    h, w, c = _image(d_prev, "convolution2d")
    window = as_pair(filter_size, "filter_size", minimum=1)
    padding, strides = (
        as_pair(padding, "padding", minimum=0),
        as_pair(strides, "strides", minimum=1),
    )
    zh, zw = window_geometry(h, w, window, padding, strides, "filter_size", "input")
    # The article draws a (fh*fw*fc, fn) matrix and reshapes it to the filters.
    W, b = _init_weights(
        rng,
        window[0] * window[1] * c,
        d,
        weight_init_func,
        weight_init_params,
        bias_init_func,
        bias_init_params,
    )
    W = W.reshape(d, window[0], window[1], c)
    config = {"padding": padding, "strides": strides, "out_hw": (zh, zw)}
    return (zh, zw, d), {"W": W, "b": b}, {}, config


def _conv_forward(u, layer, ctx):
    W, b, c = layer.params["W"], layer.params["b"], layer.config
    geometry = Geometry(W.shape[1:3], c["padding"], c["strides"], c["out_hw"], u.dtype)
    formulation = convolution.method(u.shape, W.shape, geometry)
    parts = convolution.split(formulation, u.shape, W.shape, geometry)
    outputs = ctx.outputs_of(layer)
    z = outputs.get("z", (u.shape[0], *c["out_hw"], W.shape[0]), u.dtype)
    stores = [ctx.buffers_of(layer, index) for index in range(len(parts))]
    shared = formulation.prepare(W, geometry)

    def shard(index: int):
        # Each shard keeps its columns (or rows) from forward to backward.
        state = formulation(u[parts[index]], geometry, stores[index])
        state.forward(W, b, z[parts[index]], shared)
        return state

    return z, (_parallel.run(shard, len(parts)), parts, u.shape, outputs)


def _conv_backward(dz, cache, layer, calc_du):
    states, parts, u_shape, outputs = cache
    W = layer.params["W"]
    shared = states[0].prepare(W, states[0].geometry) if calc_du else None
    du = outputs.get("du", u_shape, dz.dtype) if calc_du else None
    du, dW, db = convolution.gradients(
        states.__getitem__, parts, dz, W, u_shape, calc_du, shared, out=du
    )
    return du, {"W": dW, "b": db}


def _pool_init(d_prev, d, rng, pool_size=2, padding=0, strides=None):
    h, w, c = _image(d_prev, "pooling")
    window = as_pair(pool_size, "pool_size", minimum=1)
    padding = as_pair(padding, "padding", minimum=0)
    strides = window if strides is None else as_pair(strides, "strides", minimum=1)
    zh, zw = window_geometry(h, w, window, padding, strides, "pool_size", "input")
    config = {"window": window, "padding": padding, "strides": strides, "out_hw": (zh, zw)}
    return (zh, zw, c), {}, {}, config


def _max_pool_forward(u, layer, ctx):
    c = layer.config
    window, strides, out_hw = c["window"], c["strides"], c["out_hw"]
    outputs = ctx.outputs_of(layer)
    z = outputs.get("z", (u.shape[0], *out_hw, u.shape[3]), u.dtype)
    parts = pool.shards(u.shape, window, out_hw)

    def shard(index: int):
        # Route once, in the forward (when training): the backward only scatters.
        part = parts[index]
        return pool.max_shard_forward(
            u[part], z[part], window, c["padding"], strides, out_hw, routes=ctx.train
        )

    return z, (parts, _parallel.run(shard, len(parts)), outputs)


def _max_pool_backward(dz, cache, layer, calc_du):
    parts, routes, outputs = cache
    c = layer.config
    du = outputs.get("du", (dz.shape[0], *layer.d_prev), dz.dtype)

    def shard(index: int) -> None:
        part = parts[index]
        pool.max_shard_backward(
            routes[index], dz[part], du[part], c["window"], c["padding"], c["strides"], c["out_hw"]
        )

    _parallel.run(shard, len(parts))
    return du, {}


def _average_pool_forward(u, layer, ctx):
    c = layer.config
    return pool.average_pooling2d(u, c["window"], c["padding"], c["strides"]), u


def _average_pool_backward(dz, u, layer, calc_du):
    c = layer.config
    return pool.average_pooling2d_back(dz, u, None, c["window"], c["padding"], c["strides"]), {}


def _flatten_init(d_prev, d, rng):
    h, w, c = _image(d_prev, "flatten2d")
    return h * w * c, {}, {}, {}


def _flatten_forward(u, layer, ctx):
    return u.reshape(u.shape[0], layer.d_next), u.shape  # not -1: n may be 0


def _flatten_backward(dz, shape, layer, calc_du):
    return dz.reshape(shape), {}


def _dense_cost(layer: Layer) -> int:
    return _size(layer.d_prev) * _size(layer.params["W"].shape[1])


def _conv_cost(layer: Layer) -> int:
    fn, fh, fw, c = layer.params["W"].shape
    return _size(layer.config["out_hw"]) * fh * fw * c * (fn + 1)


def _pool_cost(layer: Layer) -> int:
    return _size(layer.d_next) * _size(layer.config["window"]) * 3


# --- the registry -----------------------------------------------------------


def _kinds() -> dict[Callable, LayerKind]:
    activations = {
        act.sigmoid: (act.sigmoid_back, {}),
        act.tanh: (act.tanh_back, {}),
        act.relu: (act.relu_back, {}),
        act.leaky_relu: (act.leaky_relu_back, {"alpha": 0.01}),
        act.relun: (act.relun_back, {"n": 6.0}),
        act.srelu: (act.srelu_back, {"alpha": 1.0}),
        act.elu: (act.elu_back, {"alpha": 1.0}),
        act.identity: (act.identity_back, {}),
        act.softplus: (act.softplus_back, {}),
        act.softsign: (act.softsign_back, {}),
        act.step: (act.step_back, {}),
    }
    kinds = [
        LayerKind(f.__name__, f, *_activation(f, back, **defaults))
        for f, (back, defaults) in activations.items()
    ]
    kinds += [
        LayerKind(
            "affine",
            dense.affine,
            _affine_init,
            _affine_forward,
            _affine_backward,
            needs_d=True,
            decayed=("W",),
            cost=_dense_cost,
        ),
        LayerKind(
            "maxout",
            dense.maxout,
            _maxout_init,
            _maxout_forward,
            _maxout_backward,
            needs_d=True,
            decayed=("W",),
            cost=_dense_cost,
        ),
        LayerKind("prelu", act.prelu, _prelu_init, _prelu_forward, _prelu_backward),
        LayerKind(
            "rrelu", act.rrelu, _rrelu_init, _rrelu_forward, _rrelu_backward, per_example=False
        ),
        LayerKind(
            "dropout",
            dropout_layer.dropout,
            _dropout_init,
            _dropout_forward,
            _dropout_backward,
            per_example=False,
        ),
        LayerKind(
            "batch_normalization",
            normalization.batch_normalization,
            _batchnorm_init,
            _batchnorm_forward,
            _batchnorm_backward,
            per_example=False,
        ),
        LayerKind(
            "convolution2d",
            convolution.convolution2d,
            _conv_init,
            _conv_forward,
            _conv_backward,
            needs_d=True,
            decayed=("W",),
            cost=_conv_cost,
        ),
        LayerKind(
            "max_pooling2d",
            pool.max_pooling2d,
            _pool_init,
            _max_pool_forward,
            _max_pool_backward,
            cost=_pool_cost,
        ),
        LayerKind(
            "average_pooling2d",
            pool.average_pooling2d,
            _pool_init,
            _average_pool_forward,
            _average_pool_backward,
            cost=_pool_cost,
        ),
        LayerKind("flatten2d", flat.flatten2d, _flatten_init, _flatten_forward, _flatten_backward),
    ]
    return {kind.function: kind for kind in kinds}


LAYER_KINDS: dict[Callable, LayerKind] = _kinds()


def kind_of(func: Any) -> LayerKind:
    """The unit for an article function, or a ValueError listing the known ones."""
    try:
        return LAYER_KINDS[func]
    except (KeyError, TypeError):
        names = ", ".join(sorted(kind.name for kind in LAYER_KINDS.values()))
        raise ValueError(
            f"func must be one of the article's layer functions ({names}), got {func!r}"
        ) from None
