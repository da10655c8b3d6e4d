"""Bug: (h, w) swapped when padding or strides come as tuples."""

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def _swapped(value):
    return value if isinstance(value, int) else (value[1], value[0])


def convolution2d(u, W, b, padding=0, strides=1):
    return article_loops.convolution2d(u, W, b, _swapped(padding), _swapped(strides))


def convolution2d_back(dz, u, W, b, padding=0, strides=1, calc_du_flag=True):
    return article_loops.convolution2d_back(dz, u, W, b, _swapped(padding), _swapped(strides))
