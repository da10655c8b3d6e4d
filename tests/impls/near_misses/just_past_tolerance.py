"""affine right but for its last output element, moved by twice the
documented tolerance (``2 * rtol * max(1, max|z|)``): a judge loosened
twofold lets it through."""

from refcnn import *  # noqa: F403
from refcnn import affine as _affine

from ._nudge import nudged

TIMES = 2.0


def affine(u, W, b):
    return nudged(_affine(u, W, b), TIMES)
