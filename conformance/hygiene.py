"""Hygiene checks (imported as ``hy``): the implementation leaves the arrays
it is handed alone, and returns outputs of its own, of any array type (not
an input object itself; no buffer that a later call refills).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .checks import ConformanceError


def copies(values: Mapping[str, Any]) -> dict[str, Any]:
    """Fresh copies of the arrays: what the implementation is handed."""
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in values.items()}


def assert_unchanged(
    handed: Mapping[str, Any],
    original: Mapping[str, Any],
    what: str,
    repro: Callable[[], str],
    params: Mapping[str, Any],
) -> None:
    """The arrays the implementation was handed still hold their values."""
    __tracebackhide__ = True
    for name, value in handed.items():
        before = original[name]
        if not isinstance(value, np.ndarray) or np.array_equal(value, before, equal_nan=True):
            continue
        if value.shape != before.shape:
            change = f"the shape of its input {name}, {before.shape} -> {value.shape}"
        else:
            differs = value != before
            if np.issubdtype(value.dtype, np.inexact):
                differs &= ~(np.isnan(value) & np.isnan(before))
            change = f"its input {name} ({int(differs.sum())} of {value.size} elements)"
        raise ConformanceError(
            "mutated input", what, f"the call changed {change}", repro(), params=params
        )


def memory_of(value: Any) -> np.ndarray | None:
    """A NumPy array over ``value``'s own memory, without copying, for any
    array type that exposes it (NumPy, DLPack: torch, JAX, CuPy on the CPU;
    ``__array_interface__``; the buffer protocol); None when it does not."""
    if isinstance(value, np.ndarray):
        return value
    if value is None or isinstance(value, (int, float, complex, str)):
        return None
    candidates = [value]
    if callable(getattr(value, "detach", None)):  # torch refuses DLPack with autograd
        try:
            candidates.append(value.detach())
        except Exception:
            pass
    for candidate in candidates:
        if hasattr(candidate, "__dlpack__"):
            try:
                return np.from_dlpack(candidate)
            except Exception:
                continue
    if hasattr(value, "__array_interface__"):
        try:
            return np.asarray(value)
        except Exception:
            return None
    try:
        return np.asarray(memoryview(value))
    except TypeError:
        return None


def snapshot(value: Any) -> np.ndarray | None:
    """A NumPy copy of an output of any array type (None for no array)."""
    memory = memory_of(value)
    if memory is not None:
        return np.array(memory, copy=True)
    try:
        array = np.array(value, copy=True)
    except Exception:
        return None
    return array if array.dtype != object else None


def assert_owns_memory(
    outputs: Mapping[str, Any],
    inputs: Mapping[str, Any],
    what: str,
    repro: Callable[[], str],
    params: Mapping[str, Any],
    *,
    views: bool = False,
    passthrough: bool = False,
) -> None:
    """No output is an input object itself (unless the op computes nothing,
    ``passthrough``). A view of an input (``u.reshape(...)``, as the article's
    flatten returns) is allowed; ``views=True`` (--strict-policies) reports
    it too, since a caller that updates such an output in place changes the
    input. Outputs of other array types (a torch tensor) are compared by the
    memory they expose."""
    __tracebackhide__ = True
    for out_name, out in outputs.items():
        memory = memory_of(out)
        for in_name, value in inputs.items():
            if memory is None or not isinstance(value, np.ndarray):
                continue
            if out is value and not passthrough:
                problem = f"the output {out_name} is the input {in_name} itself, not a result"
            elif views and out is not value and memory.size and np.shares_memory(memory, value):
                kind = "" if isinstance(out, np.ndarray) else f" ({type(out).__name__})"
                problem = (
                    f"the output {out_name}{kind} shares memory with the input {in_name} (a "
                    "view; reported under --strict-policies only)"
                )
            else:
                continue
            raise ConformanceError("aliased output", what, problem, repro(), params=params)


def assert_kept(
    first: Mapping[str, Any],
    kept: Mapping[str, np.ndarray],
    what: str,
    repro: Callable[[], str],
    params: Mapping[str, Any],
) -> None:
    """Outputs of a first call (``first``, of any array type; ``kept``: their
    NumPy copies made right after it) are unchanged after a second call with
    other inputs (no buffer reused across calls)."""
    __tracebackhide__ = True
    for name, copy in kept.items():
        now = snapshot(first[name])
        if now is None or not np.array_equal(now, copy, equal_nan=True):
            raise ConformanceError(
                "aliased output",
                what,
                f"a second call with other inputs changed the first call's {name}: "
                "outputs share a buffer across calls",
                repro(),
                params=params,
            )
