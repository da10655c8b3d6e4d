"""Weight and bias initializers named in the article's ``add_layer`` list.

Weight initializers are called as ``func(d_prev, d, rng=..., **params)`` and
return ``(d_prev, d)``: ``d_prev`` is the fan-in, ``d`` the number of outputs.
For ``convolution2d`` the article calls ``func(fh*fw*fc, fn)`` and reshapes the
result to ``(fn, fh, fw, fc)``; refcnn does the same, so for a convolution
``fan_out = fn`` (torch's ``fan_out`` would be ``fn*fh*fw``; this only matters
for the Glorot initializers).

Definitions (Keras' names; plain, untruncated normals as in ``torch.nn.init``,
where Keras truncates its ``*_normal`` initializers):

================  ====================================  =================================
name              distribution                          torch.nn.init equivalent
================  ====================================  =================================
lecun_normal      N(0, 1/fan_in)                        kaiming_normal_(nonlinearity='linear')
lecun_uniform     U(+-sqrt(3/fan_in))                   kaiming_uniform_(nonlinearity='linear')
glorot_normal     N(0, 2/(fan_in+fan_out))              xavier_normal_
glorot_uniform    U(+-sqrt(6/(fan_in+fan_out)))         xavier_uniform_
he_normal         N(0, 2/fan_in)                        kaiming_normal_(nonlinearity='relu')
he_uniform        U(+-sqrt(6/fan_in))                   kaiming_uniform_(nonlinearity='relu')
normal_w          N(mean, var)  (mean=0, var=1)         normal_(mean, sqrt(var))
uniform_w         U(min, max)   (min=0, max=1)          uniform_(min, max)
zeros_w, ones_w   0, 1                                  zeros_, ones_
================  ====================================  =================================

Bias initializers ``func(d, rng=..., **params)`` return ``(d,)``:
``normal_b`` (mean=0, var=1), ``uniform_b`` (min=0, max=1), ``zeros_b``,
``ones_b``. Every draw comes from the ``numpy.random.Generator`` passed as
``rng`` (required for the random ones).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "lecun_normal",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "normal_w",
    "uniform_w",
    "zeros_w",
    "ones_w",
    "normal_b",
    "uniform_b",
    "zeros_b",
    "ones_b",
]


def _rng(rng: np.random.Generator | None, name: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} needs rng=numpy.random.Generator, got {type(rng).__name__}")
    return rng


def _normal(rng, name, d_prev: int, d: int, std: float) -> np.ndarray:
    return _rng(rng, name).normal(0.0, std, size=(d_prev, d))


def _uniform(rng, name, d_prev: int, d: int, bound: float) -> np.ndarray:
    return _rng(rng, name).uniform(-bound, bound, size=(d_prev, d))


def lecun_normal(d_prev: int, d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return _normal(rng, "lecun_normal", d_prev, d, np.sqrt(1 / d_prev))


def lecun_uniform(d_prev: int, d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return _uniform(rng, "lecun_uniform", d_prev, d, np.sqrt(3 / d_prev))


def glorot_normal(d_prev: int, d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return _normal(rng, "glorot_normal", d_prev, d, np.sqrt(2 / (d_prev + d)))


def glorot_uniform(d_prev: int, d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return _uniform(rng, "glorot_uniform", d_prev, d, np.sqrt(6 / (d_prev + d)))


def he_normal(d_prev: int, d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return _normal(rng, "he_normal", d_prev, d, np.sqrt(2 / d_prev))


def he_uniform(d_prev: int, d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return _uniform(rng, "he_uniform", d_prev, d, np.sqrt(6 / d_prev))


def normal_w(
    d_prev: int,
    d: int,
    rng: np.random.Generator | None = None,
    mean: float = 0.0,
    var: float = 1.0,
) -> np.ndarray:
    return _rng(rng, "normal_w").normal(mean, np.sqrt(var), size=(d_prev, d))


def uniform_w(
    d_prev: int,
    d: int,
    rng: np.random.Generator | None = None,
    min: float = 0.0,
    max: float = 1.0,
) -> np.ndarray:
    return _rng(rng, "uniform_w").uniform(min, max, size=(d_prev, d))


def zeros_w(d_prev: int, d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return np.zeros((d_prev, d))


def ones_w(d_prev: int, d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return np.ones((d_prev, d))


def normal_b(
    d: int, rng: np.random.Generator | None = None, mean: float = 0.0, var: float = 1.0
) -> np.ndarray:
    return _rng(rng, "normal_b").normal(mean, np.sqrt(var), size=d)


def uniform_b(
    d: int,
    rng: np.random.Generator | None = None,
    min: float = 0.0,
    max: float = 1.0,
) -> np.ndarray:
    return _rng(rng, "uniform_b").uniform(min, max, size=d)


def zeros_b(d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return np.zeros(d)


def ones_b(d: int, rng: np.random.Generator | None = None) -> np.ndarray:
    return np.ones(d)
