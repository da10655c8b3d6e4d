"""affine's forward, and the dW of its backward, right but for their last
element, moved by half the documented tolerance (``0.5 * rtol * max(1,
max|z|)``): a judge that is stricter than its docs fails them. The twin of
the near miss ``just_past_tolerance``."""

from refcnn import *  # noqa: F403
from refcnn import affine as _affine
from refcnn import affine_back as _affine_back
from tests.impls.near_misses._nudge import nudged

TIMES = 0.5


def affine(u, W, b):
    return nudged(_affine(u, W, b), TIMES)


def affine_back(dz, u, W, b):
    du, dW, db = _affine_back(dz, u, W, b)
    return du, nudged(dW, TIMES), db
