"""Layer objects in the Keras style, written for the tests: NHWC data,
``(kh, kw, in, out)`` filters, ``(h, w)`` tuples for strides, padding and
pool sizes, parameters in ``self.params`` and their gradients in
``self.grads`` (dicts). Not the article's API:
``tests/impls/adapted_param_dicts.py`` plugs it into the suite."""

import numpy as np


def _pair(value):
    return (value, value) if np.ndim(value) == 0 else tuple(value)


class _Windows:
    """Sliding windows over a zero-padded NHWC input, and the way back."""

    def __init__(self, size, strides, padding):
        self.size, self.strides, self.padding = _pair(size), _pair(strides), _pair(padding)

    def take(self, x):
        (ph, pw), (kh, kw), (sh, sw) = self.padding, self.size, self.strides
        self.x_shape = x.shape
        padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        self.padded_shape = padded.shape
        self.out = ((padded.shape[1] - kh) // sh + 1, (padded.shape[2] - kw) // sw + 1)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
        return windows[
            :, : self.out[0] * sh : sh, : self.out[1] * sw : sw
        ]  # (n, oh, ow, c, kh, kw)

    def give_back(self, grad):
        (ph, pw), (kh, kw), (sh, sw) = self.padding, self.size, self.strides
        dpadded = np.zeros(self.padded_shape)
        oh, ow = self.out
        for i in range(kh):
            for j in range(kw):
                dpadded[:, i : i + sh * oh : sh, j : j + sw * ow : sw, :] += grad[..., i, j]
        h, w = self.x_shape[1:3]
        return dpadded[:, ph : ph + h, pw : pw + w, :]


class Conv2D:
    def __init__(self, params, strides=(1, 1), padding=(0, 0)):
        self.params = params  # {"kernel": (kh, kw, in, out), "bias": (out,)}
        self.windows = _Windows(params["kernel"].shape[:2], strides, padding)
        self.grads = {}

    def forward(self, x):
        self.patches = self.windows.take(np.asarray(x, float))
        return (
            np.einsum("nijcab,abco->nijo", self.patches, self.params["kernel"])
            + self.params["bias"]
        )

    def backward(self, dout):
        self.grads["kernel"] = np.einsum("nijo,nijcab->abco", dout, self.patches)
        self.grads["bias"] = dout.sum(axis=(0, 1, 2))
        return self.windows.give_back(np.einsum("nijo,abco->nijcab", dout, self.params["kernel"]))


class Pool2D:
    def __init__(self, pool_size=(2, 2), strides=None, padding=(0, 0), kind="max"):
        self.windows = _Windows(pool_size, pool_size if strides is None else strides, padding)
        self.kind = kind

    def forward(self, x):
        self.patches = self.windows.take(np.asarray(x, float))
        if self.kind == "average":
            return self.patches.mean(axis=(4, 5))
        return self.patches.max(axis=(4, 5))

    def backward(self, dout):
        shape = self.patches.shape
        cells = shape[4] * shape[5]
        if self.kind == "average":
            grad = np.broadcast_to((dout / cells)[..., None, None], shape)
        else:
            flat = self.patches.reshape(*shape[:4], cells)
            grad = np.zeros(flat.shape)
            np.put_along_axis(grad, flat.argmax(axis=4)[..., None], dout[..., None], axis=4)
            grad = grad.reshape(shape)
        return self.windows.give_back(grad)


class Flatten:
    def forward(self, x):
        self.shape = np.shape(x)
        return np.array(x, float).reshape(self.shape[0], int(np.prod(self.shape[1:])))

    def backward(self, dout):
        return np.array(dout, float).reshape(self.shape)
