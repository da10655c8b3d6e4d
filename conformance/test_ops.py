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
from .strategies import DTYPES, Sample, make_values

DTYPE_IDS = {"float64": "f64", "float32": "f32"}


def _policy_dtype(impl, dtype: str) -> str | None:
    """refcnn's dtype policy (float32 in, float32 out) is checked under --strict-policies."""
    return dtype if impl.strict else None


def _draw(data: st.DataObject, op: ot.Op, dtype: str, gradcheck: bool = False) -> Sample:
    sample = data.draw(op.samples(dtype, gradcheck=gradcheck), label="sample")
    note(repr(sample))
    return sample


def _grad_output(data: st.DataObject, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    seed = data.draw(st.integers(0, 2**32 - 1), label="dz seed")
    return make_values(np.random.default_rng(seed), shape, "normal").astype(dtype)


def _call_backward(back, op: ot.Op, values: dict[str, Any], params: dict) -> dict[str, Any]:
    result = back(*(values[name] for name in op.backward_args), **params)
    if len(op.grads) == 1 and not isinstance(result, tuple):
        result = (result,)
    if not isinstance(result, tuple) or len(result) != len(op.grads):
        raise AssertionError(
            f"{op.backward} must return {len(op.grads)} gradients "
            f"({', '.join('d' + g for g in op.grads)}), got {type(result).__name__}"
        )
    return dict(zip(op.grads, result, strict=True))


def _skipped_gradient(name: str, params: dict) -> bool:
    return name == "u" and params.get("calc_du_flag") is False


def _check_gradients(impl, op, got, expected, params, rtol, dtype, repro) -> None:
    for name in op.grads:
        if _skipped_gradient(name, params):
            # calc_du_flag=False: the article skips du; refcnn returns None.
            if impl.is_reference:
                assert got[name] is None, "refcnn returns du=None when calc_du_flag=False"
            continue
        ch.assert_close(
            got[name],
            expected[name],
            rtol,
            f"{op.backward} d{name} ({dtype}, {params})",
            lambda name=name: repro(name, expected[name]),
            dtype=dtype,
        )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS.get)
@pytest.mark.parametrize("op", ot.OPS, ids=str)
@given(data=st.data())
def test_forward(op: ot.Op, dtype: str, data: st.DataObject, impl, oracle) -> None:
    forward = impl.require(op.forward)
    sample = _draw(data, op, dtype)
    params = ot.forward_params(op, sample)
    got = forward(*(sample.arrays[name] for name in op.inputs), **params)
    expected = oracle.forward(op, sample)
    rtol = ch.rtol_for(dtype, op.rtol)
    ch.assert_close(
        got,
        expected,
        rtol,
        f"{op.forward} forward ({dtype}, {params}, {sample.origin})",
        lambda: ch.reproduction(
            impl.name,
            op.forward,
            sample.arrays,
            ch.call_source(op.forward, list(op.inputs), params),
            expected,
            rtol,
        ),
        dtype=_policy_dtype(impl, dtype),
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS.get)
@pytest.mark.parametrize("op", ot.DIFFERENTIABLE, ids=str)
@given(data=st.data())
def test_backward(op: ot.Op, dtype: str, data: st.DataObject, impl, oracle) -> None:
    back = impl.require(op.backward)
    sample = _draw(data, op, dtype)
    z = oracle.forward(op, sample).astype(dtype)  # the correct z, so only backward is judged
    dz = _grad_output(data, z.shape, dtype)
    values = {**sample.arrays, "z": z, "dz": dz}
    got = _call_backward(back, op, values, sample.params)
    expected = oracle.backward(op, sample, dz)
    rtol = ch.rtol_for(dtype, op.rtol)
    call = ch.call_source(op.backward, list(op.backward_args), sample.params)
    index = {name: i for i, name in enumerate(op.grads)}

    def repro(name: str, want: np.ndarray) -> str:
        pick = f"[{index[name]}]" if len(op.grads) > 1 else ""
        arrays = {n: values[n] for n in op.backward_args}
        return ch.reproduction(impl.name, op.backward, arrays, call, want, rtol, pick)

    _check_gradients(
        impl, op, got, expected, sample.params, rtol, _policy_dtype(impl, dtype), repro
    )


@pytest.mark.parametrize("op", ot.DIFFERENTIABLE, ids=str)
@given(data=st.data())
def test_gradient_matches_finite_differences(op: ot.Op, data: st.DataObject, impl) -> None:
    """Central differences of sum(forward * dz), float64, tie-free inputs: a
    check of the backward that needs neither torch nor the fixtures."""
    forward, back = impl.require(op.forward), impl.require(op.backward)
    sample = _draw(data, op, "float64", gradcheck=True)
    params = ot.forward_params(op, sample)
    z = np.asarray(forward(*(sample.arrays[name] for name in op.inputs), **params))
    dz = _grad_output(data, z.shape, "float64")

    def loss(arrays: dict[str, np.ndarray]) -> float:
        out = np.asarray(forward(*(arrays[name] for name in op.inputs), **params))
        return float(np.sum(out * dz))

    expected = {
        name: ch.finite_difference_gradient(loss, dict(sample.arrays), name)
        for name in op.grads
        if not _skipped_gradient(name, sample.params)
    }
    values = {**sample.arrays, "z": z, "dz": dz}
    got = _call_backward(back, op, values, sample.params)
    call = ch.call_source(op.backward, list(op.backward_args), sample.params)
    index = {name: i for i, name in enumerate(op.grads)}

    def repro(name: str, want: np.ndarray) -> str:
        pick = f"[{index[name]}]" if len(op.grads) > 1 else ""
        arrays = {n: values[n] for n in op.backward_args}
        return ch.reproduction(
            impl.name, op.backward, arrays, call, want, ch.FINITE_DIFFERENCE_RTOL, pick
        )

    _check_gradients(impl, op, got, expected, sample.params, ch.FINITE_DIFFERENCE_RTOL, None, repro)
