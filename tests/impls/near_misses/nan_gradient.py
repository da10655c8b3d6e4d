"""average_pooling2d's backward right but for one NaN, in the last element
of du, where neither the input nor dz holds one."""

import numpy as np

from refcnn import *  # noqa: F403
from refcnn import average_pooling2d_back as _right


def average_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    du = np.array(_right(dz, u, z, pool_size, padding, strides), copy=True)
    if du.size:
        du.flat[-1] = np.nan
    return du
