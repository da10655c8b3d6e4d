"""Hypothesis strategies for the conformance suite (imported as ``hh``).

Inputs are drawn *corner by corner*: each corner of the input space departs
from the plain case in one factor (padding, strides, tuples, ...), so that a
failure says which factor an implementation gets wrong, and hypothesis
shrinks it within the corner instead of to the simplest input of all (an
empty batch, an int parameter) where other bugs hide. ``mixed`` draws every
factor at once, except the empty batch: where only shapes can be compared,
the examples go to their own corner.

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

DTYPES = ("float64", "float32")

# Each corner's name (as it appears in reports and declarations) and meaning.
CORNERS: dict[str, str] = {
    "plain": "batch >= 1, parameters left at their defaults (no padding, stride 1 for "
    "convolutions, stride = pool_size for pooling), square windows, distinct values",
    "padding": "int padding >= 1",
    "strides": "int strides >= 2, dividing the padded size or not (pooling: explicit "
    "strides >= pool_size)",
    "overlap": "pooling windows that overlap: int strides < pool_size",
    "non-square": "a kernel or window with kh != kw",
    "tuple params": "padding, strides (and pool_size) given as (h, w) tuples",
    "ties": "tied maxima: in a pooling window, or among maxout's pieces (with all-zero "
    "input rows and zero biases)",
    "negative under padding": "max pooling: all-negative values in windows that touch "
    "the zero padding",
    "kinks": "inputs exactly at the activation's kinks (0, n, -alpha), in both dtypes",
    "many channels": "5 to 8 channels (and filters)",
    "empty batch": "a batch of n = 0",
    "mixed": "every factor drawn at once, but the empty batch (its own corner)",
}
# Shapes at the edge of what a corner allows, drawn on purpose in the corners
# below (a share of their examples) because real bugs live there; each is a
# coverage tag, so a run shows that it drew them.
ONE_BY_ONE = "1x1 spatial, c > 1"
WHOLE_INPUT = "window = padded input"
BEYOND_INPUT = "strides > input"
IN_PADDING = "window wholly in padding"
SINGLE = "batch 1, one channel"
DEGENERATE: dict[str, tuple[str, ...]] = {
    "plain": (ONE_BY_ONE, WHOLE_INPUT, SINGLE),
    "many channels": (ONE_BY_ONE,),
    "padding": (WHOLE_INPUT, IN_PADDING),
    "strides": (BEYOND_INPUT,),
}
# The factor a corner cannot do without: with it declared unsupported (and so
# drawn in no corner), the corner has nothing to draw, and is not run.
NEEDS = {"negative under padding": "padding", "overlap": "strides"}
# Corners whose examples finite differences cannot judge (a kink or a tie has
# no derivative; an empty batch has nothing to differentiate).
NOT_DIFFERENTIABLE = frozenset({"ties", "kinks", "empty batch"})


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


def as_pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, (int, np.integer)) else tuple(value)


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**32 - 1)


@dataclass(frozen=True)
class Limits:
    """Sizes drawn. The gradient check gets somewhat smaller ones: where it
    finds a difference along its random directions, it compares element by
    element (two forward calls per input element)."""

    batch: int = 4
    size: int = 10
    channels: int = 4
    many: tuple[int, int] = (5, 8)  # channels and filters of "many channels"
    kernel: int = 4
    padding: int = 3
    stride: int = 3


LIMITS = Limits()
GRADCHECK_LIMITS = Limits(batch=2, size=8, channels=3, many=(5, 6), kernel=4, padding=2)
MANY_GRADCHECK_SIZE = 5  # height and width under "many channels": it is the channels that count


@dataclass(frozen=True)
class Shape:
    """What geometry an op takes. ``window``: ``"kernel"`` (from the filter's
    shape), ``"pool"`` (the ``pool_size`` parameter) or ``""``; ``padding`` and
    ``strides``: the parameters' names, or ``""`` for none; ``tuples``: the
    article's step functions, which take ``p`` and ``s`` as tuples only."""

    batch: bool = True
    channels: bool = True
    filters: bool = False
    window: str = "kernel"
    padding: str = "padding"
    strides: str = "strides"
    max_pooling: bool = False
    tuples: bool = False

    @property
    def corners(self) -> tuple[str, ...]:
        have = {
            "plain": True,
            "padding": bool(self.padding),
            "strides": bool(self.strides),
            "overlap": self.window == "pool",
            "non-square": bool(self.window),
            "tuple params": bool(self.padding or self.strides),
            "ties": self.max_pooling,
            "negative under padding": self.max_pooling,
            "many channels": self.channels,
            "empty batch": self.batch,
            "mixed": True,
        }
        return tuple(name for name, present in have.items() if present)

    def degenerate(self, corner: str) -> tuple[str, ...]:
        """The degenerate shapes drawn on purpose in ``corner``."""
        usable = {
            ONE_BY_ONE: self.channels,
            WHOLE_INPUT: bool(self.window),
            SINGLE: self.batch and self.channels,
            IN_PADDING: bool(self.window and self.padding),
            BEYOND_INPUT: bool(self.strides),
        }
        return tuple(d for d in DEGENERATE.get(corner, ()) if usable[d])

    def left_out(self, corner: str, exclude: frozenset[str]) -> str:
        """Why ``corner`` has nothing left to draw once the ``exclude``d
        factors are left out ("" when it has)."""
        needed = NEEDS.get(corner)
        if needed in exclude:
            return f"{corner!r} needs {needed!r}, declared unsupported"
        if corner == "tuple params" and self.window != "pool":
            given = [f for f in ("padding", "strides") if getattr(self, f)]
            if all(f in exclude for f in given):
                return (
                    f"{corner!r} has only {' and '.join(given)} to give as tuples, "
                    "declared unsupported"
                )
        return ""


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
    in no corner. A share of the examples of some corners get a degenerate
    shape (``DEGENERATE``), but under ``GRADCHECK_LIMITS``."""
    if corner not in CORNERS or corner not in shape.corners:
        raise ValueError(f"no corner {corner!r} for {shape}; its corners: {shape.corners}")
    L = limits
    pooling = shape.window == "pool"
    # Not in the gradient check: it judges the backward against the forward
    # on the same inputs, and needs the ordinary shapes' overlapping windows
    # (the backward test compares the degenerate ones with the oracle).
    degenerate = shape.degenerate(corner) if limits is not GRADCHECK_LIMITS else ()
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
    elif corner == "padding":
        padding = draw(st.integers(1, L.padding))
    elif corner == "strides":
        strides = draw(st.integers(2, L.stride))
        if pooling:  # windows that do not overlap: that is the next corner
            kernel = draw(st.integers(1, strides))
    elif corner == "overlap":
        kernel = draw(st.integers(2, L.kernel))
        strides = draw(st.integers(1, kernel - 1))
    elif corner == "non-square":
        kh = draw(st.integers(1, L.kernel))
        kw = draw(st.integers(1, L.kernel).filter(lambda k: k != kh))
        kernel = (kh, kw)
    elif corner == "tuple params":
        kernel, padding, strides = draw(_tuple_parameters(shape, L, exclude, kernel))
    elif corner in ("ties", "negative under padding"):
        kernel = draw(st.integers(2, L.kernel))
        if corner == "negative under padding":
            padding = draw(st.integers(1, min(L.padding, kernel)))
    elif corner == "mixed":
        kernel, padding, strides = draw(_mixed_parameters(shape, L, exclude))
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


@st.composite
def _tuple_parameters(
    draw: st.DrawFn, shape: Shape, L: Limits, exclude: frozenset[str], kernel: int
):
    """kernel, padding, strides of ``tuple params``: what the op takes as
    ``(h, w)`` tuples, but the declared-unsupported factors; one of them
    with h != w, so that a swap shows."""
    padding = strides = None
    with_padding = bool(shape.padding) and "padding" not in exclude
    with_strides = bool(shape.strides) and "strides" not in exclude
    if with_padding:
        ph = draw(st.integers(0, L.padding))
        other = st.integers(0, L.padding)
        padding = (ph, draw(other if with_strides else other.filter(lambda p: p != ph)))
    if with_strides:
        sh = draw(st.integers(1, L.stride))
        strides = (sh, draw(st.integers(1, L.stride).filter(lambda s: s != sh)))
    if shape.window == "pool":
        kh = draw(st.integers(1, L.kernel))
        kernel = (kh, kh if "non-square" in exclude else draw(st.integers(1, L.kernel)))
    return kernel, padding, strides


@st.composite
def _mixed_parameters(draw: st.DrawFn, shape: Shape, L: Limits, exclude: frozenset[str]):
    """kernel, padding, strides with every factor possible but the excluded."""
    tuples = "tuple params" not in exclude
    square = "non-square" in exclude or (shape.window == "pool" and not tuples)
    k = st.integers(1, L.kernel)
    kernel = draw(k if square else st.one_of(k, st.tuples(k, k)))
    if square and not isinstance(kernel, int):
        kernel = kernel[0]
    padding = strides = None
    if shape.padding and "padding" not in exclude:
        p = st.integers(0, L.padding)
        padding = draw(st.one_of(st.none(), p, *([st.tuples(p, p)] if tuples else [])))
    if shape.strides and "strides" not in exclude:
        s = st.integers(1, L.stride)
        strides = draw(st.one_of(st.none(), s, *([st.tuples(s, s)] if tuples else [])))
        if strides is not None and "overlap" in exclude and shape.window == "pool":
            kh, kw = as_pair(kernel)
            sh, sw = as_pair(strides)
            strides = None if (sh < kh or sw < kw) else strides
    return kernel, padding, strides


def value_kind(corner: str, gradcheck: bool) -> st.SearchStrategy[str]:
    """The values a corner's data gets."""
    if corner == "ties":
        return st.just("ties")
    if corner == "negative under padding":
        return st.just("negative distinct" if gradcheck else "negative")
    if corner == "kinks":
        return st.just("kinks")
    if corner == "mixed" and not gradcheck:
        return st.sampled_from(("distinct", "normal", "ties", "negative"))
    return st.just("distinct")


def batch_size(draw: st.DrawFn, corner: str, top: int, minimum: int = 1) -> int:
    """n for the trainer's layers: 0 only in the empty-batch corner."""
    return 0 if corner == "empty batch" else draw(st.integers(minimum, top))
