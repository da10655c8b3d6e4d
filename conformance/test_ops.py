"""Generic property tests over the op table: forward and backward against the
oracle, and gradients against finite differences (no torch involved)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from . import checks as ch
from . import op_table as ot
from . import verdict as vd
from .strategies import DTYPES, Sample, make_values

DTYPE_IDS = {"float64": "f64", "float32": "f32"}


def _policy_dtype(impl, dtype: str) -> str | None:
    """refcnn's dtype policy (float32 in, float32 out) is checked for refcnn,
    and for other implementations under --strict-policies."""
    return dtype if impl.strict else None


def _draw(data: st.DataObject, op: ot.Op, dtype: str, gradcheck: bool = False) -> Sample:
    sample = data.draw(op.samples(dtype, gradcheck=gradcheck), label="sample")
    note(repr(sample))
    vd.count_example()
    return sample


def _grad_output(data: st.DataObject, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    seed = data.draw(st.integers(0, 2**32 - 1), label="dz seed")
    return make_values(np.random.default_rng(seed), shape, "normal").astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS.get)
@pytest.mark.parametrize("op", ot.OPS, ids=str)
@given(data=st.data())
def test_forward(op: ot.Op, dtype: str, data: st.DataObject, impl, oracle) -> None:
    for function in op.imports[:1] if op.compose_forward is None else op.imports:
        impl.require(function)
    sample = _draw(data, op, dtype)
    params = ot.forward_params(op, sample)
    got = op.call_forward(impl.require, sample.arrays, params)
    expected = oracle.forward(op, sample)
    ch.check_forward(
        impl,
        op,
        got,
        expected,
        sample.arrays,
        params,
        ch.rtol_for(dtype, op.rtol),
        f"{dtype}, {params}, {sample.origin}",
        _policy_dtype(impl, dtype),
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS.get)
@pytest.mark.parametrize("op", ot.DIFFERENTIABLE, ids=str)
@given(data=st.data())
def test_backward(op: ot.Op, dtype: str, data: st.DataObject, impl, oracle) -> None:
    for function in op.imports:
        impl.require(function)
    sample = _draw(data, op, dtype)
    z = np.asarray(oracle.forward(op, sample)).astype(dtype)  # the correct z
    dz = _grad_output(data, z.shape, dtype)
    values = {**sample.arrays, "z": z, "dz": dz}
    got = op.call_backward(impl.require, values, sample.params)
    expected = oracle.backward(op, sample, dz)
    ch.check_gradients(
        impl,
        op,
        got,
        expected,
        values,
        sample.params,
        ch.rtol_for(dtype, op.rtol),
        f"{dtype}, {sample.params}",
        _policy_dtype(impl, dtype),
    )


@pytest.mark.parametrize("op", ot.DIFFERENTIABLE, ids=str)
@given(data=st.data())
def test_gradient_matches_finite_differences(op: ot.Op, data: st.DataObject, impl) -> None:
    """Central differences of sum(forward * dz), float64, tie-free inputs: a
    check of the backward that needs neither torch nor the fixtures."""
    for function in op.imports:
        impl.require(function)
    sample = _draw(data, op, "float64", gradcheck=True)
    params = ot.forward_params(op, sample)
    z = np.asarray(op.call_forward(impl.require, sample.arrays, params))
    dz = _grad_output(data, z.shape, "float64")

    def loss(arrays: dict[str, np.ndarray]) -> float:
        return float(np.sum(np.asarray(op.call_forward(impl.require, arrays, params)) * dz))

    expected = {
        name: ch.finite_difference_gradient(loss, dict(sample.arrays), name)
        for name in op.grads
        if not ch.skipped_gradient(name, sample.params)
    }
    values = {**sample.arrays, "z": z, "dz": dz}
    got = op.call_backward(impl.require, values, sample.params)
    ch.check_gradients(
        impl,
        op,
        got,
        expected,
        values,
        sample.params,
        ch.FINITE_DIFFERENCE_RTOL,
        f"float64, finite differences, {sample.params}",
    )
