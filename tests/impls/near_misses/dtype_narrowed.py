"""tanh that returns a narrower dtype than its input's: float32 for float64
input, float16 for float32. Its values are the roundings, past each dtype's
tolerance (float16 keeps ~5e-4 of a value, float32 ~6e-8); under
--strict-policies the dtype itself is wrong."""

import numpy as np

from refcnn import *  # noqa: F403
from refcnn import tanh as _right

NARROWER = {np.dtype(np.float64): np.float32, np.dtype(np.float32): np.float16}


def tanh(u):
    z = _right(u)
    return z.astype(NARROWER[z.dtype])
