"""The implementation against the stored torch results (fixtures/golden),
corner by corner.

These run with or without torch; without it they are the torch oracle.
Every file is checked against its SHA-256 in the manifest before use: an
edited or corrupted file fails, by name, instead of being used. A corner the
implementation declared unsupported is skipped, and so are the ``mixed``
cases that hit one."""

from __future__ import annotations

import numpy as np
import pytest

from ..expected import golden
from ..expected import tolerances as tol
from ..inputs import op_table as ot
from ..inputs.strategies import DTYPES
from ..judging import calls as cl
from ..judging import checks as ch
from .test_ops import DTYPE_IDS, explainer, slug

GOLDEN_OPS = [name for name in golden.golden_ops() if name in ot.BY_NAME]
CASES = [
    pytest.param(name, corner, dtype, id=f"{name}-{slug(corner)}-{DTYPE_IDS[dtype]}")
    for name in GOLDEN_OPS
    for corner in golden.golden_corners(name)
    for dtype in DTYPES
]


def test_golden_fixtures_exist_for_every_op_and_corner() -> None:
    assert sorted(GOLDEN_OPS) == sorted(op.name for op in ot.OPS), (
        "run scripts/regenerate_fixtures.py for the ops without golden cases"
    )
    for op in ot.OPS:
        assert sorted(golden.golden_corners(op.name)) == sorted(op.corners), (
            f"{op.name}: run scripts/regenerate_fixtures.py --op {op.name}"
        )


@pytest.mark.parametrize(("name", "corner", "dtype"), CASES)
@pytest.mark.verdict(check="golden")
def test_golden_cases(name: str, corner: str, dtype: str, request, impl, oracle, tally) -> None:
    op = ot.BY_NAME[name]
    for function in op.forward_imports:  # the backward is checked where provided
        impl.require(function)
    impl.require_corner(name, corner)
    unsupported = impl.unsupported_corners(name)
    for index, case in enumerate(golden.load_golden(name)):  # IntegrityError names the file
        if case.sample.corner != corner or op.tags(case.sample) & unsupported:
            continue
        where = f"fixtures/golden/{name}.npz case {index} [{corner}, {dtype}]"
        try:
            compared = check_case(impl, op, case, dtype, where)
        except ch.ConformanceError as failure:
            explaining = explainer(request, impl, op, oracle, dtype)
            explaining.saw(case.sample, case.dz)
            explaining.explain(failure, "golden")
            raise
        tally.count(set(), compared)


def _cast(value, dtype: str):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype)
    return value


def check_case(impl, op: ot.Op, case: golden.GoldenCase, dtype: str, where: str) -> bool:
    """One stored case through the forward (and backward); True when values
    were compared."""
    rtol = tol.rtol_for(dtype, op.rtol)
    arrays = {k: _cast(v, dtype) for k, v in case.sample.arrays.items()}
    params = {k: _cast(v, dtype) for k, v in case.sample.params.items()}
    forward = ot.forward_params(op, ot.Sample(arrays, params))
    where = f"{where} ({case.sample.params}, {case.sample.origin})"
    got = cl.Caller(impl, op, where)(arrays, forward)
    compared = ch.check_forward(impl, op, got, case.z, arrays, forward, rtol, where)
    if not op.backward or any(impl.get(f) is None for f in op.imports):
        return compared
    values = {**arrays, "z": case.z.astype(dtype), "dz": case.dz.astype(dtype)}
    result = cl.Caller(impl, op, where, backward=True)(values, params)
    return ch.check_gradients(impl, op, result, case.grads, values, params, rtol, where) or compared
