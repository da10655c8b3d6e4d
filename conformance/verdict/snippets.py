"""Reproduction snippets (imported as ``sn``): self-contained scripts that
redo a failed check with NumPy and the implementation alone, with the inputs
and the expected values written out in full; and how a call reads in them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..judged.loading import importable

REPRO_START = "--- reproduce with NumPy alone ---"
REPRO_END = "--- end of reproduction ---"


def literal(value: Any) -> str:
    """Python source that rebuilds ``value`` exactly (arrays with full floats)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r}, dtype=np.{value.dtype.name}).reshape({value.shape})"
    return repr(value)


def _preamble(module: str, functions: str | tuple[str, ...], arrays: Mapping[str, Any]) -> list:
    """The imports (a notebook's or in-memory functions are not imported:
    the snippet runs where they are defined) and the inputs."""
    names = (functions,) if isinstance(functions, str) else functions
    if importable(module):
        source = f"from {module} import {', '.join(names)}"
    else:
        source = f"# {', '.join(names)}: yours, as defined in {module.strip('<>')}; run this there"
    lines = ["import numpy as np", source, ""]
    return lines + [f"{name} = {literal(array)}" for name, array in arrays.items()]


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
    lines = _preamble(module, functions, arrays)
    lines.append(f"got = {call}{pick}")
    if expected is not None:
        lines.append(f"expected = {literal(expected)}")
        # first the shape: a wrong one may broadcast against the expected one
        lines.append("assert np.shape(got) == expected.shape, np.shape(got)")
        lines.append("scale = max(1.0, float(np.abs(expected).max(initial=0.0)))")
        lines.append(
            f"assert np.abs(np.asarray(got) - expected).max(initial=0.0) <= {rtol!r} * scale"
        )
    return "\n".join(lines)


def raise_snippet(module: str, functions, arrays: Mapping[str, Any], call: str) -> str:
    lines = _preamble(module, functions, arrays)
    return "\n".join([*lines, f"{call}  # raises"])


def mutation_snippet(module: str, functions, arrays: Mapping[str, Any], call: str) -> str:
    lines = _preamble(module, functions, arrays)
    names = [n for n, v in arrays.items() if isinstance(v, np.ndarray)]
    lines.append(f"before = {{name: value.copy() for name, value in {_dict(names)}.items()}}")
    lines.append(call)
    lines.append(
        "assert all(np.array_equal(before[k], v, equal_nan=True) "
        f"for k, v in {_dict(names)}.items())"
    )
    return "\n".join(lines)


_OUTPUTS = "outputs = [o for o in (got if isinstance(got, tuple) else (got,)) if o is not None]"


def alias_snippet(module: str, functions, arrays: Mapping[str, Any], call: str) -> str:
    lines = _preamble(module, functions, arrays)
    names = [n for n, v in arrays.items() if isinstance(v, np.ndarray)]
    lines += [f"got = {call}", _OUTPUTS]
    lines.append(
        f"assert not any(o is v or np.shares_memory(o, v) for o in outputs "
        f"for v in {_dict(names)}.values())"
    )
    return "\n".join(lines)


def reuse_snippet(
    module: str, functions, first: Mapping[str, Any], second: Mapping[str, Any], call: str
) -> str:
    lines = _preamble(module, functions, first)
    lines += [f"got = {call}", _OUTPUTS]
    lines.append("kept = [np.array(o, copy=True) for o in outputs]")
    lines += [f"{name} = {literal(value)}" for name, value in second.items()]
    lines.append(f"{call}  # other inputs of the same shapes")
    lines.append(
        "assert all(np.array_equal(o, k) for o, k in zip(outputs, kept)), "
        "'the second call changed the first result'"
    )
    return "\n".join(lines)


def _dict(names: list[str]) -> str:
    return "{" + ", ".join(f"{n!r}: {n}" for n in names) + "}"


def array_params(params: dict) -> dict[str, np.ndarray]:
    return {k: v for k, v in params.items() if isinstance(v, np.ndarray)}
