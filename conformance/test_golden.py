"""The implementation against the stored torch results (fixtures/golden).

These run with or without torch; without it they are the torch oracle.
Every file is checked against its SHA-256 in the manifest before use: an
edited or corrupted file fails, by name, instead of being used."""

from __future__ import annotations

import numpy as np
import pytest

from . import checks as ch
from . import golden
from . import op_table as ot
from .strategies import DTYPES

GOLDEN_OPS = [name for name in golden.golden_ops() if name in ot.BY_NAME]


def test_golden_fixtures_exist_for_every_op() -> None:
    assert sorted(GOLDEN_OPS) == sorted(op.name for op in ot.OPS), (
        "run scripts/regenerate_fixtures.py for the ops without golden cases"
    )


@pytest.mark.parametrize("dtype", DTYPES, ids={"float64": "f64", "float32": "f32"}.get)
@pytest.mark.parametrize("name", GOLDEN_OPS)
def test_golden_cases(name: str, dtype: str, impl) -> None:
    op = ot.BY_NAME[name]
    for function in op.imports:
        impl.require(function)
    for index, case in enumerate(golden.load_golden(name)):  # IntegrityError names the file
        check_case(impl, op, case, dtype, f"fixtures/golden/{name}.npz case {index}")


def _cast(value, dtype: str):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype)
    return value


def check_case(impl, op: ot.Op, case: golden.GoldenCase, dtype: str, where: str) -> None:
    rtol = ch.rtol_for(dtype, op.rtol)
    arrays = {k: _cast(v, dtype) for k, v in case.sample.arrays.items()}
    params = {k: _cast(v, dtype) for k, v in case.sample.params.items()}
    forward = ot.forward_params(op, ot.Sample(arrays, params))
    where = f"{where}, {dtype}, {case.sample.origin}"
    got = op.call_forward(impl.require, arrays, forward)
    ch.check_forward(impl, op, got, case.z, arrays, forward, rtol, where)
    if not op.backward:
        return
    values = {**arrays, "z": case.z.astype(dtype), "dz": case.dz.astype(dtype)}
    grads = op.call_backward(impl.require, values, params)
    ch.check_gradients(impl, op, grads, case.grads, values, params, rtol, where)
