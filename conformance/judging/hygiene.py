"""Hygiene checks (imported as ``hy``): the implementation leaves the arrays
it is handed alone, and returns outputs of its own, of any array type (not
an input object itself; no buffer that a later call refills).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from refcnn.i18n import tr

from ..judged.protocol import memory_of
from ..verdict.record import VIEW
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
        if not isinstance(value, np.ndarray):
            continue
        if value.shape != before.shape:
            change = tr("the call changed the shape of its input {name}, {before} -> {after}",
                        name=name, before=before.shape, after=value.shape)  # fmt: skip
        elif value.dtype != before.dtype:
            # its bytes reinterpreted in place (``u.dtype = ...``); strings
            # could not be compared with the numbers below
            change = tr("the call changed the dtype of its input {name}, {before} -> {after}",
                        name=name, before=before.dtype, after=value.dtype)  # fmt: skip
        elif np.array_equal(value, before, equal_nan=True):
            continue
        else:
            differs = (value != before) & ~(np.isnan(value) & np.isnan(before))
            change = tr("the call changed its input {name} ({count} of {size} elements)",
                        name=name, count=int(differs.sum()), size=value.size)  # fmt: skip
        raise ConformanceError("mutated input", what, change, repro(), params=params)


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
    facts: Callable[[Any], tuple[Any, Any, str] | None],
    views: bool = False,
    passthrough: bool = False,
) -> None:
    """No output is an input object itself (unless the op computes nothing,
    ``passthrough``). A view of an input (``u.reshape(...)``, as the article's
    flatten returns) is allowed; ``views=True`` (--strict-policies) reports
    it too, since a caller that updates such an output in place changes the
    input. Only the worker sees the objects: ``facts(output)`` is what it
    observed, (the input it is, the input it shares memory with, its type's
    name when it is no ndarray), or None."""
    __tracebackhide__ = True
    for out_name, out in outputs.items():
        observed = facts(out)
        if observed is None:
            continue
        same, shares, kind = observed
        for in_name, value in inputs.items():
            if not isinstance(value, np.ndarray):
                continue
            detail = ""
            if same is value and not passthrough:
                problem = tr("the output {output} is the input {input} itself, not a result",
                             output=out_name, input=in_name)  # fmt: skip
            elif views and same is None and shares is value:
                detail = VIEW
                output = f"{out_name} ({kind})" if kind else out_name
                problem = tr("the output {output} shares memory with the input {input} (a view; "
                             "reported under --strict-policies only)", output=output,
                             input=in_name)  # fmt: skip
            else:
                continue
            error = ConformanceError("aliased output", what, problem, repro(), params=params)
            error.detail = detail
            raise error


def assert_kept(
    first: Mapping[str, Any],
    kept: Mapping[str, np.ndarray],
    what: str,
    repro: Callable[[], str],
    params: Mapping[str, Any],
) -> None:
    """Outputs of a first call (``first``: as the worker holds them after a
    second call with other inputs; ``kept``: their copies made right after
    the first) are unchanged: no buffer reused across calls."""
    __tracebackhide__ = True
    for name, copy in kept.items():
        now = snapshot(first[name])
        if now is None or not np.array_equal(now, copy, equal_nan=True):
            raise ConformanceError(
                "aliased output",
                what,
                tr(
                    "a second call with other inputs changed the first call's {name}: outputs "
                    "share a buffer across calls",
                    name=name,
                ),
                repro(),
                params=params,
            )
