"""convolution2d right but for its last output element, moved by 1e-7 of
the outputs' scale in float64 (a float32 rounding: 1,000 times float64's
tolerance) and by 5e-4 in float32 (5 times float32's)."""

from refcnn import *  # noqa: F403
from refcnn import convolution2d as _right

from ._nudge import moved

OFF = {"float64": 1e-7, "float32": 5e-4}


def convolution2d(u, W, b, padding=0, strides=1):
    return moved(_right(u, W, b, padding, strides), OFF)
