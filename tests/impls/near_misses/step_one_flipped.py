"""The step function returned as booleans (``u > 0``: exact, see the near
pass ``step_booleans``), with its last element flipped."""

import numpy as np

from refcnn import *  # noqa: F403


def step(u):
    z = np.asarray(u) > 0
    if z.size:
        z.flat[-1] = not z.flat[-1]
    return z
