"""Max pooling that works in a float32 buffer and returns the input's dtype:
a common slip. Its float64 outputs are float32 roundings, ~1e-8 of their
size away from the right values, past float64's 1e-10; in float32 it is
right, and so are integer-valued inputs (the ties corner) in float64."""

import numpy as np

import refcnn
from refcnn import *  # noqa: F403


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    u = np.asarray(u)
    work = refcnn.max_pooling2d(u.astype(np.float32), pool_size, padding, strides)
    return work.astype(u.dtype)
