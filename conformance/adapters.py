"""Adapters: plug in layers that use another layout or return a dict.

The suite calls every function with the article's signature, layouts and
return values. ``adapt`` wraps a function written otherwise, one function at
a time. A module for ``--impl`` can then be a few lines::

    # my_adapter.py
    from conformance.adapters import adapt
    import mylayers                        # NCHW data, (out, in, kh, kw) filters

    convolution2d = adapt("convolution2d", mylayers.conv_forward,
                          data="NCHW", filters="OIHW")
    convolution2d_back = adapt("convolution2d_back", mylayers.conv_backward,
                               data="NCHW", filters="OIHW",
                               returns=("dx", "dw", "db"))   # it returns a dict
    max_pooling2d = adapt("max_pooling2d", mylayers.maxpool, data="NCHW")

and ``pytest -n auto conformance --impl my_adapter``.

What ``adapt`` converts, by the article's argument names: data (``u``, ``z``,
``dz`` and the returned ``z``/``du``) between NHWC and ``data`` ("NHWC" or
"NCHW", 4-D arrays only); filters (``W``/``f`` and the returned ``dW``)
between ``(fn, fh, fw, fc)`` and ``filters`` ("FHWC" or "OIHW"). With
``returns`` naming dict keys, a dict result becomes the article's tuple in
that order. Arguments are passed on positionally, in the article's order,
keyword parameters (padding, strides, ...) as given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# The article's array arguments of each function, in order, and what it returns.
SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conv": (("u", "f"), ("z",)),
    "convp": (("u", "f"), ("z",)),
    "convps": (("u", "f"), ("z",)),
    "convpsc": (("u", "f"), ("z",)),
    "convpscf": (("u", "f"), ("z",)),
    "convpscfu": (("u", "f"), ("z",)),
    "convolution2d": (("u", "W", "b"), ("z",)),
    "convolution2d_back": (("dz", "u", "W", "b"), ("du", "dW", "db")),
    "max_pooling2d": (("u",), ("z",)),
    "max_pooling2d_back": (("dz", "u", "z"), ("du",)),
    "average_pooling2d": (("u",), ("z",)),
    "average_pooling2d_back": (("dz", "u", "z"), ("du",)),
    "flatten2d": (("u",), ("z",)),
    "flatten2d_back": (("dz", "u", "z"), ("du",)),
}
_DATA = {"u", "z", "dz", "du"}
_FILTERS = {"W", "f", "dW"}
_TO = {  # article layout -> other layout, for 4-D arrays
    ("data", "NCHW"): (0, 3, 1, 2),
    ("filters", "OIHW"): (0, 3, 1, 2),
}


def _convert(name: str, value: Any, data: str, filters: str, back: bool) -> Any:
    kind, layout = (
        ("data", data)
        if name in _DATA
        else ("filters", filters)
        if (name in _FILTERS)
        else (None, None)
    )
    axes = _TO.get((kind, layout))
    array = np.asarray(value) if axes is not None else None
    if axes is None or array.ndim != 4:
        return value
    return array.transpose(np.argsort(axes) if back else axes)


def adapt(
    article_name: str,
    function: Callable,
    *,
    data: str = "NHWC",
    filters: str = "FHWC",
    returns: Sequence[str] | None = None,
) -> Callable:
    """``function`` seen through the article's signature for ``article_name``."""
    if article_name not in SIGNATURES:
        raise ValueError(f"no article function {article_name!r}; one of {sorted(SIGNATURES)}")
    if data not in ("NHWC", "NCHW") or filters not in ("FHWC", "OIHW"):
        raise ValueError("data must be 'NHWC' or 'NCHW', filters 'FHWC' or 'OIHW'")
    arg_names, result_names = SIGNATURES[article_name]

    def adapted(*args: Any, **kwargs: Any) -> Any:
        converted = [
            _convert(name, value, data, filters, back=False)
            for name, value in zip(arg_names, args, strict=False)
        ] + list(args[len(arg_names) :])
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
