"""Bug: max-pool backward splits the gradient equally among tied maxima."""

import numpy as np

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.article_loops import _geometry


def max_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    pu, (kh, kw), (sh, sw), (ph, pw), (zh, zw) = _geometry(u, pool_size, padding, strides)
    dpu = np.zeros(pu.shape)
    for i in range(zh):
        for j in range(zw):
            window = pu[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
            ties = window == window.max(axis=(1, 2), keepdims=True)
            share = dz[:, i, j, :][:, None, None, :] / ties.sum(axis=(1, 2), keepdims=True)
            dpu[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :] += ties * share
    h, w = np.shape(u)[1:3]
    return dpu[:, ph : ph + h, pw : pw + w, :]
