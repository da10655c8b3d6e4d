"""AdaGrad and AdaDelta right but for their new weights, moved by a
relative 1e-9: past the line of an optimizer step against its closed form
(``pytest.approx(rel=tol.FORMULA_RTOL)``, 1e-12, with approx's own absolute
1e-12: AdaGrad's step there is -0.0099, AdaDelta's -0.14), far inside any
tolerance of a layer's values."""

import numpy as np

import refcnn
from refcnn import *  # noqa: F403

OFF = 1e-9


def AdaGrad(W, dW, **kwargs):  # noqa: N802 (the article's name)
    W, stats = refcnn.AdaGrad(W, dW, **kwargs)
    return W * np.float64(1 + OFF), stats


def AdaDelta(W, dW, **kwargs):  # noqa: N802
    W, stats = refcnn.AdaDelta(W, dW, **kwargs)
    return W * np.float64(1 + OFF), stats
