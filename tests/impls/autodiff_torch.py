"""The article's layers written with torch operations, their backward left to
torch.autograd, adapted with one ``from_autodiff`` call each: what a reader
who ports the article to a framework with automatic differentiation writes.

Pooling is built from windows (``Tensor.unfold``) of the zero-padded input,
not from ``torch.nn.functional``'s pooling, whose max pooling pads with -inf
(see ``autodiff_torch_native_pool``). ``max(dim=...)`` routes the gradient to
the first maximum, as the article does."""

import torch.nn.functional as F

from refcnn.conformance.adapters import from_autodiff


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _conv(u, W, b, *, padding, strides):  # NCHW data, OIHW filters
    return F.conv2d(u, W, b, stride=_pair(strides), padding=_pair(padding))


def _windows(u, pool_size, padding, strides):
    """(n, c, zh, zw, kh * kw): the windows of the zero-padded NCHW input."""
    (kh, kw), (ph, pw), (sh, sw) = _pair(pool_size), _pair(padding), _pair(strides)
    padded = F.pad(u, (pw, pw, ph, ph))  # zeros, as the article pads
    windows = padded.unfold(2, kh, sh).unfold(3, kw, sw)
    return windows.reshape(*windows.shape[:4], kh * kw)


def _max_pool(u, *, pool_size, padding, strides):
    return _windows(u, pool_size, padding, strides).max(dim=-1).values


def _average_pool(u, *, pool_size, padding, strides):
    return _windows(u, pool_size, padding, strides).mean(dim=-1)


def _flatten(u):  # NHWC: the article's element order
    return u.flatten(1)  # reshape(n, -1) cannot take an empty batch


convolution2d, convolution2d_back = from_autodiff(
    "convolution2d", _conv, vjp="torch", data="NCHW", filters="OIHW"
)
max_pooling2d, max_pooling2d_back = from_autodiff(
    "max_pooling2d", _max_pool, vjp="torch", data="NCHW"
)
average_pooling2d, average_pooling2d_back = from_autodiff(
    "average_pooling2d", _average_pool, vjp="torch", data="NCHW"
)
flatten2d, flatten2d_back = from_autodiff("flatten2d", _flatten, vjp="torch")
