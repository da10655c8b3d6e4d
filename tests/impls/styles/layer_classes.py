"""Layer classes in the textbook style, written for the tests: NCHW data,
``(out, in, kh, kw)`` filters, ``stride``/``pad`` as ints only, the
constructor takes the weights, ``forward(x)`` caches what ``backward(dout)``
needs, and ``backward`` leaves ``dW``/``db`` on the layer. Not the article's
API: ``tests/impls/adapted_layer_classes.py`` plugs it into the suite."""

import numpy as np


def _patches(x, kh, kw, stride, pad):
    """(N, C, OH, OW, kh, kw) views of the padded x, and the padded x."""
    out_h = (x.shape[2] + 2 * pad - kh) // stride + 1
    out_w = (x.shape[3] + 2 * pad - kw) // stride + 1
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    return windows[:, :, : out_h * stride : stride, : out_w * stride : stride], padded


def _scatter(grad_windows, padded_shape, kh, kw, stride, pad):
    """Sum (N, C, OH, OW, kh, kw) window gradients back into the input."""
    dpadded = np.zeros(padded_shape)
    out_h, out_w = grad_windows.shape[2:4]
    for i in range(kh):
        for j in range(kw):
            dpadded[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride] += (
                grad_windows[:, :, :, :, i, j]
            )
    return dpadded[:, :, pad : padded_shape[2] - pad, pad : padded_shape[3] - pad]


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = (
            np.asarray(W, float),
            np.asarray(b, float),
            stride,
            pad,
        )

    def kernel(self):
        return self.W.shape[2], self.W.shape[3]

    def forward(self, x):
        self.x = np.asarray(x, float)
        kh, kw = self.kernel()
        self.windows, self.padded = _patches(self.x, kh, kw, self.stride, self.pad)
        return np.einsum("ncijkl,ockl->noij", self.windows, self.W) + self.b[None, :, None, None]

    def backward(self, dout):
        kh, kw = self.kernel()
        self.dW = np.einsum("noij,ncijkl->ockl", dout, self.windows)
        self.db = dout.sum(axis=(0, 2, 3))
        dwin = np.einsum("noij,ockl->ncijkl", dout, self.W)
        return _scatter(dwin, self.padded.shape, kh, kw, self.stride, self.pad)


class Pooling:
    """Max or average pooling over zero-padded windows; stride defaults to 1
    as in many textbooks (the adapter passes the article's default)."""

    def __init__(self, pool_h, pool_w, stride=1, pad=0, mode="max"):
        self.pool_h, self.pool_w, self.stride, self.pad, self.mode = (
            pool_h,
            pool_w,
            stride,
            pad,
            mode,
        )

    def forward(self, x):
        self.x = np.asarray(x, float)
        windows, self.padded = _patches(self.x, self.pool_h, self.pool_w, self.stride, self.pad)
        self.windows = windows
        if self.mode == "average":
            return windows.mean(axis=(4, 5))
        return windows.max(axis=(4, 5))

    def backward(self, dout):
        size = self.pool_h * self.pool_w
        flat = self.windows.reshape(*self.windows.shape[:4], size)
        if self.mode == "average":
            grad = np.repeat(dout[..., None] / size, size, axis=4)
        else:
            grad = np.zeros(flat.shape)
            first = flat.argmax(axis=4)  # the first maximum of each window
            np.put_along_axis(grad, first[..., None], dout[..., None], axis=4)
        grad = grad.reshape(self.windows.shape)
        return _scatter(grad, self.padded.shape, self.pool_h, self.pool_w, self.stride, self.pad)


class Flatten:
    def forward(self, x):
        self.shape = np.shape(x)
        # NCHW in, but the article's order (h, w, c) out
        n, c, h, w = self.shape
        return np.array(np.transpose(x, (0, 2, 3, 1)), float).reshape(n, h * w * c)

    def backward(self, dout):
        n, c, h, w = self.shape
        return np.array(dout, float).reshape(n, h, w, c).transpose(0, 3, 1, 2).copy()
