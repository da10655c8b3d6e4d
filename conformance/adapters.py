"""Adapters: judge layers written in another style, layout or naming.

The suite calls every function with the article's signature, layouts and
return values. Three adapters cover the usual styles of from-scratch code,
each a few lines in the module you pass to ``--impl``:

* ``adapt``: plain functions in another layout, with other parameter names,
  or returning a dict::

      convolution2d = adapt("convolution2d", mylayers.conv_forward,
                            data="NCHW", filters="OIHW")

* ``from_layer``: layer classes (the constructor takes the weights and
  hyper-parameters, ``forward(x)`` caches, ``backward(dout)`` returns ``dx``
  and leaves the weight gradients on the layer)::

      convolution2d, convolution2d_back = from_layer(
          "convolution2d",
          lambda W, b, padding, strides: Conv(W, b, stride=strides, pad=padding),
          data="NCHW", filters="OIHW", grads={"W": "dW", "b": "db"})

* ``from_cache_functions``: function pairs ``forward(x, w, b, params) ->
  (out, cache)`` and ``backward(dout, cache) -> (dx, dw, db)``::

      convolution2d, convolution2d_back = from_cache_functions(
          "convolution2d", conv_forward, conv_backward,
          params=lambda padding, strides: {"stride": strides, "pad": padding},
          data="NCHW", filters="OIHW")

* ``from_autodiff``: one forward written in an array library with automatic
  differentiation (torch, JAX, a framework of your own), and its
  vector-Jacobian product; the backward is derived::

      def conv(u, W, b, *, padding, strides):   # torch tensors, NCHW and OIHW
          return torch.nn.functional.conv2d(u, W, b, stride=strides, padding=padding)

      convolution2d, convolution2d_back = from_autodiff(
          "convolution2d", conv, vjp="torch", data="NCHW", filters="OIHW")

Layouts: data ``"NHWC"`` (the article's) or ``"NCHW"``; filters ``"FHWC"``
(the article's ``(fn, fh, fw, fc)``), ``"OIHW"`` (torch's ``(out, in, kh,
kw)``) or ``"HWIO"`` (Keras' ``(kh, kw, in, out)``). 4-D arrays only are
converted: data ``u``, ``z``, ``dz``, ``du`` and filters ``W``, ``f``,
``dW``.

``make`` (of ``from_layer``) and ``params`` (of all three) receive the
article's parameters by name, with the article's defaults filled in
(``padding=0``, ``strides=1`` for convolutions; ``pool_size=2``,
``padding=0``, ``strides=pool_size`` for pooling), as ints or ``(h, w)``
tuples as the suite draws them: an implementation that takes ints only
raises on tuples, and should declare the ``tuple params`` corner
unsupported (see ``conformance.running.implementation``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from refcnn.layouts import DATA_LAYOUTS, FILTER_LAYOUTS, PERMUTATIONS

from .inputs import op_table as ot


def _signatures() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The article's array arguments of each function of an op with window
    geometry, in order, and what it returns: read from the op table."""
    result = {}
    for op in ot.OPS:
        if op.shape is None:
            continue
        result[op.forward] = (op.inputs, ("z",))
        if op.backward:
            result[op.backward] = (op.backward_args, tuple(f"d{g}" for g in op.grads))
    return result


SIGNATURES = _signatures()
# The article's keyword parameters of each layer and their defaults (None:
# pooling strides default to pool_size).
DEFAULTS: dict[str, dict[str, Any]] = ot.LAYERS
_DATA = {"u", "z", "dz", "du"}
_FILTERS = {"W", "f", "dW"}


def _convert(name: str, value: Any, data: str, filters: str, back: bool) -> Any:
    """``value`` (the article's array ``name``) to the other layout, or with
    ``back`` from it."""
    if name in _DATA:
        axes = PERMUTATIONS.get(("data", data))
    elif name in _FILTERS:
        axes = PERMUTATIONS.get(("filters", filters))
    else:
        axes = None
    if axes is None or value is None or np.ndim(value) != 4:
        return value
    return np.asarray(value).transpose(np.argsort(axes) if back else axes)


def _check_layouts(data: str, filters: str) -> None:
    if data not in DATA_LAYOUTS:
        raise ValueError(f"data must be one of {DATA_LAYOUTS}, got {data!r}")
    if filters not in FILTER_LAYOUTS:
        raise ValueError(f"filters must be one of {FILTER_LAYOUTS}, got {filters!r}")


def _layer_name(article_name: str) -> str:
    name = article_name.removesuffix("_back")
    if name not in DEFAULTS:
        raise ValueError(f"no article layer {article_name!r}; one of {sorted(DEFAULTS)}")
    return name


