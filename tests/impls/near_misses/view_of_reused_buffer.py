"""convolution2d's backward writes dW into one flat buffer per size, kept
across calls "to save allocations", and returns a new view of it
(``reshape``) each time: a new object every call, the same memory. The
next call with the same shapes overwrites the caller's earlier dW."""

import numpy as np

from refcnn import *  # noqa: F403
from refcnn import convolution2d_back as _right

_BUFFERS: dict = {}


def convolution2d_back(dz, u, W, b, padding=0, strides=1, calc_du_flag=True):
    du, dW, db = _right(dz, u, W, b, padding, strides, calc_du_flag)
    buffer = _BUFFERS.setdefault((dW.size, dW.dtype), np.empty(dW.size, dW.dtype))
    buffer[...] = dW.ravel()
    return du, buffer.reshape(dW.shape), db
