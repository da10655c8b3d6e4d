"""Hypothesis strategies for the conformance suite (imported as ``hh``).

Inputs are drawn *corner by corner*: each corner of the input space departs
from the plain case in one factor (padding, strides, tuples, ...), so that a
failure says which factor an implementation gets wrong, and hypothesis
shrinks it within the corner instead of to the simplest input of all (an
empty batch, an int parameter) where other bugs hide. ``mixed`` draws every
factor at once, except the empty batch: where only shapes can be compared,
the examples go to their own corner. The corners, and how each draws its
window parameters and values, are in :mod:`conformance.inputs.corners`.

A strategy draws the *geometry* (batch, sizes, channels, window, padding,
strides) and a *seed*; array values are then made by
``numpy.random.default_rng(seed)``, so they stay reproducible.

Value kinds:

* ``normal``: standard normal floats;
* ``ties``: integers in [-3, 3], so windows have tied maxima (torch routes
  ties to the first maximum too, so the comparison is exact);
* ``negative``: every value < 0, so a zero-padded border wins max pooling;
* ``distinct``: all values distinct, at least 0.05 apart and away from 0 (no
  ties with each other or with padded zeros), for the corners that are not
  about ties and for finite differences;
* ``negative distinct``: ``distinct`` values made negative;
* ``kinks``: integers and half-integers in [-7, 7] (exact in float32), with
  the op's kinks (0, n, -alpha) placed among them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from . import corners as cn
from .corners import (  # noqa: F401  (the corner names, re-exported as hh.*)
    BEYOND_INPUT,
    CORNERS,
    IN_PADDING,
    NOT_DIFFERENTIABLE,
    ONE_BY_ONE,
    SINGLE,
    WHOLE_INPUT,
    as_pair,
)
from .shapes import (  # (the limits and Shape, re-exported as hh.*)
    GRADCHECK_LIMITS,
    LIMITS,
    MANY_GRADCHECK_SIZE,
    Limits,
    Shape,
)

DTYPES = ("float64", "float32")


@dataclass
class Sample:
    """One drawn case: array inputs by name, keyword parameters, the corner it
    was drawn for, and how it was made (for the reproduction snippet)."""

    arrays: dict[str, np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)
    origin: str = ""
    corner: str = "mixed"

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape)}:{v.dtype}" for k, v in self.arrays.items())
        return f"Sample({self.corner}: {shapes}; {self.params}; {self.origin})"


def make_values(
    rng: np.random.Generator, shape: tuple[int, ...], kind: str, kinks: Iterable[float] = ()
) -> np.ndarray:
    """Values of one kind (see module doc), float64."""
    size = int(np.prod(shape))
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "ties":
        return rng.integers(-3, 4, size=shape).astype(np.float64)
    if kind == "negative":
        return -np.abs(rng.standard_normal(shape)) - 0.1
    if kind in ("distinct", "negative distinct"):
        # 0.05 apart, |v| >= 0.04: shuffled nonzero multiples of 0.05, jittered.
        steps = np.arange(1, size + 1) * rng.choice([-1, 1], size=size)
        values = rng.permutation(steps) * 0.05 + rng.uniform(-0.01, 0.01, size)
        if kind == "negative distinct":
            values = -np.abs(values)
        return values.reshape(shape)
    if kind == "kinks":
        values = rng.integers(-14, 15, size=size) / 2.0
        points = list(kinks)[:size]
        values[rng.permutation(size)[: len(points)]] = points
        return values.reshape(shape)
    raise ValueError(f"unknown value kind {kind!r}")


@contextmanager
def without_local_constants() -> Iterator[None]:
    """Draw without hypothesis's bias towards literals of "local" code.

    Recent hypothesis versions sometimes draw an integer or float that
    appears in the source of modules loaded from outside site-packages
    (refcnn in a clone, the user's module): the examples a seed gives would
    then change with any edit to that code, and differ between a clone and an
    installed wheel. Within this block that source contributes nothing; the
    version's own constants still apply. A hypothesis without the feature
    is left as it is.
    """
    try:
        from hypothesis.internal.conjecture import providers

        original = providers._get_local_constants
        empty = providers.Constants()
    except (ImportError, AttributeError):  # no such feature in this version
        yield
        return
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**32 - 1)


@st.composite
def geometry(
    draw: st.DrawFn,
    shape: Shape,
    corner: str,
    limits: Limits = LIMITS,
    exclude: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Batch ``n``, ``h``, ``w``, channels ``c``, filters ``fn``, window
    ``kernel`` (int or ``(kh, kw)``), ``padding`` and ``strides`` (None when
    left at the default, else int or tuple) for one corner. The factors in
    ``exclude`` (corners the implementation declared unsupported) are drawn
    in no corner. A share of the examples of some corners get one of their
    degenerate shapes (``corners.Corner.degenerate``); none under
    ``GRADCHECK_LIMITS``."""
    if cn.get(corner).name not in cn.of(shape):
        raise ValueError(f"no corner {corner!r} for {shape}; its corners: {cn.of(shape)}")
    L = limits
    # Not in the gradient check: it judges the backward against the forward
    # on the same inputs, and needs the ordinary shapes' overlapping windows
    # (the backward test compares the degenerate ones with the oracle).
    degenerate = cn.degenerate(shape, corner) if limits is not GRADCHECK_LIMITS else ()
    # a third to a half of the examples keep the corner's ordinary shapes
    special = (
        draw(st.sampled_from(("",) * max(1, len(degenerate) - 1) + degenerate))
        if degenerate
        else ""
    )
    many = corner == "many channels" or (
        corner == "mixed" and "many channels" not in exclude and draw(st.integers(0, 3)) == 0
    )
    channel_range = (2, L.channels) if special == ONE_BY_ONE and not many else (1, L.channels)
    channel_range = L.many if many else channel_range
    c = draw(st.integers(*channel_range)) if shape.channels else 1
    fn = draw(st.integers(*channel_range)) if shape.filters else 1
    n = 0 if corner == "empty batch" else draw(st.integers(1, L.batch))
    if special == SINGLE:
        n, c, fn = 1, 1, 1
    kernel: Any = draw(st.integers(1, L.kernel))
    padding: Any = None
    strides: Any = None
    size: tuple[int, int] | None = None  # (h, w) fixed by a degenerate shape
    if special == ONE_BY_ONE:
        kernel, size = 1, (1, 1)
    elif corner == "padding" and special == WHOLE_INPUT:
        padding = draw(st.integers(1, (L.kernel - 1) // 2))
        kernel = draw(st.integers(2 * padding + 1, L.kernel))
        size = (kernel - 2 * padding,) * 2
    elif corner == "padding" and special == IN_PADDING:
        padding = draw(st.integers(1, L.padding))
        kernel = draw(st.integers(1, min(padding, L.kernel)))
    elif special == WHOLE_INPUT:
        size = (kernel, kernel)
    elif special == BEYOND_INPUT:
        strides = draw(st.integers(2, L.stride))
        size = (draw(st.integers(1, strides - 1)), draw(st.integers(1, strides - 1)))
        kernel = draw(st.integers(1, min(size)))
    else:
        kernel, padding, strides = CORNERS[corner].parameters(draw, shape, L, exclude, kernel)
    if shape.tuples:  # the step functions take p and s as tuples only
        padding = None if padding is None else as_pair(padding)
        strides = None if strides is None else as_pair(strides)
    (kh, kw), (ph, pw) = as_pair(kernel), as_pair(padding or 0)
    if many and limits is GRADCHECK_LIMITS:
        top = MANY_GRADCHECK_SIZE
    else:
        top = L.size
    if size is None:
        size = (
            draw(st.integers(max(1, kh - 2 * ph), max(top, kh))),
            draw(st.integers(max(1, kw - 2 * pw), max(top, kw))),
        )
    return {
        "n": n,
        "h": size[0],
        "w": size[1],
        "c": c,
        "fn": fn,
        "kernel": kernel,
        "padding": padding,
        "strides": strides,
    }


def value_kind(corner: str, gradcheck: bool) -> st.SearchStrategy[str]:
    """The values a corner's data gets."""
    return CORNERS[corner].values(gradcheck)


def batch_size(draw: st.DrawFn, corner: str, top: int, minimum: int = 1) -> int:
    """n for the trainer's layers: 0 only in the empty-batch corner."""
    return 0 if corner == "empty batch" else draw(st.integers(minimum, top))
