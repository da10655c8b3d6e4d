"""A bug only the stored golden cases reach: average pooling is wrong on the
largest stored input of fixtures/golden/average_pooling2d.npz (it stands for
a bug in a region the property tests' draws do not visit; the smallest
stored inputs are hypothesis' first, simplest draws, which the property
tests draw too)."""

import numpy as np

from refcnn.conformance.expected import golden
from tests.impls import article_loops
from tests.impls.article_loops import *  # noqa: F403

_TRIGGER = max(
    (case.sample.arrays["u"] for case in golden.load_golden("average_pooling2d")), key=np.size
)


def average_pooling2d(u, pool_size=2, padding=0, strides=None):
    z = article_loops.average_pooling2d(u, pool_size, padding, strides)
    if np.shape(u) == _TRIGGER.shape and np.allclose(u, _TRIGGER, rtol=1e-6):
        return z + 1.0
    return z
