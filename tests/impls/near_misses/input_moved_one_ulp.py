"""flatten2d's backward right, but it moves the last element of the dz it
was handed by one ulp (``np.nextafter``, in dz's own dtype) after using it."""

import numpy as np

from refcnn import *  # noqa: F403
from refcnn import flatten2d_back as _right


def flatten2d_back(dz, u, z):
    du = np.array(_right(dz, u, z), copy=True)
    if isinstance(dz, np.ndarray) and dz.size:
        dz.flat[-1] = np.nextafter(dz.flat[-1], np.inf)
    return du
