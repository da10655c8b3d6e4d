"""Every tolerance of the suite, each with the reason for its value
(imported as ``tol``).

A value comparison passes when ``|got - expected| <= rtol * max(1,
max|expected|)``: the error of a sum of products is relative to the size of
its terms, not of each output element.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# Forward and backward against the oracle, by the input dtype. float64: a few
# hundred products summed in another order differ by ~1e-14 of their scale;
# float32: ~1e-6, and accumulating in float32 over a window of up to 4 x 4 x 8
# terms can reach ~1e-5.
RTOL = {"float64": 1e-10, "float32": 1e-4}

# Finite differences: central differences with step 1e-6 in float64 are good
# to about 1e-8 on these smooth or piecewise-linear losses (truncation ~step^2,
# rounding ~eps * |loss| / step); 1e-6 leaves a margin of 100.
FINITE_DIFFERENCE_STEP = 1e-6
FINITE_DIFFERENCE_RTOL = 1e-6
# Along random directions, the loss's own rounding is allowed on top, in units
# of the loss: a large loss (many channels, values up to ~15) makes it exceed
# the element-wise tolerance; where the directions do not agree, the
# element-wise comparison decides.
ROUNDING = 16 * float(np.finfo(np.float64).eps)

# Golden fixtures recomputed by torch (scripts/regenerate_fixtures.py --check):
# the same float64 computation, with at most another summation order.
GOLDEN_RECHECK_RTOL = 1e-12
# The article's printed arrays: integer inputs and outputs below 2**53, exact
# in float64; the margin only absorbs a float32 implementation's rounding of
# integers, which is exact too.
ARTICLE_EXACT = 1e-12
# Optimizer trajectories against torch.optim in float64, 20 steps: the same
# formulas in another order; atol for the elements that pass through zero.
TRAJECTORY_RTOL, TRAJECTORY_ATOL = 1e-12, 1e-14
# One optimizer step against its closed form (the formula tests): the same
# few operations in another order.
FORMULA_RTOL = 1e-12
# Initializers, at a fixed seed (tests/test_trainer.py): the sample mean and
# variance of 120000 draws within 5 standard errors of the documented ones (a
# false alarm once in ~2 million); a two-sample KS test against torch.nn.init
# at alpha = 0.001 (critical value 1.95 sqrt(2 / n)).
DISTRIBUTION_SIGMAS = 5
KS_COEFFICIENT = 1.95
# The parameterized initializers' moments (120000 weights: the standard error
# of the mean is 0.006 for var 4, of the variance 0.016; 100000 biases of var
# 0.25: 0.0016 and 0.0011; uniform: 0.006 and 0.0009): bounds of 6 to 11
# standard errors.
WEIGHT_MEAN_ATOL, WEIGHT_VAR_ATOL, BIAS_MOMENT_ATOL = 0.05, 0.1, 0.01
# Dropout against F.dropout with the same mask: one multiplication each.
DROPOUT_RTOL = 1e-15


def rtol_for(dtype: Any, overrides: Mapping[str, float] | None = None) -> float:
    """The oracle comparison's rtol for ``dtype``, or an op's override
    (``op.rtol``: its entry in :mod:`conformance.inputs.op_table`, with its reason)."""
    name = np.dtype(dtype).name
    return (overrides or {}).get(name, RTOL[name])


# The explanations (conformance.judging.explain, hints, matrices) compare small
# examples: values that differ by more than float32's rounding of the larger
# of 1 and the largest expected value differ (an implementation may compute
# in float32); NaN equals NaN and an infinity equals itself.
EXPLAIN_RTOL = 1e-5


def explain_scale(expected: np.ndarray) -> float:
    finite = expected[np.isfinite(expected)]
    return max(1.0, float(np.abs(finite).max(initial=0.0)))


def differing(got: np.ndarray, expected: np.ndarray, scale: float | None = None) -> np.ndarray:
    """The cells of ``got`` that differ from ``expected`` (see EXPLAIN_RTOL);
    ``scale``: of the whole array, when these are a slice of it."""
    scale = explain_scale(expected) if scale is None else scale
    return ~np.isclose(got, expected, rtol=0, atol=EXPLAIN_RTOL * scale, equal_nan=True)
