"""Bug: maxout's backward sends each output's gradient to the LAST of tied
pieces, not the first (the rest is refcnn's maxout)."""

import numpy as np

from refcnn import affine_back, maxout  # noqa: F401


def maxout_back(dz, u, z, W, b, unit=1):
    u, W, b = (np.asarray(a, dtype=float) for a in (u, W, b))
    pieces = (u @ W + b).reshape(u.shape[0], W.shape[1] // unit, unit)
    last = unit - 1 - pieces[:, :, ::-1].argmax(axis=2)
    routed = np.zeros(pieces.shape)
    np.put_along_axis(routed, last[..., None], np.asarray(dz, dtype=float)[..., None], axis=2)
    return affine_back(routed.reshape(u.shape[0], W.shape[1]), u, W, b)
