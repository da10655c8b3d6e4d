"""Argument checks shared by the public functions.

Every public function validates once, at its boundary, through these helpers,
so that bad input fails with a ``TypeError`` or ``ValueError`` that names the
argument and the expected form, never with an ``IndexError`` deep inside NumPy.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

Pair = tuple[int, int]


def _is_integer(value: Any) -> bool:
    # bool is an int subclass, but True as a stride is almost certainly a bug.
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def as_pair(value: Any, name: str, *, minimum: int) -> Pair:
    """Normalise an int or an ``(h, w)`` pair of ints, each ``>= minimum``."""
    if _is_integer(value):
        items = (value, value)
    elif isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"{name} must be an int or an (h, w) pair of two ints, "
                f"got a {type(value).__name__} of length {len(value)}: {value!r}"
            )
        items = tuple(value)
    else:
        raise TypeError(
            f"{name} must be an int or an (h, w) pair of ints, "
            f"got {type(value).__name__}: {value!r}"
        )
    for item in items:
        if not _is_integer(item):
            raise TypeError(
                f"{name} must hold ints, got {type(item).__name__} {item!r} in {value!r}"
            )
        if item < minimum:
            bound = "non-negative" if minimum == 0 else f">= {minimum}"
            raise ValueError(f"{name} must be {bound}, got {value!r}")
    return int(items[0]), int(items[1])


def as_array(value: Any, name: str, ndim: int | None, layout: str) -> np.ndarray:
    """Convert ``value`` to a real numeric ndarray with ``ndim`` dimensions
    (any number when ``ndim`` is None).

    ``layout`` names the axes (e.g. ``"(n, h, w, c)"``) for the error message.
    The dtype is left as it is; :func:`compute_dtype` decides the working type.
    """
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        shape = f" {layout}" if layout else ""
        raise ValueError(f"{name} must be a rectangular numeric array{shape}: {exc}") from None
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got complex dtype {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimension{'s' * (ndim != 1)} {layout}, got {array.ndim} "
            f"with shape {array.shape}"
        )
    return array


def as_float(value: Any, name: str) -> np.ndarray:
    """A real numeric array of any shape in its working dtype: floating
    arrays as they are, integer and bool data as float64."""
    array = as_array(value, name, None, "")
    return array.astype(compute_dtype(array), copy=False)


def compute_dtype(*arrays: np.ndarray) -> np.dtype:
    """The working and output dtype: floating inputs keep their (promoted)
    type; if no input is floating (integer or bool data, as in the article's
    examples), computation is in float64."""
    floating = [a.dtype for a in arrays if np.issubdtype(a.dtype, np.floating)]
    if not floating:
        return np.dtype(np.float64)
    return np.result_type(*floating)


def check_shape(array: np.ndarray, expected: tuple[int, ...], name: str, what: str) -> None:
    """Raise a ``ValueError`` unless ``array.shape == expected``."""
    if array.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)} ({what}), got {array.shape}")


def check_positive_dims(array: np.ndarray, name: str, axes: dict[int, str]) -> None:
    """Raise a ``ValueError`` if any of the named axes has length 0."""
    for axis, label in axes.items():
        if array.shape[axis] < 1:
            raise ValueError(f"{name} must have {label} >= 1, got shape {array.shape}")
