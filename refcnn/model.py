"""The series' model API: ``create_model``, ``add_layer``, ``set_output``,
``set_error``, ``set_weight_decay``, ``learn``, ``predict``, ``evaluate`` and
the printed summary.

The article's script runs as written::

    model = create_model((28, 28, 1))
    model = add_layer(model, "conv1", convolution2d, 6, filter_size=7)
    model = add_layer(model, "reluc1", relu)
    ...
    model = set_output(model, softmax)
    model = set_error(model, cross_entropy_error)
    model, optimizer, learn_info = learn(model, x_train, t_train, x_test, t_test,
                                         batch_size=100, epoch=30)

Choices where the article is silent (part 8 of the series is not available):

* randomness: every draw (initial weights, shuffling, dropout masks, rrelu
  slopes) comes from the model's ``numpy.random.Generator``, made by
  ``create_model(..., seed=0)``; ``learn(..., seed=s)`` reseeds it. The
  article's ``np.random.seed(10)`` has no effect on refcnn (no global state);
* the default optimizer is ``SGD`` with ``eta=0.1`` (:mod:`refcnn.optim`);
* labels are one-hot ``(n, k)`` as in the series, or integer classes ``(n,)``;
* ``learn_info`` holds one entry per epoch, epoch 0 being before training.
  Training accuracy and loss of an epoch are the means over its mini-batches,
  measured on the forward passes the updates use (as the article's log shows:
  its epoch-1 training accuracy, 0.9126, is below the test accuracy, 0.9667);
  epoch 0 and every test figure are evaluated in inference mode on the whole
  set. The loss includes the weight-decay penalty when one is set (at the end
  of the epoch). ``seconds`` is the epoch's training time;
* accuracy compares the arg-max of the output with that of the target.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from . import activations, losses, optim, regularization
from .layers import Context, Layer, kind_of
from .plan import plan

__all__ = [
    "Model",
    "create_model",
    "add_layer",
    "set_output",
    "set_error",
    "set_weight_decay",
    "learn",
    "predict",
    "evaluate",
    "gradients",
    "model_summary",
    "print_model",
    "article_model",
    "ARTICLE_LAYERS",
]

# The supported output-function / error pairs; each has gradient (y - t) / n.
_OUTPUTS = {
    losses.softmax: losses.cross_entropy_error,
    activations.identity: losses.mean_squared_error,
}
_DECAY = {regularization.l2: regularization.l2_back, regularization.l1: regularization.l1_back}
_INFO_KEYS = ("epoch", "train_acc", "train_loss", "test_acc", "test_loss", "seconds")


@dataclass
class Model:
    input_shape: Any
    layers: list[Layer] = field(default_factory=list)
    output: Callable | None = None
    error: Callable | None = None
    weight_decay: dict | None = None
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float64))

    @property
    def output_shape(self) -> Any:
        return self.layers[-1].d_next if self.layers else self.input_shape


def _shape(value: Any, name: str) -> Any:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
        return int(value)
    if (
        isinstance(value, (tuple, list))
        and len(value) == 3
        and all(isinstance(v, (int, np.integer)) and v > 0 for v in value)
    ):
        return tuple(int(v) for v in value)
    raise ValueError(f"{name} must be a positive int or an (h, w, c) tuple, got {value!r}")


def create_model(
    input_shape: Any,
    seed: int | None = 0,
    rng: np.random.Generator | None = None,
    dtype: Any = np.float64,
) -> Model:
    """An empty model for examples of ``input_shape`` (int or ``(h, w, c)``).

    ``rng`` (or ``seed``, default 0) makes every random draw reproducible;
    ``dtype`` float64 (the article's) or float32 (faster).
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if rng is None:
        rng = np.random.default_rng(seed)
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return Model(_shape(input_shape, "input_shape"), rng=rng, dtype=dtype)


def add_layer(
    model: Model, name: str, func: Callable, d: int | None = None, **kwargs: Any
) -> Model:
    """Append a layer; ``d`` is the number of units (affine, maxout) or of
    filters (convolution2d); ``kwargs`` are the layer's parameters."""
    kind = kind_of(func)
    if any(layer.name == name for layer in model.layers) or name in ("input", "output"):
        raise ValueError(f"name {name!r} is already used in this model")
    if kind.needs_d:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"{kind.name} needs d, the number of units or filters, got {d!r}")
    elif d is not None:
        raise ValueError(f"{kind.name} takes no d, got {d!r}")
    try:
        d_next, params, state, config = kind.init(model.output_shape, d, model.rng, **kwargs)
    except TypeError as exc:
        raise TypeError(f"add_layer {name!r} ({kind.name}): {exc}") from None
    params = {k: np.asarray(v, dtype=model.dtype) for k, v in params.items()}
    state = {k: np.asarray(v, dtype=model.dtype) for k, v in state.items()}
    model.layers.append(Layer(name, kind, model.output_shape, d_next, params, state, config))
    return model


