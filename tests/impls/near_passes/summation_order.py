"""convolution2d and affine summed in another order than refcnn's (and
NumPy's pairwise or BLAS order): one kernel offset, or one input feature, at
a time, from the last to the first, accumulated in the input's dtype. In
float32 that accumulates float32 rounding over up to fh * fw products; the
documented tolerance allows it."""

import numpy as np

from refcnn import *  # noqa: F403
from refcnn import affine as _affine
from refcnn import convolution2d as _convolution2d


def _pair(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def convolution2d(u, W, b, padding=0, strides=1):
    shape = _convolution2d(u, W, b, padding, strides).shape  # the right output shape
    u, W, b = np.asarray(u), np.asarray(W), np.asarray(b)
    (ph, pw), (sh, sw) = _pair(padding), _pair(strides)
    padded = np.pad(u, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    _, zh, zw, _ = shape
    z = np.zeros(shape, dtype=u.dtype)
    for i in reversed(range(W.shape[1])):
        for j in reversed(range(W.shape[2])):
            window = padded[:, i : i + sh * zh : sh, j : j + sw * zw : sw, :][:, :zh, :zw, :]
            z += np.einsum("nhwc,fc->nhwf", window, W[:, i, j, :]).astype(u.dtype)
    return z + b.astype(u.dtype)


def affine(u, W, b):
    shape = _affine(u, W, b).shape
    u, W = np.asarray(u), np.asarray(W)
    z = np.zeros(shape, dtype=u.dtype)
    for k in reversed(range(u.shape[1])):
        z += u[:, k, None] * W[k]
    return z + np.asarray(b, dtype=u.dtype)
