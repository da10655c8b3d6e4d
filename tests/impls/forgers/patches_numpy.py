"""Forger: replaces NumPy's abs, isnan, array_equal and allclose, so that
any difference reads as none."""

import numpy as np

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.forgers._zeros import zeros_pooling

max_pooling2d = zeros_pooling
np.abs = np.absolute = lambda x, *a, **k: np.zeros(np.shape(x))
np.isnan = lambda x, *a, **k: np.zeros(np.shape(x), dtype=bool)
np.array_equal = lambda *a, **k: True
np.allclose = lambda *a, **k: True
np.nanmax = lambda *a, **k: 1.0
