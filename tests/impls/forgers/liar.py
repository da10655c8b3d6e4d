"""Forger: returns an ndarray subclass whose arithmetic and comparisons say
it equals whatever it is compared with."""

import numpy as np

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.forgers._zeros import zeros_pooling


class Liar(np.ndarray):
    def __sub__(self, other):
        return np.zeros(np.shape(other))

    __rsub__ = __sub__

    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __ne__(self, other):
        return np.zeros(np.shape(other), dtype=bool)

    def astype(self, *args, **kwargs):
        return self


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    return zeros_pooling(u, pool_size, padding, strides).view(Liar)
