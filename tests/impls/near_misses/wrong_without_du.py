"""convolution2d's backward right, except under ``calc_du_flag=False``,
where the judge skips du: there a separate branch returns dW of the first
image of the batch only (the sum over the batch forgotten)."""

from refcnn import *  # noqa: F403
from refcnn import convolution2d_back as _right


def convolution2d_back(dz, u, W, b, padding=0, strides=1, calc_du_flag=True):
    if calc_du_flag:
        return _right(dz, u, W, b, padding, strides)
    _, dW, db = _right(dz[:1], u[:1], W, b, padding, strides, calc_du_flag=False)
    _, _, db = _right(dz, u, W, b, padding, strides, calc_du_flag=False)
    return None, dW, db
