"""Comparisons, tolerances, finite differences and reproduction snippets
(imported as ``ch``).

Every failed comparison raises an ``AssertionError`` whose message names the
op, the parameters and the worst element (index, expected, got, tolerance),
followed by a snippet that reproduces the failure with NumPy alone: the
inputs and the expected values are written out in full.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import op_table

# Relative tolerances, one place for all ops. A difference passes when
# |got - expected| <= rtol * max(1, max|expected|): the error of a sum of
# products is relative to the size of its terms, not of each output element.
RTOL = {"float64": 1e-10, "float32": 1e-4}
# Central differences with step 1e-6 in float64 are good to about 1e-8.
FINITE_DIFFERENCE_STEP = 1e-6
FINITE_DIFFERENCE_RTOL = 1e-6
REPRO_START = "--- reproduce with NumPy alone ---"
REPRO_END = "--- end of reproduction ---"


def rtol_for(dtype: Any, overrides: Mapping[str, float] | None = None) -> float:
    name = np.dtype(dtype).name
    if overrides and name in overrides:
        return overrides[name]
    return RTOL[name]


def literal(value: Any) -> str:
    """Python source that rebuilds ``value`` exactly (arrays with full floats)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r}, dtype=np.{value.dtype.name}).reshape({value.shape})"
    return repr(value)


def reproduction(
    module: str,
    functions: str | tuple[str, ...],
    arrays: Mapping[str, np.ndarray],
    call: str,
    expected: np.ndarray | None,
    rtol: float,
    pick: str = "",
) -> str:
    """A self-contained script: imports, inputs, the call, and the check."""
    names = (functions,) if isinstance(functions, str) else functions
    lines = ["import numpy as np", f"from {module} import {', '.join(names)}", ""]
    lines += [f"{name} = {literal(array)}" for name, array in arrays.items()]
    lines.append(f"got = {call}{pick}")
    if expected is not None:
        lines.append(f"expected = {literal(expected)}")
        lines.append("scale = max(1.0, float(np.abs(expected).max(initial=0.0)))")
        lines.append(
            f"assert np.abs(np.asarray(got) - expected).max(initial=0.0) <= {rtol!r} * scale"
        )
    return "\n".join(lines)


def worst_element(got: np.ndarray, expected: np.ndarray) -> tuple[tuple[int, ...], float]:
    """Index of the largest absolute difference (NaN counts as infinite)."""
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    flat = int(np.argmax(diff))
    return tuple(int(i) for i in np.unravel_index(flat, diff.shape)), float(diff.flat[flat])


def assert_close(
    got: Any,
    expected: np.ndarray,
    rtol: float,
    what: str,
    repro: Callable[[], str],
    *,
    dtype: Any = None,
) -> None:
    """Raise an AssertionError with a reproduction unless ``got`` matches.

    ``dtype``: when given, also require ``got.dtype == dtype`` (refcnn's own
    policy; other implementations are checked for it only with --strict-policies).
    """
    __tracebackhide__ = True  # pytest shows the message, not this helper's source
    problem = None
    if isinstance(got, float):
        dtype = None  # a loss returned as a Python float: no dtype to check
    if not isinstance(got, np.ndarray):
        try:
            got = np.asarray(got)
        except Exception as exc:
            problem = f"returned {type(got).__name__}, not an array ({exc})"
    if problem is None and got.dtype == object:
        problem = f"returned an object array: {got!r:.200}"
    if problem is None and got.shape != expected.shape:
        problem = f"shape {got.shape}, expected {expected.shape}"
    if problem is None and dtype is not None and got.dtype != np.dtype(dtype):
        problem = f"dtype {got.dtype}, expected {np.dtype(dtype)}"
    if problem is None and expected.size:
        scale = max(1.0, float(np.nanmax(np.abs(expected))))
        index, diff = worst_element(got, expected)
        if not diff <= rtol * scale:
            problem = (
                f"worst element at index {index}: expected {float(expected[index])!r}, "
                f"got {float(got[index])!r}, |diff| = {diff:.3g} > tolerance {rtol * scale:.3g} "
                f"(rtol {rtol:g} x scale {scale:.3g})"
            )
    if problem is not None:
        raise AssertionError(f"{what}: {problem}\n\n{REPRO_START}\n{repro()}\n{REPRO_END}\n")


def finite_difference_gradient(
    loss: Callable[[dict[str, np.ndarray]], float],
    arrays: dict[str, np.ndarray],
    name: str,
    step: float = FINITE_DIFFERENCE_STEP,
) -> np.ndarray:
    """Central differences of ``loss`` w.r.t. every element of ``arrays[name]``."""
    base = arrays[name]
    grad = np.zeros(base.shape, dtype=np.float64)
    for index in np.ndindex(base.shape):
        shifted = {k: v.copy() for k, v in arrays.items()}
        shifted[name][index] = base[index] + step
        up = loss(shifted)
        shifted[name][index] = base[index] - step
        down = loss(shifted)
        grad[index] = (up - down) / (2 * step)
    return grad


def skipped_gradient(name: str, params: Mapping[str, Any]) -> bool:
    """``du`` under ``calc_du_flag=False``: the article skips it."""
    return name == "u" and params.get("calc_du_flag") is False


def check_forward(impl, op, got, expected, arrays, params, rtol, context, enforce=None) -> None:
    """``op``'s forward output against ``expected``; ``context`` goes in the
    message, ``enforce`` is the output dtype required (refcnn's policy) or None."""
    __tracebackhide__ = True
    repro_arrays = {**arrays, **op_table.array_params(params)}
    assert_close(
        got,
        expected,
        rtol,
        f"{op.name} forward ({context})",
        lambda: reproduction(
            impl.name, op.imports, repro_arrays, op.forward_call_source(params), expected, rtol
        ),
        dtype=enforce,
    )


def check_gradients(impl, op, got, expected, values, params, rtol, context, enforce=None) -> None:
    """Every gradient ``op``'s backward returned (``got``, by input name)
    against ``expected``; ``values`` holds the backward's arguments."""
    __tracebackhide__ = True
    names = op.backward_args or (*op.inputs, "dz")
    arrays = {**{n: values[n] for n in names}, **op_table.array_params(params)}
    call = op.backward_call_source(params)
    for position, name in enumerate(op.grads):
        if skipped_gradient(name, params):
            if impl.is_reference:
                assert got[name] is None, "refcnn returns du=None when calc_du_flag=False"
            continue
        pick = f"[{position}]" if len(op.grads) > 1 else ""
        assert_close(
            got[name],
            expected[name],
            rtol,
            f"{op.name} backward d{name} ({context})",
            lambda name=name, pick=pick: reproduction(
                impl.name, op.imports, arrays, call, expected[name], rtol, pick
            ),
            dtype=enforce,
        )
