"""average_pooling2d with the right values and an extra leading axis of
length 1, ``(1, n, zh, zw, c)``: it broadcasts against the expected
``(n, zh, zw, c)``, so a judge that subtracts without comparing shapes passes it."""

from refcnn import *  # noqa: F403
from refcnn import average_pooling2d as _right


def average_pooling2d(u, pool_size=2, padding=0, strides=None):
    return _right(u, pool_size, padding, strides)[None]
