"""The limits of what is drawn and the geometry an op takes: plain data that
the corners (:mod:`.corners`), the strategies and the op table share."""

from __future__ import annotations

from dataclasses import dataclass


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
