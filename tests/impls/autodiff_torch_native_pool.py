"""As ``autodiff_torch``, but max pooling is torch's own
``F.max_pool2d``: it pads with -inf where the article pads with zeros (and
refuses a padding over half the window), so it differs exactly where a
window reaches into the padding."""

import torch.nn.functional as F

from refcnn.conformance.adapters import from_autodiff
from tests.impls.autodiff_torch import (  # noqa: F401
    _pair,
    average_pooling2d,
    average_pooling2d_back,
    convolution2d,
    convolution2d_back,
    flatten2d,
    flatten2d_back,
)


def _max_pool(u, *, pool_size, padding, strides):
    return F.max_pool2d(u, _pair(pool_size), _pair(strides), _pair(padding))


max_pooling2d, max_pooling2d_back = from_autodiff(
    "max_pooling2d", _max_pool, vjp="torch", data="NCHW"
)
