"""Hypothesis strategies for the conformance suite (imported as ``hh``).

A strategy draws the *geometry* (batch, sizes, channels, kernel, padding,
strides, each int or ``(h, w)`` tuple) and a *seed*; array values are then made
by ``numpy.random.default_rng(seed)``. Hypothesis shrinks the geometry to the
smallest failing case, and the values stay reproducible.

Value kinds:

* ``normal``: standard normal floats;
* ``ties``: integers in [-3, 3], so windows have tied maxima (torch routes
  ties to the first maximum too, so the comparison is exact);
* ``negative``: every value < 0, so a zero-padded border wins max pooling;
* ``distinct``: all values distinct, at least 0.05 apart and away from 0 (no
  ties with each other or with padded zeros), for finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

VALUE_KINDS = ("normal", "ties", "negative")
# Finite differences cost two forward calls per input element: keep them small.
GRADCHECK_LIMITS = {"max_batch": 2, "max_size": 6, "max_channels": 2, "max_kernel": 3}
DTYPES = ("float64", "float32")


@dataclass
class Sample:
    """One drawn case: array inputs by name, keyword parameters, and how it was
    made (for the reproduction snippet)."""

    arrays: dict[str, np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)
    origin: str = ""

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape)}:{v.dtype}" for k, v in self.arrays.items())
        return f"Sample({shapes}; {self.params}; {self.origin})"


def make_values(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    """Values of one kind (see module doc), float64."""
    size = int(np.prod(shape))
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "ties":
        return rng.integers(-3, 4, size=shape).astype(np.float64)
    if kind == "negative":
        return -np.abs(rng.standard_normal(shape)) - 0.1
    if kind == "distinct":
        # 0.05 apart, |v| >= 0.05: shuffled nonzero multiples of 0.05, jittered.
        steps = np.arange(1, size + 1) * rng.choice([-1, 1], size=size)
        values = rng.permutation(steps) * 0.05 + rng.uniform(-0.01, 0.01, size)
        return values.reshape(shape)
    raise ValueError(f"unknown value kind {kind!r}")


def pair_or_int(low: int, high: int) -> st.SearchStrategy:
    """An int, or an ``(h, w)`` tuple of ints, in ``[low, high]``."""
    one = st.integers(low, high)
    return st.one_of(one, st.tuples(one, one))


def as_pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


@st.composite
def geometry(
    draw: st.DrawFn,
    *,
    max_batch: int = 4,
    max_size: int = 12,
    max_channels: int = 4,
    max_kernel: int = 5,
    max_padding: int = 3,
    max_stride: int = 3,
) -> dict[str, Any]:
    """Batch, image size, channels, a window that fits the padded image,
    padding and strides (each as the article accepts: int or tuple)."""
    n = draw(st.integers(0, max_batch) if max_batch > 0 else st.just(0))
    c = draw(st.integers(1, max_channels))
    kernel = draw(pair_or_int(1, max_kernel))
    padding = draw(pair_or_int(0, max_padding))
    strides = draw(pair_or_int(1, max_stride))
    (kh, kw), (ph, pw) = as_pair(kernel), as_pair(padding)
    h = draw(st.integers(max(1, kh - 2 * ph), max(max_size, kh)))
    w = draw(st.integers(max(1, kw - 2 * pw), max(max_size, kw)))
    return {
        "n": n,
        "h": h,
        "w": w,
        "c": c,
        "kernel": kernel,
        "padding": padding,
        "strides": strides,
    }


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**32 - 1)


def value_kinds(tie_free: bool) -> st.SearchStrategy[str]:
    return st.just("distinct") if tie_free else st.sampled_from(VALUE_KINDS)
