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
    cases = golden.load_golden(name)  # IntegrityError names the file
    rtol = ch.rtol_for(dtype, op.rtol)
    for index, case in enumerate(cases):
        arrays = {
            k: v.astype(dtype) if v.dtype.kind == "f" else v for k, v in case.sample.arrays.items()
        }
        params = {
            k: v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
            for k, v in case.sample.params.items()
        }
        forward = ot.forward_params(op, ot.Sample(arrays, params))
        got = op.call_forward(impl.require, arrays, forward)
        where = f"fixtures/golden/{name}.npz case {index} ({dtype}, {case.sample.origin})"
        repro_arrays = {**arrays, **ot.array_params(forward)}
        ch.assert_close(
            got,
            case.z,
            rtol,
            f"{name} forward, {where}",
            lambda: ch.reproduction(
                impl.name, op.imports, repro_arrays, op.forward_call_source(forward), case.z, rtol
            ),
        )
        if not op.backward:
            continue
        values = {**arrays, "z": case.z.astype(dtype), "dz": case.dz.astype(dtype)}
        grads = op.call_backward(impl.require, values, params)
        for position, grad_name in enumerate(op.grads):
            if grad_name == "u" and params.get("calc_du_flag") is False:
                continue
            pick = f"[{position}]" if len(op.grads) > 1 else ""
            names = op.backward_args or (*op.inputs, "dz")
            ch.assert_close(
                grads[grad_name],
                case.grads[grad_name],
                rtol,
                f"{name} backward d{grad_name}, {where}",
                lambda g=grad_name, p=pick: ch.reproduction(
                    impl.name,
                    op.imports,
                    {**{n: values[n] for n in names}, **ot.array_params(params)},
                    op.backward_call_source(params),
                    case.grads[g],
                    rtol,
                    p,
                ),
            )
