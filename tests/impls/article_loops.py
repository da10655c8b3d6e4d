"""A correct implementation of the article's layers with plain loops over
output positions, written from the formulas (z[i, j] = sum over the window of
pu * W, and so on), as a learner following the article would. The
conformance suite must pass it in its default run; ``tests/impls/broken``
holds copies with one plausible bug each, which it must fail.

It computes in float64 whatever the input dtype (so it passes the value
checks, and would fail refcnn's dtype policy under --strict-policies).
"""

from __future__ import annotations

import numpy as np


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def zero_pad(u, ph, pw):
    n, h, w, c = u.shape
    pu = np.zeros((n, h + 2 * ph, w + 2 * pw, c))
    pu[:, ph : ph + h, pw : pw + w, :] = u
    return pu


def out_size(size, window, stride):
    return (size - window) // stride + 1


# --- the step functions: lift to the layer's layouts -------------------------


def conv(u, f):
    return convps(u, f)


def convp(u, f, p=(0, 0)):
    return convps(u, f, p)


def convps(u, f, p=(0, 0), s=(1, 1)):
    u, f = np.asarray(u), np.asarray(f)
    return convpscfu(u[None, :, :, None], f[None, :, :, None], p, s)[0, :, :, 0]


def convpsc(u, f, p=(0, 0), s=(1, 1)):
    return convpscfu(np.asarray(u)[None], np.asarray(f)[None], p, s)[0, :, :, 0]


def convpscf(u, f, p=(0, 0), s=(1, 1)):
    return convpscfu(np.asarray(u)[None], f, p, s)[0]


def convpscfu(u, f, p=(0, 0), s=(1, 1)):
    f = np.asarray(f)
    return convolution2d(u, f, np.zeros(f.shape[0]), p, s)


# --- convolution ------------------------------------------------------------


def convolution2d(u, W, b, padding=0, strides=1):
    (ph, pw), (sh, sw) = pair(padding), pair(strides)
    u, W = np.asarray(u, dtype=float), np.asarray(W, dtype=float)
    fn, fh, fw, _ = W.shape
    pu = zero_pad(u, ph, pw)
    zh, zw = out_size(pu.shape[1], fh, sh), out_size(pu.shape[2], fw, sw)
    z = np.zeros((u.shape[0], zh, zw, fn))
    for i in range(zh):
        for j in range(zw):
            window = pu[:, i * sh : i * sh + fh, j * sw : j * sw + fw, :]
            z[:, i, j, :] = np.tensordot(window, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return z


def convolution2d_back(dz, u, W, b, padding=0, strides=1, calc_du_flag=True):
    (ph, pw), (sh, sw) = pair(padding), pair(strides)
    u, W, dz = (np.asarray(a, dtype=float) for a in (u, W, dz))
    _, fh, fw, _ = W.shape
    pu = zero_pad(u, ph, pw)
    dpu = np.zeros(pu.shape)
    dW = np.zeros(W.shape)
    for i in range(dz.shape[1]):
        for j in range(dz.shape[2]):
            rows, cols = slice(i * sh, i * sh + fh), slice(j * sw, j * sw + fw)
            g = dz[:, i, j, :]  # (n, fn)
            dpu[:, rows, cols, :] += np.tensordot(g, W, axes=(1, 0))
            dW += np.tensordot(g, pu[:, rows, cols, :], axes=(0, 0))
    du = dpu[:, ph : ph + u.shape[1], pw : pw + u.shape[2], :]
    db = dz.sum(axis=(0, 1, 2))
    return du, dW, db


# --- pooling ------------------------------------------------------------------


def _geometry(u, pool_size, padding, strides):
    (kh, kw), (ph, pw) = pair(pool_size), pair(padding)
    sh, sw = pair(pool_size if strides is None else strides)
    pu = zero_pad(np.asarray(u, dtype=float), ph, pw)
    zh, zw = out_size(pu.shape[1], kh, sh), out_size(pu.shape[2], kw, sw)
    return pu, (kh, kw), (sh, sw), (ph, pw), (zh, zw)


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    pu, (kh, kw), (sh, sw), _, (zh, zw) = _geometry(u, pool_size, padding, strides)
    z = np.zeros((pu.shape[0], zh, zw, pu.shape[3]))
    for i in range(zh):
        for j in range(zw):
            window = pu[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
            z[:, i, j, :] = window.max(axis=(1, 2))
    return z


def max_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    pu, (kh, kw), (sh, sw), (ph, pw), (zh, zw) = _geometry(u, pool_size, padding, strides)
    dz = np.asarray(dz, dtype=float)
    dpu = np.zeros(pu.shape)
    n, c = pu.shape[0], pu.shape[3]
    for i in range(zh):
        for j in range(zw):
            window = pu[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
            for k in range(n):
                for m in range(c):
                    first = np.argmax(window[k, :, :, m])  # first maximum, row-major
                    a, d = divmod(int(first), kw)
                    dpu[k, i * sh + a, j * sw + d, m] += dz[k, i, j, m]
    h, w = np.shape(u)[1:3]
    return dpu[:, ph : ph + h, pw : pw + w, :]


def average_pooling2d(u, pool_size=2, padding=0, strides=None):
    pu, (kh, kw), (sh, sw), _, (zh, zw) = _geometry(u, pool_size, padding, strides)
    z = np.zeros((pu.shape[0], zh, zw, pu.shape[3]))
    for i in range(zh):
        for j in range(zw):
            z[:, i, j, :] = pu[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :].sum(axis=(1, 2))
    return z / (kh * kw)


def average_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    pu, (kh, kw), (sh, sw), (ph, pw), (zh, zw) = _geometry(u, pool_size, padding, strides)
    dz = np.asarray(dz, dtype=float)
    dpu = np.zeros(pu.shape)
    for i in range(zh):
        for j in range(zw):
            share = dz[:, i, j, :] / (kh * kw)
            dpu[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :] += share[:, None, None, :]
    h, w = np.shape(u)[1:3]
    return dpu[:, ph : ph + h, pw : pw + w, :]


# --- flatten ------------------------------------------------------------------


def flatten2d(u):
    u = np.array(u, dtype=float)  # a copy: a reshaped view would share the input's memory
    n, h, w, c = u.shape
    return u.reshape(n, h * w * c)


def flatten2d_back(dz, u, z):
    return np.array(dz, dtype=float).reshape(np.shape(u))
