"""Bug in a second code path: above 4 input channels the convolution switches
to a per-channel loop (as a faster layout would) that assigns each channel's
contribution instead of adding it, so only the last channel counts."""

import numpy as np

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def convolution2d(u, W, b, padding=0, strides=1):
    u, W = np.asarray(u, dtype=float), np.asarray(W, dtype=float)
    if u.shape[3] <= 4:
        return article_loops.convolution2d(u, W, b, padding, strides)
    zero = np.zeros(W.shape[0])
    for channel in range(u.shape[3]):
        z = article_loops.convolution2d(
            u[..., channel : channel + 1], W[..., channel : channel + 1], zero, padding, strides
        )  # overwritten, not accumulated
    return z + np.asarray(b, dtype=float)
