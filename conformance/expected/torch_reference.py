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

from refcnn import layouts

from ..inputs.strategies import as_pair


def to_nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(*layouts.NHWC_TO_NCHW)


def to_nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(*layouts.NCHW_TO_NHWC)


def zero_pad(x_nchw: torch.Tensor, padding: Any) -> torch.Tensor:
    ph, pw = as_pair(padding)
    return F.pad(x_nchw, (pw, pw, ph, ph), mode="constant", value=0.0)


def convolution2d(u, W, b, padding=0, strides=1) -> torch.Tensor:
    z = F.conv2d(
        to_nchw(u),
        W.permute(*layouts.FHWC_TO_OIHW),
        b,
        stride=as_pair(strides),
        padding=as_pair(padding),
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
    z = convolution2d(layouts.lift(u, u_dims), layouts.lift(f, f_dims), None, p, s)
    return layouts.unlift(z, u_dims, f_dims)


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


# --- the trainer's layers ---------------------------------------------------------
# Dense data is (n, d); weights are (d_in, d_out), so F.linear gets W.T.


def affine(u, W, b):
    return F.linear(u, W.T, b)


def maxout(u, W, b, unit=1):
    pieces = F.linear(u, W.T, b)
    return pieces.reshape(u.shape[0], W.shape[1] // unit, unit).max(dim=2).values


def sigmoid(u):
    return torch.sigmoid(u)


def tanh(u):
    return torch.tanh(u)


def relu(u):
    return F.relu(u)


def leaky_relu(u, alpha=0.01):
    return F.leaky_relu(u, alpha)


def prelu(u, alpha):
    """One slope per channel, the last axis (F.prelu wants channels at dim 1)."""
    if u.dim() == 4:
        return to_nhwc(F.prelu(to_nchw(u), alpha))
    return F.prelu(u, alpha)


def rrelu(u, min=0.0, max=0.1):
    return F.rrelu(u, min, max, training=False)


def relun(u, n=6.0):
    return F.hardtanh(u, 0.0, n)


def srelu(u, alpha=1.0):
    # relu(u + alpha) - alpha == max(u, -alpha), with relu'(0) = 0 at the kink
    return F.relu(u + alpha) - alpha


def elu(u, alpha=1.0):
    return F.elu(u, alpha)


def identity(u):
    return u * 1


def softplus(u):
    return F.softplus(u)


def softsign(u):
    return F.softsign(u)


def step(u):
    return (u > 0).to(u.dtype) + 0 * u  # the 0 * u keeps it in the graph: gradient 0


def dropout(u, dropout_ratio=0.9, mask=None):
    """Inverted dropout with the same mask (see test_dropout_mask_matches_torch
    for F.dropout's own masks)."""
    return u * mask / dropout_ratio


def _batch_norm_layout(u, batch_norm_node):
    """(to torch's (n, features[, h, w]), back) for the two readings."""
    if u.dim() == 2:
        return (lambda t: t), (lambda t: t)
    if batch_norm_node:
        shape = u.shape
        return (lambda t: t.reshape(shape[0], -1)), (lambda t: t.reshape(shape))
    return to_nchw, to_nhwc


def batch_normalization(u, gamma, beta, batch_norm_node=True, mean=None, var=None):
    to_torch, back = _batch_norm_layout(u, batch_norm_node)
    mean, var = (None, None) if mean is None else (mean.reshape(-1), var.reshape(-1))
    z = F.batch_norm(
        to_torch(u), mean, var, gamma.reshape(-1), beta.reshape(-1), training=mean is None, eps=1e-5
    )
    return back(z)


def softmax(u):
    return torch.softmax(u, dim=1)


def softmax_cross_entropy(u, t):
    return F.cross_entropy(u, t)  # t: class probabilities (one-hot or soft)


def mean_squared_error(y, t):
    return F.mse_loss(y, t, reduction="sum") / (2 * y.shape[0])


# --- a whole network ---------------------------------------------------------------


def article_network(model):
    """The article's CNN as a ``torch.nn.Sequential`` holding the weights of the
    refcnn ``model`` (built by ``refcnn.article_model``). Layout conversions:
    filters to ``(out, in, kh, kw)``; dense weights transposed for
    ``nn.Linear``; the first affine layer's rows reordered from NHWC to NCHW
    flattening order, so the torch net computes the same function on NCHW
    input. ``gradients_to_refcnn`` maps the gradients back."""
    layers = {layer.name: layer for layer in model.layers}
    dtype = torch.float64 if model.dtype == "float64" else torch.float32
    conv_w = layers["conv1"].params["W"]
    conv = torch.nn.Conv2d(conv_w.shape[3], conv_w.shape[0], conv_w.shape[1:3], dtype=dtype)
    fc = [
        torch.nn.Linear(*layers[name].params["W"].shape, dtype=dtype)
        for name in ("affine1", "affine2", "affine3")
    ]
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(conv_w.transpose(layouts.FHWC_TO_OIHW).copy()))
        conv.bias.copy_(torch.from_numpy(layers["conv1"].params["b"]))
        for linear, name in zip(fc, ("affine1", "affine2", "affine3"), strict=True):
            w = layers[name].params["W"]
            if name == "affine1":
                w = _nhwc_rows_to_nchw(w, layers["pooling1"].d_next)
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(layers[name].params["b"]))
    return torch.nn.Sequential(
        conv,
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        fc[0],
        torch.nn.ReLU(),
        fc[1],
        torch.nn.ReLU(),
        fc[2],
    )


def _nhwc_rows_to_nchw(w, image_shape):
    h, w_, c = image_shape
    return w.reshape(h, w_, c, -1).transpose(2, 0, 1, 3).reshape(h * w_ * c, -1)


def _nchw_rows_to_nhwc(w, image_shape):
    h, w_, c = image_shape
    return w.reshape(c, h, w_, -1).transpose(1, 2, 0, 3).reshape(h * w_ * c, -1)


def network_parameters_to_refcnn(net, model, which: str = "data"):
    """``{layer: {"W": ..., "b": ...}}`` from the torch net's parameters
    (``which="data"``) or their gradients (``which="grad"``), in refcnn's
    layouts."""
    conv, fc1, fc2, fc3 = net[0], net[4], net[6], net[8]
    image = next(layer.d_next for layer in model.layers if layer.name == "pooling1")

    def get(p):
        return getattr(p, which).detach().numpy()

    return {
        "conv1": {"W": get(conv.weight).transpose(layouts.NCHW_TO_NHWC), "b": get(conv.bias)},
        "affine1": {"W": _nchw_rows_to_nhwc(get(fc1.weight).T, image), "b": get(fc1.bias)},
        "affine2": {"W": get(fc2.weight).T, "b": get(fc2.bias)},
        "affine3": {"W": get(fc3.weight).T, "b": get(fc3.bias)},
    }
