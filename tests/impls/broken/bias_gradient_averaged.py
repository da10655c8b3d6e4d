"""Bug: the bias gradient is averaged over batch and positions, not summed."""

import numpy as np

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def convolution2d_back(dz, u, W, b, padding=0, strides=1, calc_du_flag=True):
    du, dW, _ = article_loops.convolution2d_back(dz, u, W, b, padding, strides)
    dz = np.asarray(dz, dtype=float)
    db = dz.mean(axis=(0, 1, 2)) if dz.size else np.zeros(dz.shape[3])
    return du, dW, db
