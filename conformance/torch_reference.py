"""The article's semantics written with torch ops (imported as ``tr``).

Every function takes and returns tensors in the article's layouts (data NHWC,
filters ``(fn, fh, fw, fc)``) and converts at the edges: torch works in NCHW
with ``(out, in, kh, kw)`` weights. Where torch's native op differs from the
article, the difference is expressed exactly with other torch ops:

* max pooling pads with zeros: ``F.pad`` (zeros) first, then ``max_pool2d``
  with ``padding=0`` (native padding would be -inf and is limited to half the
  window);
* average pooling divides by the full window: ``F.pad`` then ``avg_pool2d``
  with ``padding=0`` (same as ``count_include_pad=True``, without the limit);
* output sizes use floor (``ceil_mode=False``, torch's default);
* ties in max pooling go to the first maximum in row-major window order,
  which is also what torch's CPU kernel does (checked by the ``ties`` inputs).

Gradients come from ``torch.autograd`` on these functions.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .strategies import as_pair


def to_nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def to_nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def zero_pad(x_nchw: torch.Tensor, padding: Any) -> torch.Tensor:
    ph, pw = as_pair(padding)
    return F.pad(x_nchw, (pw, pw, ph, ph), mode="constant", value=0.0)


def convolution2d(u, W, b, padding=0, strides=1) -> torch.Tensor:
    z = F.conv2d(
        to_nchw(u), W.permute(0, 3, 1, 2), b, stride=as_pair(strides), padding=as_pair(padding)
    )
    return to_nhwc(z)


def max_pooling2d(u, pool_size=2, padding=0, strides=None) -> torch.Tensor:
    window = as_pair(pool_size)
    stride = window if strides is None else as_pair(strides)
    return to_nhwc(F.max_pool2d(zero_pad(to_nchw(u), padding), window, stride))


def average_pooling2d(u, pool_size=2, padding=0, strides=None) -> torch.Tensor:
    window = as_pair(pool_size)
    stride = window if strides is None else as_pair(strides)
    return to_nhwc(F.avg_pool2d(zero_pad(to_nchw(u), padding), window, stride))


def flatten2d(u) -> torch.Tensor:
    n, h, w, c = u.shape
    return u.reshape(n, h * w * c)  # NHWC row-major, not torch.flatten of NCHW


def _lifted(u, f, p, s, u_dims: int, f_dims: int) -> torch.Tensor:
    """The step functions: lift to the layer's layouts, drop the lifted axes."""
    u4 = {2: lambda t: t[None, :, :, None], 3: lambda t: t[None], 4: lambda t: t}[u_dims](u)
    f4 = {2: lambda t: t[None, :, :, None], 3: lambda t: t[None], 4: lambda t: t}[f_dims](f)
    z = convolution2d(u4, f4, None, p, s)
    if u_dims < 4:
        z = z[0]
    return z if f_dims == 4 else z[..., 0]


def conv(u, f):
    return _lifted(u, f, 0, 1, 2, 2)


def convp(u, f, p=(0, 0)):
    return _lifted(u, f, p, 1, 2, 2)


def convps(u, f, p=(0, 0), s=(1, 1)):
    return _lifted(u, f, p, s, 2, 2)


def convpsc(u, f, p=(0, 0), s=(1, 1)):
    return _lifted(u, f, p, s, 3, 3)


def convpscf(u, f, p=(0, 0), s=(1, 1)):
    return _lifted(u, f, p, s, 3, 4)


def convpscfu(u, f, p=(0, 0), s=(1, 1)):
    return _lifted(u, f, p, s, 4, 4)
