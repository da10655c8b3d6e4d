"""affine's backward right but for the last element of dW, moved by twice
the documented tolerance: the backward's comparison loosened twofold lets
it through (finite differences, at 1e-6, cannot see it)."""

from refcnn import *  # noqa: F403
from refcnn import affine_back as _affine_back

from ._nudge import nudged

TIMES = 2.0


def affine_back(dz, u, W, b):
    du, dW, db = _affine_back(dz, u, W, b)
    return du, nudged(dW, TIMES), db
