"""Bad calls that must fail with a ``TypeError`` or ``ValueError`` naming the
offending argument (refcnn's validation policy).

One declarative table serves both the conformance suite (``--strict-policies``:
the call must raise one of the two, never an ``IndexError``, a
``ZeroDivisionError`` or a silent broadcast) and refcnn's own tests (which also
check that the message names the argument).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class BadCall:
    id: str
    function: str
    make_args: Callable[[], tuple[Any, ...]]
    kwargs: dict[str, Any]
    argument: str  # the name the error message must mention, as a word
    error: type[Exception] = ValueError
    says: str = ""  # what else refcnn's message says: the expected form and why


def _data(n=2, h=6, w=6, c=2) -> np.ndarray:
    return np.ones((n, h, w, c))


def _filters(fn=3, fh=3, fw=3, c=2) -> np.ndarray:
    return np.ones((fn, fh, fw, c))


def _bias(fn=3) -> np.ndarray:
    return np.zeros(fn)


def _conv(**kwargs: Any) -> Callable[[], tuple]:
    def make() -> tuple:
        return (kwargs.get("u", _data()), kwargs.get("W", _filters()), kwargs.get("b", _bias()))

    return make


def _conv_back(dz: np.ndarray) -> Callable[[], tuple]:
    return lambda: (dz, _data(), _filters(), _bias())


def _pool_back(dz: np.ndarray, z: Any = None) -> Callable[[], tuple]:
    return lambda: (dz, _data(), z)


CONV = "convolution2d"
POOLS = ("max_pooling2d", "average_pooling2d")

BAD_CALLS: tuple[BadCall, ...] = (
    # convolution2d: shapes
    BadCall(
        "conv-u-3d",
        CONV,
        _conv(u=np.ones((6, 6, 2))),
        {},
        "u",
        says="must have 4 dimensions (n, h, w, c)",
    ),
    BadCall("conv-u-5d", CONV, _conv(u=np.ones((1, 2, 6, 6, 2))), {}, "u"),
    BadCall(
        "conv-W-3d",
        CONV,
        _conv(W=np.ones((3, 3, 2))),
        {},
        "W",
        says="must have 4 dimensions (fn, fh, fw, fc)",
    ),
    BadCall(
        "conv-b-2d", CONV, _conv(b=np.zeros((3, 1))), {}, "b", says="must have 1 dimension (fn,)"
    ),
    BadCall(
        "conv-b-length",
        CONV,
        _conv(W=_filters(fn=4)),
        {},
        "b",
        says="b must have one bias per filter, shape (4,), got (3,)",
    ),
    BadCall("conv-channel-mismatch", CONV, _conv(W=_filters(c=3)), {}, "W"),
    BadCall(
        "conv-filter-larger-than-padded-input",
        CONV,
        _conv(W=_filters(fh=9)),
        {"padding": 1},
        "filter",
    ),
    *(
        BadCall(f"conv-u-{axis}-0", CONV, _conv(u=np.ones(shape)), {}, "u", says=f"{axis} >= 1")
        for axis, shape in (("h", (2, 0, 6, 2)), ("w", (2, 6, 0, 2)), ("c", (2, 6, 6, 0)))
    ),
    *(
        BadCall(
            f"conv-W-{axis}-0",
            CONV,
            _conv(W=np.ones(shape), b=_bias(shape[0])),
            {},
            "W",
            says=f"{axis} >= 1",
        )
        for axis, shape in (("fn", (0, 3, 3, 2)), ("fh", (3, 0, 3, 2)), ("fw", (3, 3, 0, 2)))
    ),
    BadCall("conv-bias-length", CONV, _conv(b=_bias(4)), {}, "b"),
    BadCall("conv-bias-2d", CONV, _conv(b=np.zeros((3, 1))), {}, "b"),
    # convolution2d: padding and strides
    BadCall("conv-stride-0", CONV, _conv(), {"strides": 0}, "strides"),
    BadCall("conv-stride-tuple-0", CONV, _conv(), {"strides": (1, 0)}, "strides"),
    BadCall("conv-padding-negative", CONV, _conv(), {"padding": -1}, "padding"),
    BadCall("conv-padding-tuple-3", CONV, _conv(), {"padding": (1, 1, 1)}, "padding"),
    BadCall("conv-strides-tuple-1", CONV, _conv(), {"strides": (2,)}, "strides"),
    BadCall("conv-stride-float", CONV, _conv(), {"strides": 1.5}, "strides", TypeError),
    BadCall("conv-padding-float", CONV, _conv(), {"padding": 1.0}, "padding", TypeError),
    BadCall("conv-padding-str", CONV, _conv(), {"padding": "same"}, "padding", TypeError),
    BadCall("conv-stride-bool", CONV, _conv(), {"strides": True}, "strides", TypeError),
    # convolution2d: data
    BadCall("conv-u-strings", CONV, _conv(u=np.full((1, 3, 3, 2), "a")), {}, "u", TypeError),
    BadCall("conv-u-objects", CONV, _conv(u=np.full((1, 3, 3, 2), None)), {}, "u", TypeError),
    BadCall("conv-W-complex", CONV, _conv(W=_filters() * 1j), {}, "W", TypeError),
    BadCall("conv-u-ragged", CONV, _conv(u=[[[[1.0]]], [[[1.0, 2.0]]]]), {}, "u"),
    # convolution2d_back
    BadCall(
        "conv-back-dz-shape",
        "convolution2d_back",
        _conv_back(np.ones((2, 4, 4, 2))),
        {},
        "dz",
        says="must have shape (2, 4, 4, 3) (the output shape of convolution2d)",
    ),
    BadCall(
        "conv-back-dz-3d",
        "convolution2d_back",
        _conv_back(np.ones((4, 4, 3))),
        {},
        "dz",
        says="must have 4 dimensions (n, zh, zw, fn)",
    ),
    BadCall(
        "conv-back-dz-broadcastable",
        "convolution2d_back",
        _conv_back(np.ones((1, 4, 4, 3))),
        {},
        "dz",
    ),
    # pooling, forward
    *(
        BadCall(
            f"{p}-u-3d",
            p,
            lambda: (np.ones((6, 6, 2)),),
            {},
            "u",
            says="must have 4 dimensions (n, h, w, c)",
        )
        for p in POOLS
    ),
    *(
        BadCall(f"{p}-u-{axis}-0", p, lambda s=shape: (np.ones(s),), {}, "u", says=f"{axis} >= 1")
        for p in POOLS
        for axis, shape in (("h", (2, 0, 6, 2)), ("w", (2, 6, 0, 2)), ("c", (2, 6, 6, 0)))
    ),
    *(
        BadCall(
            f"{p}-window-too-large",
            p,
            lambda: (_data(),),
            {"pool_size": 7},
            "pool_size",
            says="larger than the padded input 6x6 (u 6x6 with padding (0, 0))",
        )
        for p in POOLS
    ),
    *(BadCall(f"{p}-pool-0", p, lambda: (_data(),), {"pool_size": 0}, "pool_size") for p in POOLS),
    *(BadCall(f"{p}-stride-0", p, lambda: (_data(),), {"strides": 0}, "strides") for p in POOLS),
    *(
        BadCall(f"{p}-padding-negative", p, lambda: (_data(),), {"padding": -2}, "padding")
        for p in POOLS
    ),
    *(
        BadCall(f"{p}-pool-tuple-3", p, lambda: (_data(),), {"pool_size": (2, 2, 2)}, "pool_size")
        for p in POOLS
    ),
    *(
        BadCall(f"{p}-stride-float", p, lambda: (_data(),), {"strides": 2.0}, "strides", TypeError)
        for p in POOLS
    ),
    *(
        BadCall(f"{p}-u-strings", p, lambda: (np.full((1, 2, 2, 1), "x"),), {}, "u", TypeError)
        for p in POOLS
    ),
    # pooling, backward
    *(
        BadCall(
            f"{p}-back-dz-shape",
            f"{p}_back",
            _pool_back(np.ones((2, 2, 2, 2))),
            {},
            "dz",
            says=f"must have shape (2, 3, 3, 2) (the output shape of {p})",
        )
        for p in POOLS
    ),
    *(
        BadCall(
            f"{p}-back-dz-broadcastable", f"{p}_back", _pool_back(np.ones((1, 3, 3, 2))), {}, "dz"
        )
        for p in POOLS
    ),
    *(
        BadCall(
            f"{p}-back-z-shape",
            f"{p}_back",
            _pool_back(np.ones((2, 3, 3, 2)), np.ones((2, 2, 2, 2))),
            {},
            "z",
            says=f"must have shape (2, 3, 3, 2) (the output of {p})",
        )
        for p in POOLS
    ),
    *(
        BadCall(
            f"{p}-back-dz-3d",
            f"{p}_back",
            _pool_back(np.ones((2, 3, 3))),
            {},
            "dz",
            says="must have 4 dimensions (n, zh, zw, c)",
        )
        for p in POOLS
    ),
    *(
        BadCall(
            f"{p}-back-z-3d",
            f"{p}_back",
            _pool_back(np.ones((2, 3, 3, 2)), np.ones((2, 3, 3))),
            {},
            "z",
            says="must have 4 dimensions (n, zh, zw, c)",
        )
        for p in POOLS
    ),
    # flatten
    BadCall(
        "flatten-u-2d",
        "flatten2d",
        lambda: (np.ones((2, 3)),),
        {},
        "u",
        says="must have 4 dimensions (n, h, w, c)",
    ),
    BadCall(
        "flatten-back-dz-shape",
        "flatten2d_back",
        lambda: (np.ones((2, 71)), _data(), None),
        {},
        "dz",
        says="must have shape (2, 72) (the output shape of flatten2d)",
    ),
    BadCall(
        "flatten-back-z-shape",
        "flatten2d_back",
        lambda: (np.ones((2, 72)), _data(), np.ones((2, 71))),
        {},
        "z",
        says="must have shape (2, 72) (the output of flatten2d)",
    ),
    BadCall(
        "flatten-back-z-3d",
        "flatten2d_back",
        lambda: (np.ones((2, 72)), _data(), np.ones((2, 72, 1))),
        {},
        "z",
        says="must have 2 dimensions (n, h*w*c)",
    ),
    BadCall(
        "flatten-back-dz-4d",
        "flatten2d_back",
        lambda: (_data(), _data(), None),
        {},
        "dz",
        says="must have 2 dimensions (n, h*w*c)",
    ),
    BadCall(
        "flatten-back-u-3d",
        "flatten2d_back",
        lambda: (np.ones((2, 72)), np.ones((6, 6, 2)), None),
        {},
        "u",
        says="must have 4 dimensions (n, h, w, c)",
    ),
    # step functions
    BadCall(
        "conv-u-3d-step",
        "conv",
        lambda: (np.ones((5, 5, 1)), np.ones((3, 3))),
        {},
        "u",
        says="must have 2 dimensions (h, w)",
    ),
    BadCall(
        "conv-f-too-large",
        "conv",
        lambda: (np.ones((2, 2)), np.ones((3, 3))),
        {},
        "filter",
        says="larger than the padded input 2x2 (u 2x2 with padding (0, 0))",
    ),
    BadCall(
        "convp-p-length", "convp", lambda: (np.ones((5, 5)), np.ones((3, 3))), {"p": (1,)}, "p"
    ),
    BadCall("convps-s-0", "convps", lambda: (np.ones((5, 5)), np.ones((3, 3))), {"s": (0, 1)}, "s"),
    BadCall(
        "convpsc-channels",
        "convpsc",
        lambda: (np.ones((5, 5, 3)), np.ones((3, 3, 2))),
        {},
        "f",
        says="f has fc=2 channels but u has c=3",
    ),
    BadCall(
        "convpscf-f-3d",
        "convpscf",
        lambda: (np.ones((5, 5, 3)), np.ones((3, 3, 3))),
        {},
        "f",
        says="must have 4 dimensions (fn, fh, fw, fc)",
    ),
    BadCall(
        "convpscfu-u-3d",
        "convpscfu",
        lambda: (np.ones((5, 5, 3)), np.ones((1, 3, 3, 3))),
        {},
        "u",
        says="must have 4 dimensions (n, h, w, c)",
    ),
)
