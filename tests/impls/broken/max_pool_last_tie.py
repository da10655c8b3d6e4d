"""Bug: max-pool backward routes each window's gradient to the LAST tied maximum."""

import numpy as np

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.article_loops import _geometry


def max_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    pu, (kh, kw), (sh, sw), (ph, pw), (zh, zw) = _geometry(u, pool_size, padding, strides)
    dpu = np.zeros(pu.shape)
    for i in range(zh):
        for j in range(zw):
            window = pu[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
            for k in range(pu.shape[0]):
                for m in range(pu.shape[3]):
                    flat = window[k, :, :, m].ravel()
                    last = flat.size - 1 - int(np.argmax(flat[::-1]))
                    a, d = divmod(last, kw)
                    dpu[k, i * sh + a, j * sw + d, m] += dz[k, i, j, m]
    h, w = np.shape(u)[1:3]
    return dpu[:, ph : ph + h, pw : pw + w, :]
