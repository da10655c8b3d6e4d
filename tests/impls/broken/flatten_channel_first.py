"""Bug: flatten in torch's (c, h, w) order instead of the article's (h, w, c)."""

import numpy as np

from tests.impls.article_loops import *  # noqa: F403


def flatten2d(u):
    u = np.asarray(u, dtype=float)
    n, h, w, c = u.shape
    return u.transpose(0, 3, 1, 2).reshape(n, c * h * w)


def flatten2d_back(dz, u, z):
    n, h, w, c = np.shape(u)
    return np.array(dz, dtype=float).reshape(n, c, h, w).transpose(0, 2, 3, 1).copy()
