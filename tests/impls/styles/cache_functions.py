"""Cache-style layer functions, written for the tests: ``*_forward(x, w, b,
params) -> (out, cache)`` and ``*_backward(dout, cache) -> grads``, NCHW data,
``(out, in, kh, kw)`` filters, hyper-parameters in a dict with int values.
Pooling takes no padding. Not the article's API:
``tests/impls/adapted_cache_functions.py`` plugs it into the suite."""

import numpy as np


def conv_forward(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, _, h, width = x.shape
    f, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h = 1 + (h + 2 * pad - hh) // stride
    out_w = 1 + (width + 2 * pad - ww) // stride
    out = np.zeros((n, f, out_h, out_w))
    for i in range(hh):
        for j in range(ww):
            patch = xp[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    out += b[None, :, None, None]
    return out, (x, w, conv_param)


def conv_backward(dout, cache):
    x, w, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    hh, ww = w.shape[2:]
    out_h, out_w = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    for i in range(hh):
        for j in range(ww):
            rows = slice(i, i + stride * out_h, stride)
            cols = slice(j, j + stride * out_w, stride)
            dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    dx = dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _windows(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    n, c, h, w = x.shape
    out_h, out_w = 1 + (h - ph) // s, 1 + (w - pw) // s
    windows = np.empty((n, c, out_h, out_w, ph * pw))
    for i in range(out_h):
        for j in range(out_w):
            windows[:, :, i, j] = x[:, :, i * s : i * s + ph, j * s : j * s + pw].reshape(
                n, c, ph * pw
            )
    return windows


def _unwindow(grad_windows, x_shape, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros(x_shape)
    n, c, out_h, out_w, _ = grad_windows.shape
    for i in range(out_h):
        for j in range(out_w):
            dx[:, :, i * s : i * s + ph, j * s : j * s + pw] += grad_windows[:, :, i, j].reshape(
                n, c, ph, pw
            )
    return dx


def max_pool_forward(x, pool_param):
    windows = _windows(x, pool_param)
    return windows.max(axis=4), (x, windows, pool_param)


def max_pool_backward(dout, cache):
    x, windows, pool_param = cache
    grad = np.zeros(windows.shape)
    first = windows.argmax(axis=4)
    np.put_along_axis(grad, first[..., None], dout[..., None], axis=4)
    return _unwindow(grad, x.shape, pool_param)


def avg_pool_forward(x, pool_param):
    windows = _windows(x, pool_param)
    return windows.mean(axis=4), (x, windows.shape, pool_param)


def avg_pool_backward(dout, cache):
    x, shape, pool_param = cache
    grad = np.broadcast_to(dout[..., None] / shape[4], shape)
    return _unwindow(grad, x.shape, pool_param)
