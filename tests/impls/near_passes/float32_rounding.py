"""Layers that compute float32 input in float32, with float32's rounding:
batch normalization whose variance is E[u^2] - E[u]^2 (cancellation costs
float32 ~3 digits: the documented 1e-3 of batch normalization), and average
pooling that adds a window's cells one at a time in float32."""

import numpy as np

from refcnn import *  # noqa: F403
from refcnn import average_pooling2d as _average_pooling2d
from refcnn import batch_normalization as _batch_normalization


def batch_normalization(u, gamma=1.0, beta=0.0, batch_norm_node=True, mean=None, var=None,
                        eps=1e-5):  # fmt: skip
    u = np.asarray(u)
    if mean is None:
        axes = (0,) if batch_norm_node else tuple(range(u.ndim - 1))
        mean = u.mean(axis=axes, dtype=u.dtype)
        var = (u * u).mean(axis=axes, dtype=u.dtype) - mean * mean
    return _batch_normalization(u, gamma, beta, batch_norm_node, mean, var, eps)


def _pair(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def average_pooling2d(u, pool_size=2, padding=0, strides=None):
    shape = _average_pooling2d(u, pool_size, padding, strides).shape
    u = np.asarray(u)
    (kh, kw), (ph, pw) = _pair(pool_size), _pair(padding)
    sh, sw = _pair(pool_size if strides is None else strides)
    padded = np.pad(u, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    _, zh, zw, _ = shape
    z = np.zeros(shape, dtype=u.dtype)
    for i in range(kh):
        for j in range(kw):
            z += padded[:, i : i + sh * zh : sh, j : j + sw * zw : sw, :][:, :zh, :zw, :]
    return z / u.dtype.type(kh * kw)
