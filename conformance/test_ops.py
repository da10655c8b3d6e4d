"""Generic property tests over the op table: forward and backward against the
oracle, and gradients against finite differences (no torch involved)."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, note, seed, settings
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


def _draw(
    data: st.DataObject, tally: vd.Tally, op: ot.Op, dtype: str, gradcheck: bool = False
) -> Sample:
    sample = data.draw(op.samples(dtype, gradcheck=gradcheck), label="sample")
    note(repr(sample))
    tally.count()
    return sample


def run_examples(request: pytest.FixtureRequest, body: Callable[[st.DataObject], None]) -> None:
    """Run ``body`` on the examples of the loaded hypothesis profile. Under a
    deterministic profile (ci) the seed is the test's name and parameters, so
    that the examples do not depend on the folder the suite is installed in,
    the entry point or the selection of tests."""
    test = given(data=st.data())(body)
    if settings.default.derandomize:
        test = seed(zlib.crc32(request.node.name.encode()))(test)
    test()


def _grad_output(data: st.DataObject, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    seed = data.draw(st.integers(0, 2**32 - 1), label="dz seed")
    return make_values(np.random.default_rng(seed), shape, "normal").astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS.get)
@pytest.mark.parametrize("op", ot.OPS, ids=str)
def test_forward(op: ot.Op, dtype: str, request, impl, oracle, tally) -> None:
    run_examples(request, lambda data: _forward(op, dtype, data, impl, oracle, tally))


def _forward(op: ot.Op, dtype: str, data: st.DataObject, impl, oracle, tally) -> None:
    for function in op.imports[:1] if op.compose_forward is None else op.imports:
        impl.require(function)
    sample = _draw(data, tally, op, dtype)
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
def test_backward(op: ot.Op, dtype: str, request, impl, oracle, tally) -> None:
    run_examples(request, lambda data: _backward(op, dtype, data, impl, oracle, tally))


def _backward(op: ot.Op, dtype: str, data: st.DataObject, impl, oracle, tally) -> None:
    for function in op.imports:
        impl.require(function)
    sample = _draw(data, tally, op, dtype)
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
def test_gradient_matches_finite_differences(op: ot.Op, request, impl, tally) -> None:
    """Central differences of sum(forward * dz), float64, tie-free inputs: a
    check of the backward that needs neither torch nor the fixtures."""
    run_examples(request, lambda data: _gradient(op, data, impl, tally))


def _gradient(op: ot.Op, data: st.DataObject, impl, tally) -> None:
    for function in op.imports:
        impl.require(function)
    sample = _draw(data, tally, op, "float64", gradcheck=True)
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
