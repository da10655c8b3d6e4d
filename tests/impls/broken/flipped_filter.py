"""Bug: a true convolution: the filter is flipped (rotated 180 degrees),
consistently in forward and backward."""

import numpy as np

from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403


def _flip(W):
    return np.asarray(W)[:, ::-1, ::-1, :]


def convolution2d(u, W, b, padding=0, strides=1):
    return article_loops.convolution2d(u, _flip(W), b, padding, strides)


def convolution2d_back(dz, u, W, b, padding=0, strides=1, calc_du_flag=True):
    du, dW, db = article_loops.convolution2d_back(dz, u, _flip(W), b, padding, strides)
    return du, _flip(dW), db


def convpscfu(u, f, p=(0, 0), s=(1, 1)):
    f = np.asarray(f)
    return convolution2d(u, f, np.zeros(f.shape[0]), p, s)


def convps(u, f, p=(0, 0), s=(1, 1)):
    u, f = np.asarray(u), np.asarray(f)
    return convpscfu(u[None, :, :, None], f[None, :, :, None], p, s)[0, :, :, 0]


def conv(u, f):
    return convps(u, f)
