"""Bug: the convolution's input gradient is assigned window by window
instead of accumulated, so overlapping windows overwrite each other."""

import numpy as np

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def convolution2d_back(dz, u, W, b, padding=0, strides=1, calc_du_flag=True):
    (ph, pw), (sh, sw) = article_loops.pair(padding), article_loops.pair(strides)
    _, dW, db = article_loops.convolution2d_back(dz, u, W, b, padding, strides)
    W, dz = np.asarray(W, dtype=float), np.asarray(dz, dtype=float)
    _, fh, fw, _ = W.shape
    n, h, w, c = np.shape(u)
    dpu = np.zeros((n, h + 2 * ph, w + 2 * pw, c))
    for i in range(dz.shape[1]):
        for j in range(dz.shape[2]):
            share = np.tensordot(dz[:, i, j, :], W, axes=(1, 0))
            dpu[:, i * sh : i * sh + fh, j * sw : j * sw + fw, :] = share  # should be +=
    return dpu[:, ph : ph + h, pw : pw + w, :], dW, db
