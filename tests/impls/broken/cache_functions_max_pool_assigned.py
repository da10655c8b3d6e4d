"""Bug in the cache-function style (the course's way): the max-pool backward
writes each window's gradient into ``dx`` with ``=``, not ``+=``, so where
windows overlap a later window overwrites what an earlier one routed."""

import numpy as np

from refcnn.conformance.adapters import from_cache_functions
from tests.impls.adapted_cache_functions import *  # noqa: F403
from tests.impls.adapted_cache_functions import _pool_param
from tests.impls.styles import cache_functions as cf


def max_pool_backward(dout, cache):
    x, windows, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    n, c, out_h, out_w, cells = windows.shape
    dx = np.zeros(x.shape)
    for i in range(out_h):
        for j in range(out_w):
            grad = np.zeros((n, c, cells))
            first = windows[:, :, i, j].argmax(axis=2)
            np.put_along_axis(grad, first[..., None], dout[:, :, i, j, None], axis=2)
            dx[:, :, i * s : i * s + ph, j * s : j * s + pw] = grad.reshape(n, c, ph, pw)  # +=
    return dx


max_pooling2d, max_pooling2d_back = from_cache_functions(
    "max_pooling2d", cf.max_pool_forward, max_pool_backward, params=_pool_param, data="NCHW"
)
