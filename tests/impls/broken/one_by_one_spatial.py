"""Bug: the convolution converts its NHWC input to NCHW and, when NumPy
flags that view C-contiguous, walks its buffer with the view's last stride
as the element step (as a framework did, reading out of bounds). The flag is
set for a 1x1 spatial input, whose size-1 axes do not count, and the last
stride is then c elements: right everywhere but for 1x1 spatial input with
c > 1. (Here the walk wraps around the buffer instead of leaving it.)"""

import numpy as np

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def _as_nchw(u):
    view = np.asarray(u, dtype=float).transpose(0, 3, 1, 2)
    step = view.strides[-1] // view.itemsize
    if view.flags.c_contiguous and step != 1 and view.size:
        flat = view.reshape(-1)  # no copy: the buffer, in NHWC order
        return flat[(np.arange(flat.size) * step) % flat.size].reshape(view.shape)
    return np.ascontiguousarray(view)


def convolution2d(u, W, b, padding=0, strides=1):
    nhwc = _as_nchw(u).transpose(0, 2, 3, 1)
    return article_loops.convolution2d(nhwc, W, b, padding, strides)
