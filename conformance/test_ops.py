"""Generic property tests over the op table: forward and backward against the
oracle, and gradients against finite differences (no torch involved)."""

from __future__ import annotations

from typing import Any

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


def _skipped_gradient(name: str, params: dict) -> bool:
    return name == "u" and params.get("calc_du_flag") is False


def _repro_arrays(op: ot.Op, values: dict[str, Any], names: tuple[str, ...], params: dict):
    return {**{n: values[n] for n in names}, **ot.array_params(params)}


def _check_gradients(impl, op, got, expected, values, params, rtol, dtype, enforce) -> None:
    """``dtype``: of the inputs, for the message; ``enforce``: the output
    dtype required (refcnn's policy) or None."""
    arrays = _repro_arrays(op, values, op.backward_args or (*op.inputs, "dz"), params)
    call = op.backward_call_source(params)
    for position, name in enumerate(op.grads):
        if _skipped_gradient(name, params):
            # calc_du_flag=False: the article skips du; refcnn returns None.
            if impl.is_reference:
                assert got[name] is None, "refcnn returns du=None when calc_du_flag=False"
            continue
        pick = f"[{position}]" if len(op.grads) > 1 else ""
        ch.assert_close(
            got[name],
            expected[name],
            rtol,
            f"{op.name} backward d{name} ({dtype}, {params})",
            lambda name=name, pick=pick: ch.reproduction(
                impl.name, op.imports, arrays, call, expected[name], rtol, pick
            ),
            dtype=enforce,
        )


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
    rtol = ch.rtol_for(dtype, op.rtol)
    arrays = {**sample.arrays, **ot.array_params(params)}
    ch.assert_close(
        got,
        expected,
        rtol,
        f"{op.name} forward ({dtype}, {params}, {sample.origin})",
        lambda: ch.reproduction(
            impl.name, op.imports, arrays, op.forward_call_source(params), expected, rtol
        ),
        dtype=_policy_dtype(impl, dtype),
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
    _check_gradients(
        impl,
        op,
        got,
        expected,
        values,
        sample.params,
        ch.rtol_for(dtype, op.rtol),
        dtype,
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
        if not _skipped_gradient(name, sample.params)
    }
    values = {**sample.arrays, "z": z, "dz": dz}
    got = op.call_backward(impl.require, values, sample.params)
    _check_gradients(
        impl,
        op,
        got,
        expected,
        values,
        sample.params,
        ch.FINITE_DIFFERENCE_RTOL,
        "float64, finite differences",
        None,
    )