def set_output(model: Model, func: Callable) -> Model:
    if func not in _OUTPUTS:
        raise ValueError("func must be softmax or identity")
    model.output = func
    return model


def set_error(model: Model, func: Callable) -> Model:
    if func not in _OUTPUTS.values():
        raise ValueError("func must be cross_entropy_error or mean_squared_error")
    model.error = func
    return model


def set_weight_decay(model: Model, func: Callable = regularization.l2, **params: Any) -> Model:
    """Weight decay on the weights of affine, maxout and convolution2d layers:
    ``func`` is ``l2`` or ``l1``, ``params`` e.g. ``weight_decay_lambda=0.01``."""
    if func not in _DECAY:
        raise ValueError("func must be l2 or l1")
    model.weight_decay = {"func": func, "back_func": _DECAY[func], "params": params}
    return model


# --- running the network ----------------------------------------------------


def _check_ready(model: Model) -> None:
    if model.output is None or model.error is None:
        raise ValueError("set the output and the error first (set_output, set_error)")
    if _OUTPUTS[model.output] is not model.error:
        raise ValueError(
            f"output {model.output.__name__} goes with {_OUTPUTS[model.output].__name__}, "
            f"not {model.error.__name__}"
        )


def _classes(model: Model) -> int:
    shape = model.output_shape
    if not isinstance(shape, int):
        raise ValueError(f"the last layer must give flat output, it gives {shape}")
    return shape


def _check_x(model: Model, x: Any, name: str) -> np.ndarray:
    x = np.asarray(x)
    expected = (model.input_shape,) if isinstance(model.input_shape, int) else model.input_shape
    if x.ndim != len(expected) + 1 or x.shape[1:] != expected:
        raise ValueError(
            f"{name} must have shape (n, {', '.join(map(str, expected))}), got {x.shape}"
        )
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
    return x


def _check_t(model: Model, t: Any, n: int, name: str) -> np.ndarray:
    """Targets as one-hot (or real-valued) ``(n, k)`` in the model dtype."""
    k = _classes(model)
    t = np.asarray(t)
    if t.ndim == 1:
        try:
            t = losses.one_hot(t, k)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    if t.shape != (n, k):
        raise ValueError(
            f"{name} must have shape ({n}, {k}) (one-hot) or ({n},) (classes), got {t.shape}"
        )
    return t.astype(model.dtype, copy=False)


def _forward(model: Model, x: np.ndarray, ctx: Context) -> tuple[np.ndarray, list]:
    """Run the network; returns the output and, per step of the plan, its
    step and cache for the backward."""
    caches = []
    u = x
    for step in plan(model.layers):
        u, cache = step.forward(u, ctx)
        caches.append((step, cache))
    return u, caches


def _penalty(model: Model) -> float:
    if model.weight_decay is None:
        return 0.0
    wd = model.weight_decay
    return sum(
        wd["func"](layer.params[name], **wd["params"])
        for layer in model.layers
        for name in layer.kind.decayed
    )


