"""The layers as the article builds them, shape for shape: a loop over the
output positions with one matrix product each, float64 work arrays, ``type(x)
== int`` for the parameters, and ``flatten2d``/``flatten2d_back`` that
return reshaped *views* of their inputs, as the article's do. Written here
from the article's description (not copied); the suite must pass it by
default: the contract is the article's semantics, and a view of an input is
not a bug."""

import numpy as np

from tests.impls.article_loops import zero_pad  # float64 zeros around u, as the article pads


def _two(value):
    """An int means the same value for height and width; else (h, w)."""
    if type(value) == int:  # noqa: E721 - as the article tests it
        return value, value
    return value


def _out(size, window, stride):
    return int((size - window) / stride) + 1


def convolution2d(u, W, b, padding=0, strides=1):
    (ph, pw), (sh, sw) = _two(padding), _two(strides)
    n = u.shape[0]
    fn, fh, fw, fc = W.shape
    pu = zero_pad(u, ph, pw)
    zh, zw = _out(pu.shape[1], fh, sh), _out(pu.shape[2], fw, sw)
    weights = W.reshape(fn, fh * fw * fc).T
    z = np.zeros((n, zh, zw, fn))
    for i in range(zh):
        for j in range(zw):
            window = pu[:, i * sh : i * sh + fh, j * sw : j * sw + fw, :]
            z[:, i, j, :] = window.reshape(n, fh * fw * fc) @ weights + b
    return z


def convolution2d_back(dz, u, W, b, padding=0, strides=1, calc_du_flag=True):
    (ph, pw), (sh, sw) = _two(padding), _two(strides)
    n, h, w, c = u.shape
    fn, fh, fw, fc = W.shape
    pu = zero_pad(u, ph, pw)
    zh, zw = dz.shape[1], dz.shape[2]
    flat_w = W.reshape(fn, fh * fw * fc)
    dpu = np.zeros(pu.shape)
    dW = np.zeros(W.shape)
    for i in range(zh):
        for j in range(zw):
            rows, cols = slice(i * sh, i * sh + fh), slice(j * sw, j * sw + fw)
            g = dz[:, i, j, :]
            if calc_du_flag:  # False (the first layer): du stays zeros, as in the article
                dpu[:, rows, cols, :] += (g @ flat_w).reshape(n, fh, fw, c)
            dW += (g.T @ pu[:, rows, cols, :].reshape(n, fh * fw * c)).reshape(W.shape)
    du = dpu[:, ph : ph + h, pw : pw + w, :]
    db = dz.reshape(-1, fn).sum(axis=0)
    return du, dW, db


def _pool_geometry(u, pool_size, padding, strides):
    if strides is None:
        strides = pool_size
    (kh, kw), (ph, pw), (sh, sw) = _two(pool_size), _two(padding), _two(strides)
    pu = zero_pad(u, ph, pw)
    return pu, (kh, kw), (ph, pw), (sh, sw), _out(pu.shape[1], kh, sh), _out(pu.shape[2], kw, sw)


def _pool(u, pool_size, padding, strides, reduce):
    pu, (kh, kw), _, (sh, sw), zh, zw = _pool_geometry(u, pool_size, padding, strides)
    n, c = u.shape[0], u.shape[3]
    z = np.zeros((n, zh, zw, c))
    for i in range(zh):
        for j in range(zw):
            window = pu[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
            z[:, i, j, :] = reduce(window.reshape(n, kh * kw, c), axis=1)
    return z


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    return _pool(u, pool_size, padding, strides, np.max)


def average_pooling2d(u, pool_size=2, padding=0, strides=None):
    return _pool(u, pool_size, padding, strides, np.mean)


def max_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    pu, (kh, kw), (ph, pw), (sh, sw), zh, zw = _pool_geometry(u, pool_size, padding, strides)
    n, h, w, c = u.shape
    dpu = np.zeros(pu.shape)
    for i in range(zh):
        for j in range(zw):
            rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
            first = np.argmax(pu[:, rows, cols, :].reshape(n, kh * kw, c), axis=1)
            routed = np.zeros((n, kh * kw, c))
            for k in range(n):
                for ch in range(c):
                    routed[k, first[k, ch], ch] = dz[k, i, j, ch]
            dpu[:, rows, cols, :] += routed.reshape(n, kh, kw, c)
    return dpu[:, ph : ph + h, pw : pw + w, :]


def average_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    pu, (kh, kw), (ph, pw), (sh, sw), zh, zw = _pool_geometry(u, pool_size, padding, strides)
    n, h, w, c = u.shape
    dpu = np.zeros(pu.shape)
    for i in range(zh):
        for j in range(zw):
            share = dz[:, i, j, :].reshape(n, 1, 1, c) / (kh * kw)
            dpu[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :] += share
    return dpu[:, ph : ph + h, pw : pw + w, :]


def flatten2d(u):
    n, h, w, c = u.shape
    return u.reshape(n, h * w * c)  # a view of u, as in the article


def flatten2d_back(dz, u, z):
    return dz.reshape(u.shape)  # a view of dz, as in the article
