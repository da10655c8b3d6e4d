"""Bug: flatten with ``reshape(n, -1)``, which NumPy cannot do for n = 0
(the size of -1 is undefined): right everywhere but on the empty batch."""

import numpy as np

from tests.impls.article_loops import *  # noqa: F403


def flatten2d(u):
    u = np.array(u, dtype=float)
    return u.reshape(u.shape[0], -1)
