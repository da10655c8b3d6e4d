"""Shape rules of the article's layers (the numbers in its layer table).

Shapes of one example, without the batch axis: images are ``(h, w, c)``,
flattened data is an int. Every layer function in refcnn computes its output
size with :func:`output_size`, so these helpers and the layers cannot disagree.

>>> convolution2d_output_shape((28, 28, 1), 6, 7)
(22, 22, 6)
>>> pooling2d_output_shape((22, 22, 6))
(11, 11, 6)
>>> flatten2d_output_shape((11, 11, 6))
726
"""

from __future__ import annotations

from typing import Any

from ._args import Pair, as_pair

__all__ = [
    "convolution2d_output_shape",
    "flatten2d_output_shape",
    "output_size",
    "pooling2d_output_shape",
]


def output_size(size: int, window: int, padding: int, stride: int) -> int:
    """``floor((size + 2*padding - window) / stride) + 1``.

    The article truncates with ``int(...)``; for the non-negative numerators
    that reach here that is the floor, so trailing rows that do not fill a
    whole window are dropped (torch's default ``ceil_mode=False`` agrees).
    """
    return (size + 2 * padding - window) // stride + 1


def window_geometry(
    height: int,
    width: int,
    window: Pair,
    padding: Pair,
    strides: Pair,
    window_name: str,
    input_name: str,
) -> Pair:
    """Output ``(zh, zw)``; ``ValueError`` if the window exceeds the padded input."""
    padded = (height + 2 * padding[0], width + 2 * padding[1])
    if window[0] > padded[0] or window[1] > padded[1]:
        raise ValueError(
            f"{window_name} {window[0]}x{window[1]} is larger than the padded input "
            f"{padded[0]}x{padded[1]} ({input_name} {height}x{width} with padding "
            f"{padding}); the output would be empty"
        )
    return (
        output_size(height, window[0], padding[0], strides[0]),
        output_size(width, window[1], padding[1], strides[1]),
    )


def _image_shape(input_shape: Any) -> tuple[int, int, int]:
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be an (h, w, c) tuple, got {input_shape!r}")
    h, w = as_pair(tuple(input_shape[:2]), "input_shape (h, w)", minimum=1)
    c = as_pair(input_shape[2], "input_shape c", minimum=1)[0]
    return h, w, c


def convolution2d_output_shape(
    input_shape: tuple[int, int, int],
    filters: int,
    filter_size: int | Pair,
    padding: int | Pair = 0,
    strides: int | Pair = 1,
) -> tuple[int, int, int]:
    """Output ``(zh, zw, filters)`` of ``convolution2d`` on ``(h, w, c)`` images."""
    h, w, _ = _image_shape(input_shape)
    fn = as_pair(filters, "filters", minimum=1)[0]
    zh, zw = window_geometry(
        h,
        w,
        as_pair(filter_size, "filter_size", minimum=1),
        as_pair(padding, "padding", minimum=0),
        as_pair(strides, "strides", minimum=1),
        "filter_size",
        "input",
    )
    return zh, zw, fn


def pooling2d_output_shape(
    input_shape: tuple[int, int, int],
    pool_size: int | Pair = 2,
    padding: int | Pair = 0,
    strides: int | Pair | None = None,
) -> tuple[int, int, int]:
    """Output ``(zh, zw, c)`` of max or average pooling; strides default to pool_size."""
    h, w, c = _image_shape(input_shape)
    window = as_pair(pool_size, "pool_size", minimum=1)
    zh, zw = window_geometry(
        h,
        w,
        window,
        as_pair(padding, "padding", minimum=0),
        window if strides is None else as_pair(strides, "strides", minimum=1),
        "pool_size",
        "input",
    )
    return zh, zw, c


def flatten2d_output_shape(input_shape: tuple[int, int, int]) -> int:
    """Length ``h * w * c`` of one flattened ``(h, w, c)`` example."""
    h, w, c = _image_shape(input_shape)
    return h * w * c