def _batches(n: int, batch_size: int) -> range:
    return range(0, n, batch_size)


def predict(model: Model, x: Any, batch_size: int = 1000) -> np.ndarray:
    """The output function applied to the network, in inference mode."""
    _check_ready(model)
    x = _check_x(model, x, "x")
    ctx = Context(False, model.rng, model.dtype)
    outputs = [
        model.output(_forward(model, x[i : i + batch_size].astype(model.dtype), ctx)[0])
        for i in _batches(x.shape[0], batch_size)
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, _classes(model)), model.dtype)


def evaluate(model: Model, x: Any, t: Any, batch_size: int = 1000) -> tuple[float, float]:
    """``(accuracy, loss)`` in inference mode; the loss is the mean error
    plus the weight-decay penalty."""
    _check_ready(model)
    x = _check_x(model, x, "x")
    t = _check_t(model, t, x.shape[0], "t")
    return _evaluate(model, x, t, batch_size)


def _evaluate(model: Model, x: np.ndarray, t: np.ndarray, batch_size: int) -> tuple[float, float]:
    ctx = Context(False, model.rng, model.dtype)
    correct, error_sum = 0, 0.0
    for i in _batches(x.shape[0], batch_size):
        logits = _forward(model, x[i : i + batch_size].astype(model.dtype, copy=False), ctx)[0]
        tb = t[i : i + batch_size]
        correct += int((logits.argmax(axis=1) == tb.argmax(axis=1)).sum())
        if model.output is losses.softmax:
            error = losses.cross_entropy_from_logits(logits, tb)
        else:
            error = losses.mean_squared_error(logits, tb)
        error_sum += error * logits.shape[0]
    n = max(x.shape[0], 1)
    return correct / n, error_sum / n + _penalty(model)


def _gradients(model: Model, x: np.ndarray, t: np.ndarray, ctx: Context):
    """Forward and backward of one batch: ``(correct, summed error,
    {layer name: {parameter: gradient}})``, weight decay included."""
    logits, caches = _forward(model, x, ctx)
    correct = int((logits.argmax(axis=1) == t.argmax(axis=1)).sum())
    if model.output is losses.softmax:
        log_y = losses.log_softmax(logits)
        error = float(-(t * log_y).sum())
        y = np.exp(log_y)
    else:
        y = logits
        error = float(((y - t) ** 2).sum() / 2)
    dz = (y - t) / x.shape[0]
    wd = model.weight_decay
    all_grads = {}
    for position in range(len(caches) - 1, -1, -1):
        step, cache = caches[position]
        dz, step_grads = step.backward(dz, cache, position > 0)
        for layer in step.layers:
            grads = step_grads[layer.name]
            if wd is not None:
                for name in layer.kind.decayed:
                    grads[name] = grads[name] + wd["back_func"](layer.params[name], **wd["params"])
            all_grads[layer.name] = grads
    return correct, error, all_grads


def _train_step(
    model: Model, x: np.ndarray, t: np.ndarray, optimizer: dict, ctx: Context
) -> tuple[int, float]:
    """One update; returns the batch's (correct predictions, summed error),
    measured on the forward pass that the update uses."""
    correct, error, all_grads = _gradients(model, x, t, ctx)
    for layer in model.layers:
        stats = optimizer["stats"].setdefault(layer.name, {})
        for name, grad in all_grads[layer.name].items():
            layer.params[name], stats[name] = optimizer["func"](
                layer.params[name], grad, **optimizer["params"], **stats.get(name, {})
            )
    return correct, error


