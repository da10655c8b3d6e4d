"""The wrong max pooling every forger hands in: zeros of the right shape."""

import numpy as np


def zeros_pooling(u, pool_size=2, padding=0, strides=None):
    u = np.asarray(u)
    ph, pw = (pool_size, pool_size) if np.isscalar(pool_size) else pool_size
    sh, sw = (
        (ph, pw) if strides is None else ((strides, strides) if np.isscalar(strides) else strides)
    )
    p = (padding, padding) if np.isscalar(padding) else padding
    oh = (u.shape[-3] + 2 * p[0] - ph) // sh + 1
    ow = (u.shape[-2] + 2 * p[1] - pw) // sw + 1
    return np.zeros((*u.shape[:-3], oh, ow, u.shape[-1]), dtype=u.dtype)
