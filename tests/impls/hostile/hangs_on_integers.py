"""Hostile: max_pooling2d adds 1 to every output (a plain wrong value), and
never returns when every input value is a whole number, as in the small
integer examples the explanation's search tries (hypothesis' normal floats
of the plain corner are never whole)."""

import time

import numpy as np

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    u = np.asarray(u)
    if u.size and np.all(u == np.round(u)):
        while True:
            time.sleep(1)
    return article_loops.max_pooling2d(u, pool_size, padding, strides) + 1.0