def gradients(model: Model, x: Any, t: Any) -> tuple[float, dict]:
    """The loss of one batch and the gradient of every parameter,
    ``{layer name: {"W": ..., "b": ...}}``, as a training step of
    :func:`learn` computes them (training mode: dropout masks and rrelu slopes
    come from the model's generator, batch statistics update the running
    ones), without updating the parameters. The loss is the mean error plus
    the weight-decay penalty."""
    _check_ready(model)
    x = _check_x(model, x, "x").astype(model.dtype, copy=False)
    t = _check_t(model, t, x.shape[0], "t")
    _, error, grads = _gradients(model, x, t, Context(True, model.rng, model.dtype))
    return error / max(x.shape[0], 1) + _penalty(model), grads


def train_epoch(
    model: Model,
    x: np.ndarray,
    t: np.ndarray,
    optimizer: dict,
    batch_size: int = 100,
    order: np.ndarray | None = None,
    on_batch_end: Callable[[int, int], None] | None = None,
) -> tuple[float, float]:
    """One pass of mini-batch updates over ``x`` (checked arrays: ``t`` one-hot
    in the model dtype) in ``order`` (default: as given). Returns the epoch's
    training accuracy and loss, means over its mini-batches, the loss with the
    weight-decay penalty. ``learn`` calls this once per epoch."""
    ctx = Context(True, model.rng, model.dtype)
    n = x.shape[0]
    order = np.arange(n) if order is None else order
    batches = _batches(n, batch_size)
    correct, error = 0, 0.0
    for number, start in enumerate(batches):
        index = order[start : start + batch_size]
        batch_correct, batch_error = _train_step(
            model, x[index].astype(model.dtype, copy=False), t[index], optimizer, ctx
        )
        correct, error = correct + batch_correct, error + batch_error
        if on_batch_end is not None:
            on_batch_end(number + 1, len(batches))
    return correct / max(n, 1), error / max(n, 1) + _penalty(model)


def _as_optimizer(optimizer: Any) -> dict:
    if optimizer is None:
        return optim.create_optimizer(optim.SGD, eta=0.1)
    if callable(optimizer):
        return optim.create_optimizer(optimizer)
    if isinstance(optimizer, dict) and {"func", "params"} <= set(optimizer):
        optimizer.setdefault("stats", {})
        return optimizer
    raise ValueError(
        "optimizer must be None, an optimizer function (SGD, Adam, ...) or "
        "the dict made by create_optimizer"
    )


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def learn(
    model: Model,
    x_train: Any,
    t_train: Any,
    x_test: Any = None,
    t_test: Any = None,
    batch_size: int = 100,
    epoch: int = 50,
    optimizer: Any = None,
    shuffle_flag: bool = True,
    *,
    seed: int | None = None,
    learn_info: dict | None = None,
    verbose: bool = True,
    out: TextIO | None = None,
    on_batch_end: Callable[[int, int, int], None] | None = None,
    on_epoch_end: Callable[[Model, dict, dict], None] | None = None,
    eval_batch_size: int = 1000,
) -> tuple[Model, dict, dict]:
    """Train with mini-batches; returns ``(model, optimizer, learn_info)``.

    ``epoch`` is the total number of epochs. Passing back the returned
    ``optimizer`` and ``learn_info`` continues a run where it stopped (the
    model's generator carries on as well), ending where an uninterrupted run
    would. ``on_batch_end(epoch, batch, batches)`` and
    ``on_epoch_end(model, optimizer, learn_info)`` are hooks for progress
    bars and checkpoints. Every argument is checked before training starts.
    """
    _check_ready(model)
    x_train = _check_x(model, x_train, "x_train")
    t_train = _check_t(model, t_train, x_train.shape[0], "t_train")
    if (x_test is None) != (t_test is None):
        raise ValueError("give both x_test and t_test, or neither")
    if x_test is not None:
        x_test = _check_x(model, x_test, "x_test")
        t_test = _check_t(model, t_test, x_test.shape[0], "t_test")
    batch_size = _check_int(batch_size, "batch_size", 1)
    epochs = _check_int(epoch, "epoch", 0)
    optimizer = _as_optimizer(optimizer)
    if seed is not None:
        model.rng = np.random.default_rng(seed)
    info = learn_info if learn_info is not None else {key: [] for key in _INFO_KEYS}
    out = out if out is not None else sys.stdout
    started = time.perf_counter()

    def record(done: int, train: tuple[float, float] | None, seconds: float) -> None:
        train_acc, train_loss = (
            _evaluate(model, x_train, t_train, eval_batch_size) if train is None else train
        )
        test_acc, test_loss = (
            _evaluate(model, x_test, t_test, eval_batch_size)
            if x_test is not None
            else (float("nan"), float("nan"))
        )
        for key, value in zip(
            _INFO_KEYS, (done, train_acc, train_loss, test_acc, test_loss, seconds), strict=True
        ):
            info[key].append(value)
        if verbose:
            fields = [done, train_acc, train_loss] + (
                [test_acc, test_loss] if x_test is not None else []
            )
            print(" ".join(f"{v:.12g}" for v in fields), file=out, flush=True)

    if not info["epoch"]:
        if verbose:
            print(model_summary(model), file=out)
        record(0, None, 0.0)
    for done in range(info["epoch"][-1] + 1, epochs + 1):
        epoch_start = time.perf_counter()
        order = model.rng.permutation(x_train.shape[0]) if shuffle_flag else None
        progress = (
            None
            if on_batch_end is None
            else (lambda batch, batches, done=done: on_batch_end(done, batch, batches))
        )
        train = train_epoch(model, x_train, t_train, optimizer, batch_size, order, progress)
        record(done, train, time.perf_counter() - epoch_start)
        if on_epoch_end is not None:
            on_epoch_end(model, optimizer, info)
    if verbose:
        minutes, seconds = divmod(round(time.perf_counter() - started), 60)
        print(f"elapsed time = {minutes} min {seconds} s", file=out)
    return model, optimizer, info


