"""Bug: average pooling's backward spreads each window's gradient over the
window's real cells by listing their indices, which it cannot index with
when the list is empty: it raises IndexError whenever a window lies wholly
in the padding (a padding at least as large as the window)."""

import numpy as np

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.article_loops import _geometry


def average_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    _, (kh, kw), (sh, sw), (ph, pw), (zh, zw) = _geometry(u, pool_size, padding, strides)
    h, w = np.shape(u)[1:3]
    dz = np.asarray(dz, dtype=float)
    du = np.zeros(np.shape(u), dtype=float)
    for i in range(zh):
        for j in range(zw):
            cells = np.array(
                [
                    (r - ph, s - pw)
                    for r in range(i * sh, i * sh + kh)
                    for s in range(j * sw, j * sw + kw)
                    if ph <= r < ph + h and pw <= s < pw + w
                ]
            )
            du[:, cells[:, 0], cells[:, 1], :] += dz[:, i, j, None, :] / (kh * kw)
    return du