def article_parameters(layer: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The layer's keyword parameters with the article's defaults filled in."""
    unknown = set(given) - set(DEFAULTS[layer]) - {"calc_du_flag"}
    if unknown:
        raise TypeError(f"{layer} takes no parameter {', '.join(sorted(unknown))}")
    result = {**DEFAULTS[layer], **{k: v for k, v in given.items() if k in DEFAULTS[layer]}}
    if "pool_size" in result and result["strides"] is None:
        result["strides"] = result["pool_size"]
    return result


def adapt(
    article_name: str,
    function: Callable,
    *,
    data: str = "NHWC",
    filters: str = "FHWC",
    returns: Sequence[str] | None = None,
    params: Callable[..., dict[str, Any]] | None = None,
) -> Callable:
    """``function`` seen through the article's signature for ``article_name``.

    Arrays are passed positionally in the article's order, converted to
    ``data``/``filters``. Keyword parameters are passed as given, or, with
    ``params``, as ``params(**article parameters)`` returns them (renaming
    ``padding`` to ``pad``, say). With ``returns`` naming dict keys, a dict
    result becomes the article's tuple in that order."""
    if article_name not in SIGNATURES:
        raise ValueError(f"no article function {article_name!r}; one of {sorted(SIGNATURES)}")
    _check_layouts(data, filters)
    arg_names, result_names = SIGNATURES[article_name]

    def adapted(*args: Any, **kwargs: Any) -> Any:
        converted = [
            _convert(name, value, data, filters, back=False)
            for name, value in zip(arg_names, args, strict=False)
        ] + list(args[len(arg_names) :])
        if params is not None:
            kwargs = params(**article_parameters(_layer_name(article_name), kwargs))
        result = function(*converted, **kwargs)
        if returns is not None:
            result = tuple(result[key] for key in returns)
        items = result if isinstance(result, tuple) else (result,)
        back = tuple(
            _convert(name, value, data, filters, back=True)
            for name, value in zip(result_names, items, strict=False)
        )
        return back if isinstance(result, tuple) else back[0]

    adapted.__name__ = article_name
    adapted.__doc__ = f"{article_name} adapted from {getattr(function, '__name__', function)}"
    return adapted


Grads = Mapping[str, str | Callable[[Any], Any]] | Callable[[Any], Sequence[Any]]


def _weight_gradients(layer: Any, grads: Grads | None, names: tuple[str, ...]) -> list[Any]:
    """The layer's gradients of the weights ``names`` (``("W", "b")``): by
    attribute name or getter per weight, or one getter for all."""
    if not names:
        return []
    if grads is None:
        raise ValueError(f"say where the layer keeps the gradients of {names}: grads=...")
    if callable(grads):
        return list(grads(layer))
    return [
        grads[name](layer) if callable(grads[name]) else getattr(layer, grads[name])
        for name in names
    ]


def from_layer(
    article_name: str,
    make: Callable[..., Any],
    *,
    data: str = "NHWC",
    filters: str = "FHWC",
    grads: Grads | None = None,
    forward: str = "forward",
    backward: str = "backward",
) -> tuple[Callable, Callable]:
    """The article's forward and backward of ``article_name`` (a layer:
    ``convolution2d``, ``max_pooling2d``, ``average_pooling2d``,
    ``flatten2d``) from a layer class.

    ``make(**weights, **parameters)`` builds a layer: the weights by the
    article's names (``W``, ``b``, in the ``filters`` layout) and the
    article's parameters (defaults filled in). The forward calls
    ``layer.forward(u)``; the backward builds a layer, runs its forward on
    ``u`` (to fill its cache), then ``layer.backward(dz)`` for ``du``, and
    takes the weight gradients from ``grads``: attribute names (``{"W":
    "dW", "b": "db"}``), getters (``{"W": lambda layer: layer.grads["W"]}``)
    or one getter returning them in the article's order."""
    layer_name = _layer_name(article_name)
    _check_layouts(data, filters)
    weights = SIGNATURES[layer_name][0][1:]  # ("W", "b") or ()

    def build(arrays: Sequence[Any], given: Mapping[str, Any]) -> Any:
        converted = {
            n: _convert(n, a, data, filters, back=False)
            for n, a in zip(weights, arrays, strict=True)
        }
        return make(**converted, **article_parameters(layer_name, given))

    def article_forward(u: Any, *arrays: Any, **given: Any) -> Any:
        layer = build(arrays, given)
        return _convert(
            "z",
            getattr(layer, forward)(_convert("u", u, data, filters, False)),
            data,
            filters,
            True,
        )

    def article_backward(dz: Any, u: Any, *rest: Any, **given: Any) -> Any:
        arrays = rest[-len(weights) :] if weights else ()  # pooling and flatten also get z
        layer = build(arrays, given)
        getattr(layer, forward)(_convert("u", u, data, filters, False))
        du = getattr(layer, backward)(_convert("dz", dz, data, filters, False))
        du = _convert("du", du, data, filters, True)
        if not weights:
            return du
        gradients = _weight_gradients(layer, grads, weights)
        return (
            du,
            *(
                _convert(f"d{n}", g, data, filters, True)
                for n, g in zip(weights, gradients, strict=True)
            ),
        )

    article_forward.__name__ = layer_name
    article_backward.__name__ = f"{layer_name}_back"
    return article_forward, article_backward


def from_cache_functions(
    article_name: str,
    forward: Callable[..., tuple[Any, Any]],
    backward: Callable[[Any, Any], Any],
    *,
    params: Callable[..., Any] | None = None,
    data: str = "NHWC",
    filters: str = "FHWC",
) -> tuple[Callable, Callable]:
    """The article's forward and backward of ``article_name`` from a pair
    ``forward(x, *weights, p) -> (out, cache)``, ``backward(dout, cache) ->
    dx`` or ``(dx, dw, db)``. ``p`` is ``params(**article parameters)``
    (defaults filled in), passed as one argument after the arrays; without
    ``params`` none is passed."""
    layer_name = _layer_name(article_name)
    _check_layouts(data, filters)
    weights = SIGNATURES[layer_name][0][1:]

    def call_forward(u: Any, arrays: Sequence[Any], given: Mapping[str, Any]) -> tuple[Any, Any]:
        converted = [_convert("u", u, data, filters, False)] + [
            _convert(n, a, data, filters, False) for n, a in zip(weights, arrays, strict=True)
        ]
        if params is not None:
            converted.append(params(**article_parameters(layer_name, given)))
        else:
            article_parameters(layer_name, given)  # unknown parameters still raise
        return forward(*converted)

    def article_forward(u: Any, *arrays: Any, **given: Any) -> Any:
        out, _ = call_forward(u, arrays, given)
        return _convert("z", out, data, filters, True)

    def article_backward(dz: Any, u: Any, *rest: Any, **given: Any) -> Any:
        arrays = rest[-len(weights) :] if weights else ()
        _, cache = call_forward(u, arrays, given)
        result = backward(_convert("dz", dz, data, filters, False), cache)
        if not weights:
            return _convert("du", result, data, filters, True)
        names = ("du", *(f"d{n}" for n in weights))
        return tuple(
            _convert(n, g, data, filters, True) for n, g in zip(names, result, strict=True)
        )

    article_forward.__name__ = layer_name
    article_backward.__name__ = f"{layer_name}_back"
    return article_forward, article_backward


# --- layers written with automatic differentiation -------------------------------

VJP = Callable[[Callable[..., Any], Sequence[Any], Any], Sequence[Any]]


def ordinary(array: np.ndarray) -> np.ndarray:
    """A fresh C-ordered copy with the strides of a new array. A transposed
    view that NumPy flags contiguous can keep odd strides on its size-1 axes
    (NHWC ``(n, 1, 1, c)`` seen as NCHW has strides ``(c, 1, c, c)``
    elements), which a framework may trust and misread; the adapter must not
    hand it such an artifact of its own layout conversion."""
    return np.array(array, order="C", copy=True)


def _torch_tensor(array: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(ordinary(array))


def _torch_vjp(function: Callable[..., Any], primals: Sequence[Any], cotangent: Any) -> list:
    """torch.autograd's vector-Jacobian product of ``function`` at ``primals``."""
    import torch

    leaves = [p.detach().clone().requires_grad_(p.is_floating_point()) for p in primals]
    with torch.enable_grad():
        out = function(*leaves)
    wanted = [leaf for leaf in leaves if leaf.requires_grad]
    if not out.requires_grad:  # an empty batch, or a result that ignores its inputs
        return [torch.zeros_like(leaf) for leaf in leaves]
    grads = iter(torch.autograd.grad(out, wanted, grad_outputs=cotangent, allow_unused=True))
    result = []
    for leaf in leaves:
        g = next(grads) if leaf.requires_grad else None
        result.append(torch.zeros_like(leaf) if g is None else g)
    return result


BUILT_IN_VJPS: dict[str, tuple[VJP, Callable[[np.ndarray], Any]]] = {
    "torch": (_torch_vjp, _torch_tensor),
}


def to_numpy(value: Any, hook: Callable[[Any], Any] | None = None) -> np.ndarray:
    """An array of another library as a NumPy array: ``hook(value)`` when
    given, else by ``.numpy()`` (after ``.detach()`` where there is one:
    torch), DLPack, or ``__array__``."""
    if hook is not None:
        value = hook(value)
    if isinstance(value, np.ndarray):
        return value
    if callable(getattr(value, "detach", None)):
        value = value.detach()
    if callable(getattr(value, "numpy", None)):
        try:
            return np.asarray(value.numpy())
        except Exception:  # on another device, say: try the others
            pass
    if hasattr(value, "__dlpack__"):
        try:
            return np.from_dlpack(value)
        except Exception:
            pass
    return np.asarray(value)


def from_autodiff(
    article_name: str,
    forward: Callable[..., Any],
    *,
    vjp: str | VJP,
    data: str = "NHWC",
    filters: str = "FHWC",
    to_framework: Callable[[np.ndarray], Any] | None = None,
    to_array: Callable[[Any], Any] | None = None,
) -> tuple[Callable, Callable]:
    """The article's forward and backward of ``article_name`` (a layer:
    ``convolution2d``, ``max_pooling2d``, ``average_pooling2d``,
    ``flatten2d``) from a forward written with automatic differentiation.

    ``forward(u, *weights, **parameters)`` takes the arrays (``u``, and
    ``W``, ``b`` for the convolution) in the ``data`` and ``filters``
    layouts, as ``to_framework`` makes them, and the article's parameters
    by keyword with the defaults filled in (``padding``, ``strides``,
    ``pool_size``; ints or ``(h, w)`` tuples as drawn). ``vjp(f, primals,
    cotangent)`` returns the gradients of ``f`` (a function of the arrays
    only) at ``primals``, one per primal, for the output gradient
    ``cotangent``; ``vjp="torch"`` uses torch.autograd, and makes the arrays
    contiguous torch tensors (``to_framework`` defaults to leaving NumPy
    arrays as they are for a callable ``vjp``: most libraries accept them).

    Results come back as NumPy arrays (``to_array`` first when given; then
    ``.numpy()``, DLPack or ``__array__``) in the article's layouts and in
    the dtype of ``u``: a result the framework computed in another dtype is
    converted, with a RuntimeWarning that says so (once per function and
    dtypes). The backward ignores ``z`` (autodiff does not need it) and
    returns ``du`` (and ``dW``, ``db``)."""
    layer_name = _layer_name(article_name)
    _check_layouts(data, filters)
    if isinstance(vjp, str):
        if vjp not in BUILT_IN_VJPS:
            raise ValueError(
                f"vjp must be a callable or one of {sorted(BUILT_IN_VJPS)}, got {vjp!r}"
            )
        vjp, default_input = BUILT_IN_VJPS[vjp]
        to_framework = to_framework or default_input
    elif not callable(vjp):
        raise TypeError(f"vjp must be a callable or a name, got {type(vjp).__name__}")
    to_framework = to_framework or ordinary
    names = SIGNATURES[layer_name][0]  # ("u", "W", "b") or ("u",)
    warned: set[tuple[str, str]] = set()

    def framework_inputs(arrays: Sequence[Any]) -> list[Any]:
        return [
            to_framework(_convert(n, np.asarray(a), data, filters, back=False))
            for n, a in zip(names, arrays, strict=True)
        ]

    def back_to_numpy(name: str, value: Any, dtype: np.dtype, function: str) -> np.ndarray:
        array = _convert(name, to_numpy(value, to_array), data, filters, back=True)
        if array.dtype != dtype and array.dtype.kind in "fc" and dtype.kind == "f":
            key = (str(array.dtype), str(dtype))
            if key not in warned:
                warned.add(key)
                warnings.warn(
                    f"{function}: the framework computed in {array.dtype} for {dtype} inputs; "
                    f"results converted to {dtype}, with {array.dtype}'s precision",
                    RuntimeWarning,
                    stacklevel=3,
                )
            array = array.astype(dtype)
        return array

    def parameters(given: Mapping[str, Any]) -> dict[str, Any]:
        return article_parameters(layer_name, given)  # calc_du_flag is not passed on

    def article_forward(u: Any, *weights: Any, **given: Any) -> np.ndarray:
        params = parameters(given)
        out = forward(*framework_inputs((u, *weights)), **params)
        return back_to_numpy("z", out, np.asarray(u).dtype, layer_name)

    def article_backward(dz: Any, u: Any, *rest: Any, **given: Any) -> Any:
        weights = rest[len(rest) - (len(names) - 1) :] if len(names) > 1 else ()
        params = parameters(given)
        primals = framework_inputs((u, *weights))
        cotangent = to_framework(_convert("dz", np.asarray(dz), data, filters, back=False))
        grads = list(vjp(lambda *arrays: forward(*arrays, **params), primals, cotangent))
        if len(grads) != len(names):
            raise ValueError(f"vjp returned {len(grads)} gradients for {len(names)} inputs")
        dtype = np.asarray(u).dtype
        result = tuple(
            back_to_numpy(f"d{n}", g, dtype, f"{layer_name}_back")
            for n, g in zip(names, grads, strict=True)
        )
        return result if len(result) > 1 else result[0]

    article_forward.__name__ = layer_name
    article_backward.__name__ = f"{layer_name}_back"
    return article_forward, article_backward