# --- summary ------------------------------------------------------------------


def model_summary(model: Model) -> str:
    """The article's table: name, function, input shape, output shape."""
    lines = [f"input - 0 {model.input_shape}"]
    lines += [f"{ly.name} {ly.kind.name} {ly.d_prev} {ly.d_next}" for ly in model.layers]
    if model.output is not None:
        lines.append(f"output {model.output.__name__} {model.output_shape}")
    if model.error is not None:
        lines.append(f"error {model.error.__name__}")
    return "\n".join(lines)


def print_model(model: Model, out: TextIO | None = None) -> None:
    print(model_summary(model), file=out if out is not None else sys.stdout)


# --- the article's network ----------------------------------------------------------


# (name, function, d, kwargs) of every layer of the article's MNIST CNN.
def _article_layers() -> tuple[tuple[str, Callable, int | None, dict], ...]:
    from .convolution import convolution2d
    from .dense import affine
    from .flatten import flatten2d
    from .pool import max_pooling2d

    relu = activations.relu
    return (
        ("conv1", convolution2d, 6, {"filter_size": 7}),
        ("reluc1", relu, None, {}),
        ("pooling1", max_pooling2d, None, {}),
        ("flatten", flatten2d, None, {}),
        ("affine1", affine, 100, {}),
        ("relua1", relu, None, {}),
        ("affine2", affine, 50, {}),
        ("relua2", relu, None, {}),
        ("affine3", affine, 10, {}),
    )


ARTICLE_LAYERS = _article_layers()


def article_model(seed: int | None = 0, dtype: Any = np.float64) -> Model:
    """The article's CNN for 28x28x1 images: conv 6@7x7, relu, 2x2 max pool,
    flatten, affine 100, relu, affine 50, relu, affine 10, softmax + cross
    entropy."""
    model = create_model((28, 28, 1), seed=seed, dtype=dtype)
    for name, func, d, kwargs in ARTICLE_LAYERS:
        add_layer(model, name, func, d, **kwargs)
    set_output(model, losses.softmax)
    return set_error(model, losses.cross_entropy_error)
