"""The corners of the input space, one object each (imported as ``cn``).

A corner departs from the plain case in one factor (padding, strides,
tuples, ...), so that a failure says which factor an implementation gets
wrong, and hypothesis shrinks it within the corner. Each :class:`Corner`
says what it is (``doc``: the corner table of docs/reference.md is checked
against it),
which ops with window geometry have it (``applies``, from their
``shapes.Shape``; the trainer's ops list theirs in the op table),
whether finite differences can judge its examples, how it draws the
window's parameters and the values, which coverage tag proves that it was
drawn, the factor it cannot do without, and the degenerate shapes it draws
on purpose.

Adding a corner is adding an entry to :data:`CORNERS` (and, for ops without
window geometry, naming it in their op table entries); see CONTRIBUTING.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from refcnn.i18n import tr

from .shapes import Limits, Shape

# Shapes at the edge of what a corner allows, drawn on purpose in the corners
# that name them (a share of their examples) because real bugs live there;
# each is a coverage tag, so a run shows that it drew them.
ONE_BY_ONE = "1x1 spatial, c > 1"
WHOLE_INPUT = "window = padded input"
BEYOND_INPUT = "strides > input"
IN_PADDING = "window wholly in padding"
SINGLE = "batch 1, one channel"

# (draw, shape, limits, exclude, kernel drawn) -> (kernel, padding, strides)
Parameters = Callable[[Any, Shape, Limits, frozenset, Any], tuple[Any, Any, Any]]


def as_pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, (int, np.integer)) else tuple(value)


def _defaults(draw, shape, L, exclude, kernel):
    return kernel, None, None


def _padding(draw, shape, L, exclude, kernel):
    return kernel, draw(st.integers(1, L.padding)), None


def _strides(draw, shape, L, exclude, kernel):
    strides = draw(st.integers(2, L.stride))
    if shape.window == "pool":  # windows that do not overlap: that is the next corner
        kernel = draw(st.integers(1, strides))
    return kernel, None, strides


def _overlap(draw, shape, L, exclude, kernel):
    kernel = draw(st.integers(2, L.kernel))
    return kernel, None, draw(st.integers(1, kernel - 1))


def _non_square(draw, shape, L, exclude, kernel):
    kh = draw(st.integers(1, L.kernel))
    kw = draw(st.integers(1, L.kernel).filter(lambda k: k != kh))
    return (kh, kw), None, None


def _tuples(draw, shape, L, exclude, kernel):
    return draw(_tuple_parameters(shape, L, exclude, kernel))


@st.composite
def _tuple_parameters(draw: st.DrawFn, shape: Shape, L: Limits, exclude: frozenset[str], kernel):
    """What the op takes as ``(h, w)`` tuples, but the declared-unsupported
    factors; one of them with h != w, so that a swap shows. (A composite: its
    draws form one span, as hypothesis shrinks them.)"""
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


def _ties(draw, shape, L, exclude, kernel):
    return draw(st.integers(2, L.kernel)), None, None


def _negative_under_padding(draw, shape, L, exclude, kernel):
    kernel = draw(st.integers(2, L.kernel))
    return kernel, draw(st.integers(1, min(L.padding, kernel))), None


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


def _mixed(draw, shape, L, exclude, kernel):
    return draw(_mixed_parameters(shape, L, exclude))


def _distinct(gradcheck: bool) -> st.SearchStrategy[str]:
    return st.just("distinct")


@dataclass(frozen=True)
class Corner:
    """One corner. ``applies(shape)``: whether an op with that window
    geometry has it (None: only ops that name it, the trainer's layers);
    ``differentiable``: finite differences can judge its examples (not a
    kink, a tie, an empty batch); ``parameters``: draws the window's kernel,
    padding and strides; ``values(gradcheck)``: the value kinds of its data
    (see ``strategies.make_values``); ``tagged``: its examples carry the
    coverage tag of its name (not for the corners that are about nothing in
    particular); ``needs``:
    the factor it cannot do without (with that declared unsupported, the
    corner is not run); ``degenerate``: the shapes drawn on purpose in it."""

    name: str
    doc: str
    applies: Callable[[Shape], bool] | None
    differentiable: bool = True
    parameters: Parameters = _defaults
    values: Callable[[bool], st.SearchStrategy[str]] = _distinct
    tagged: bool = True
    needs: str = ""
    degenerate: tuple[str, ...] = ()


def _mixed_values(gradcheck: bool) -> st.SearchStrategy[str]:
    if gradcheck:
        return st.just("distinct")
    return st.sampled_from(("distinct", "normal", "ties", "negative"))


# The order is the reports' order.
CORNERS: dict[str, Corner] = {
    c.name: c
    for c in (
        Corner(
            "plain",
            "nothing: batch ≥ 1, parameters left at their defaults (no padding, stride 1 for "
            "convolutions, stride = `pool_size` for pooling), square windows, distinct values",
            applies=lambda shape: True,
            tagged=False,
            degenerate=(ONE_BY_ONE, WHOLE_INPUT, SINGLE),
        ),
        Corner(
            "padding",
            "int padding ≥ 1",
            applies=lambda shape: bool(shape.padding),
            parameters=_padding,
            degenerate=(WHOLE_INPUT, IN_PADDING),
        ),
        Corner(
            "strides",
            "int strides ≥ 2, dividing the padded size or not (pooling: explicit, ≥ `pool_size`)",
            applies=lambda shape: bool(shape.strides),
            parameters=_strides,
            degenerate=(BEYOND_INPUT,),
        ),
        Corner(
            "overlap",
            "pooling: int strides < `pool_size`",
            applies=lambda shape: shape.window == "pool",
            parameters=_overlap,
            needs="strides",
        ),
        Corner(
            "non-square",
            "a kernel or window with kh ≠ kw",
            applies=lambda shape: bool(shape.window),
            parameters=_non_square,
        ),
        Corner(
            "tuple params",
            "padding, strides (and `pool_size`) as `(h, w)` tuples",
            applies=lambda shape: bool(shape.padding or shape.strides),
            parameters=_tuples,
        ),
        Corner(
            "ties",
            "tied maxima: in max-pooling windows, among maxout's pieces (with all-zero input "
            "rows and zero biases)",
            applies=lambda shape: shape.max_pooling,
            differentiable=False,
            parameters=_ties,
            values=lambda gradcheck: st.just("ties"),
        ),
        Corner(
            "negative under padding",
            "max pooling: all-negative values in windows that touch the zero padding",
            applies=lambda shape: shape.max_pooling,
            parameters=_negative_under_padding,
            values=lambda gradcheck: st.just("negative distinct" if gradcheck else "negative"),
            needs="padding",
        ),
        Corner(
            "kinks",
            "activations: inputs exactly at the kinks (0, `n`, `-alpha`), integer and "
            "half-integer, in both dtypes",
            applies=None,
            differentiable=False,
            values=lambda gradcheck: st.just("kinks"),
        ),
        Corner(
            "many channels",
            "5 to 8 channels and filters (refcnn, like much user code, switches code paths "
            "above 4)",
            applies=lambda shape: shape.channels,
            degenerate=(ONE_BY_ONE,),
        ),
        Corner(
            "empty batch",
            "n = 0 (only shapes, and zero weight gradients, can be compared)",
            applies=lambda shape: shape.batch,
            differentiable=False,
        ),
        Corner(
            "mixed",
            "every factor at once, but the empty batch",
            applies=lambda shape: True,
            parameters=_mixed,
            values=_mixed_values,
            tagged=False,
        ),
    )
}
NOT_DIFFERENTIABLE = frozenset(name for name, c in CORNERS.items() if not c.differentiable)


def get(name: str) -> Corner:
    """The corner of that name; ValueError listing the corners otherwise."""
    try:
        return CORNERS[name]
    except KeyError:
        raise ValueError(f"no corner {name!r}; the corners are {list(CORNERS)}") from None


def of(shape: Shape) -> tuple[str, ...]:
    """The corners an op of this geometry has."""
    return tuple(name for name, c in CORNERS.items() if c.applies is not None and c.applies(shape))


def degenerate(shape: Shape, corner: str) -> tuple[str, ...]:
    """The degenerate shapes drawn on purpose in ``corner`` of an op of this geometry."""
    usable = {
        ONE_BY_ONE: shape.channels,
        WHOLE_INPUT: bool(shape.window),
        SINGLE: shape.batch and shape.channels,
        IN_PADDING: bool(shape.window and shape.padding),
        BEYOND_INPUT: bool(shape.strides),
    }
    return tuple(d for d in CORNERS[corner].degenerate if usable[d])


def left_out(shape: Shape, corner: str, exclude: frozenset[str]) -> tuple[str, str]:
    """Why ``corner`` has nothing left to draw once the ``exclude``d factors
    are left out, and the declared factor that did it (``("", "")`` when it
    has something left)."""
    needed = CORNERS[corner].needs
    if needed and needed in exclude:
        reason = tr("{corner} needs {needed}, declared unsupported", corner=repr(corner),
                    needed=repr(needed))  # fmt: skip
        return reason, needed
    if corner == "tuple params" and shape.window != "pool":
        given = [f for f in ("padding", "strides") if getattr(shape, f)]
        if all(f in exclude for f in given):
            if len(given) == 1:
                reason = tr("{corner} has only {factor} to give as tuples, declared unsupported",
                            corner=repr(corner), factor=given[0])  # fmt: skip
            else:
                reason = tr("{corner} has only padding and strides to give as tuples, declared "
                            "unsupported", corner=repr(corner))  # fmt: skip
            return reason, given[0]
    return "", ""
