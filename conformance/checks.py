"""Comparisons, tolerances, finite differences, hygiene and reproduction
snippets (imported as ``ch``).

Every failed check raises a :class:`ConformanceError`: an
``AssertionError`` that says in one or two lines what is wrong where (its
``kind``, the op, the worst element or the exception), carries the
parameters, and a snippet that reproduces it with NumPy alone (the inputs and
the expected values written out in full). The verdict reads these fields;
pytest prints the text.

Kinds: ``wrong values``, ``wrong shape`` (also: not an array, None, the
wrong number of gradients), ``raised`` (the implementation raised),
``mutated input`` (an input array changed during the call), ``aliased
output`` (a later call changed an output: a buffer reused across calls; an
input returned as the output; with --strict-policies also an output that is
a view of an input), ``wrong dtype`` (complex, boolean, string or object
values that do not equal the expected ones exactly; and refcnn's own dtype
policy, only with --strict-policies), ``crashed`` (the implementation ended
the test's process: a signal, ``os._exit``, ``sys.exit``, a
KeyboardInterrupt of its own) and ``timed out`` (see
:mod:`conformance.isolation`). ``suite error`` is an error of the suite's
own code, never the implementation's.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import isolation, op_table
from . import tolerances as tol

# Random directions per input of the directional-derivative check.
DIRECTIONS = 2
REPRO_START = "--- reproduce with NumPy alone ---"
REPRO_END = "--- end of reproduction ---"
KINDS = (
    "wrong values",
    "wrong shape",
    "raised",
    "mutated input",
    "aliased output",
    "wrong dtype",
    "crashed",
    "timed out",
    "suite error",
)
# Output dtype kinds compared as numbers; any other kind (complex, bool,
# strings, objects) passes only when it equals the expected values exactly.
NUMERIC_KINDS = "fiu"
_SUITE_DIR = str(Path(__file__).resolve().parent)


class ConformanceError(AssertionError):
    """A check failed: ``kind`` (one of KINDS), ``where`` (op, check,
    context), a short ``message``, the ``exception`` type's name for
    ``raised``, the ``params`` and the reproduction ``snippet``."""

    def __init__(
        self,
        kind: str,
        where: str,
        message: str,
        snippet: str = "",
        exception: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; one of {KINDS}")
        self.kind, self.where, self.message = kind, where, message
        self.snippet, self.exception = snippet, exception
        self.params = dict(params or {})
        text = f"{where}: {kind}: {message}"
        if snippet:
            text += f"\n\n{REPRO_START}\n{snippet}\n{REPRO_END}\n"
        super().__init__(text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "exception": self.exception,
            "message": self.message,
            "where": self.where,
            "params": {k: _json(v) for k, v in self.params.items()},
            "snippet": self.snippet,
        }


def _json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    if isinstance(value, tuple):
        return list(value)
    return value


def literal(value: Any) -> str:
    """Python source that rebuilds ``value`` exactly (arrays with full floats)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r}, dtype=np.{value.dtype.name}).reshape({value.shape})"
    return repr(value)


def _preamble(module: str, functions: str | tuple[str, ...], arrays: Mapping[str, Any]) -> list:
    names = (functions,) if isinstance(functions, str) else functions
    lines = ["import numpy as np", f"from {module} import {', '.join(names)}", ""]
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
        lines.append("scale = max(1.0, float(np.abs(expected).max(initial=0.0)))")
        lines.append(
            f"assert np.abs(np.asarray(got) - expected).max(initial=0.0) <= {rtol!r} * scale"
        )
    return "\n".join(lines)


def _exactly_equal(got: np.ndarray, expected: np.ndarray) -> bool:
    """Non-numeric values (complex, bool, strings) that equal the expected
    ones exactly, e.g. a step function's booleans."""
    try:
        with np.errstate(all="ignore"):
            return bool(np.array_equal(got, expected))
    except Exception:
        return False


def _dtype_note(got: np.ndarray, input_dtype: Any) -> str:
    """Names the output dtype when it differs from the input's."""
    if input_dtype is None or got.dtype == np.dtype(input_dtype):
        return ""
    return f" (output dtype {got.dtype}, input dtype {np.dtype(input_dtype)})"


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
    params: Mapping[str, Any] | None = None,
    input_dtype: Any = None,
) -> bool:
    """Raise a ConformanceError unless ``got`` matches; True when values
    were compared (False: both empty, only the shape was).

    ``dtype``: when given, also require ``got.dtype == dtype`` (refcnn's own
    policy; other implementations are checked for it only with --strict-policies).
    ``input_dtype``: named in the message when the output's differs.
    """
    __tracebackhide__ = True  # pytest shows the message, not this helper's source
    kind, problem = "wrong shape", None
    if isinstance(got, float):
        dtype = None  # a loss returned as a Python float: no dtype to check
    if got is None:
        problem = "returned None (a missing return?)"
    elif not isinstance(got, np.ndarray):
        try:
            got = np.asarray(got)
        except Exception as exc:
            problem = f"returned {type(got).__name__}, not an array ({exc})"
    if problem is None and got.dtype == object:
        problem = f"returned an object array: {got!r:.200}"
    if problem is None and got.shape != expected.shape:
        problem = f"shape {got.shape}, expected {expected.shape}{_dtype_note(got, input_dtype)}"
    if problem is None and dtype is not None and got.dtype != np.dtype(dtype):
        kind, problem = "wrong dtype", f"dtype {got.dtype}, expected {np.dtype(dtype)}"
    if problem is None and got.dtype.kind not in NUMERIC_KINDS:
        if not _exactly_equal(got, expected):
            kind = "wrong dtype"
            problem = (
                f"returned {got.dtype} values where {expected.dtype} ones are expected "
                f"(first element {got.flat[0]!r:.60})"
                if got.size
                else f"returned dtype {got.dtype}, expected {expected.dtype}"
            )
    elif problem is None and expected.size:
        scale = max(1.0, float(np.nanmax(np.abs(expected))))
        index, diff = worst_element(got, expected)
        if not diff <= rtol * scale:
            kind = "wrong values"
            problem = (
                f"worst element at index {index}: expected {float(expected[index])!r}, "
                f"got {float(got[index])!r}, |diff| = {diff:.3g} > tolerance {rtol * scale:.3g} "
                f"(rtol {rtol:g} x scale {scale:.3g}){_dtype_note(got, input_dtype)}"
            )
    if problem is not None:
        raise ConformanceError(kind, what, problem, repro(), params=params)
    return bool(expected.size)


# --- calling the implementation -----------------------------------------------------


def _origin(exc: BaseException) -> str:
    """Where the implementation raised: the deepest frame outside NumPy and
    this suite, e.g. ``mylayers.py:42 in conv_forward``."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(_SUITE_DIR) and "/numpy/" not in f.filename
    ]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {Path(frame.filename).name}:{frame.lineno} in {frame.name})"


def call_implementation(
    call: Callable[[], Any], what: str, repro: Callable[[], str], params: Mapping[str, Any]
) -> Any:
    """``call()``; an exception from the implementation becomes a
    ``raised`` failure, and ``SystemExit`` or a ``KeyboardInterrupt`` it
    raised itself a ``crashed`` one (pytest's skips and the suite's own
    failures pass through)."""
    __tracebackhide__ = True
    try:
        return call()
    except ConformanceError:
        raise
    except BaseException as exc:
        # Any Exception of the call is the implementation's (its own code, or
        # the op table's glue choking on what it returned); other exceptions
        # only when its code raised them: skips ("not provided"), hypothesis'
        # control flow and a real Ctrl-C pass through.
        ours = type(exc).__module__.startswith(("_pytest", "pytest"))
        if ours or not (isinstance(exc, Exception) or from_implementation(exc)):
            raise
        text = (str(exc).strip().splitlines() or [""])[0][:300]
        if not isinstance(exc, Exception):
            raise ConformanceError(
                "crashed",
                what,
                f"the implementation raised {type(exc).__name__}({text}){_origin(exc)}, "
                "which would end the test run",
                repro(),
                exception=type(exc).__name__,
                params=params,
            ) from exc
        raise ConformanceError(
            "raised",
            what,
            f"{type(exc).__name__}: {text}{_origin(exc)}",
            repro(),
            exception=type(exc).__name__,
            params=params,
        ) from exc


FROM_IMPLEMENTATION = "_refcnn_from_implementation"


def from_implementation(exc: BaseException) -> bool:
    """True for an exception that the implementation's code raised (marked by
    :meth:`Implementation.require`'s guard), not the suite or pytest."""
    return bool(getattr(exc, FROM_IMPLEMENTATION, False))


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


class Caller:
    """Calls one of ``op``'s functions as the tests do: on copies of the
    inputs (kept in ``handed``), an exception turned into a ``raised``
    failure, the inputs checked for writes afterwards, each failure with its
    snippet."""

    def __init__(self, impl, op: op_table.Op, where: str, backward: bool = False) -> None:
        self.impl, self.op, self.where, self.backward = impl, op, where, backward
        self.handed: dict[str, Any] = {}

    def source(self, params: dict) -> str:
        if self.backward:
            return self.op.backward_call_source(params)
        return self.op.forward_call_source(params)

    def arguments(self, values: dict, params: dict) -> dict[str, Any]:
        """The arrays the call takes, by name (for the snippets)."""
        names = (
            (self.op.backward_args or (*self.op.inputs, "dz")) if self.backward else self.op.inputs
        )
        return {n: values[n] for n in names} | op_table.array_params(params)

    def __call__(self, values: dict, params: dict) -> Any:
        __tracebackhide__ = True
        impl, op = self.impl, self.op
        arrays, call = self.arguments(values, params), self.source(params)
        handed, handed_params = copies(values), copies(params)
        self.handed = {**handed, **handed_params}
        run = op.call_backward if self.backward else op.call_forward
        isolation.note_call(f"{call} (during {self.where})")
        result = call_implementation(
            lambda: run(impl.require, handed, handed_params),
            self.where,
            lambda: raise_snippet(impl.name, self.imports, arrays, call),
            params,
        )
        assert_unchanged(
            self.handed,
            {**values, **params},
            self.where,
            lambda: mutation_snippet(impl.name, self.imports, arrays, call),
            params,
        )
        return result

    @property
    def imports(self) -> tuple[str, ...]:
        """The functions the call needs (what a snippet imports)."""
        return self.op.backward_imports if self.backward else self.op.forward_imports


# --- snippets for the kinds that are not about values -----------------------------------


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


# --- finite differences ---------------------------------------------------------------


def finite_difference_gradient(
    loss: Callable[[dict[str, np.ndarray]], float],
    arrays: dict[str, np.ndarray],
    name: str,
    step: float = tol.FINITE_DIFFERENCE_STEP,
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


def unit_direction(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A random unit vector of ``shape`` whose every element is at least
    ``0.5 / sqrt(size)`` in magnitude, so that an error in any one gradient
    element shows in the directional derivative."""
    d = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 1.0, size=shape)
    return d / max(float(np.linalg.norm(d)), np.finfo(np.float64).tiny)


def directions_agree(
    loss: Callable[[dict[str, np.ndarray]], float],
    arrays: dict[str, np.ndarray],
    name: str,
    gradient: Any,
    rng: np.random.Generator,
    directions: int = DIRECTIONS,
    step: float = tol.FINITE_DIFFERENCE_STEP,
) -> bool:
    """Whether ``gradient`` (what the backward returned for ``arrays[name]``)
    gives the derivative of ``loss`` that central differences give, along
    ``directions`` random unit directions ``d``: ``gradient . d`` against
    ``(loss(x + step d) - loss(x - step d)) / (2 step)``, as torch's
    ``gradcheck(fast_mode=True)`` does: two calls of the forward per
    direction, instead of two per element. False also for a gradient that
    is not a finite array of the input's shape. Where they do not agree, the
    caller compares element by element, which decides (a difference along
    ``d`` may be the loss's rounding, which a large loss makes larger than
    the element-wise tolerance)."""
    try:
        g = np.asarray(gradient, dtype=np.float64)
    except Exception:
        return False
    base = arrays[name]
    if g.shape != base.shape or not np.isfinite(g).all():
        return False
    for _ in range(directions if base.size else 0):
        d = unit_direction(rng, base.shape)
        shifted = dict(arrays)
        shifted[name] = base + step * d
        up = loss(shifted)
        shifted[name] = base - step * d
        down = loss(shifted)
        numeric = (up - down) / (2 * step)
        noise = tol.ROUNDING * max(abs(up), abs(down)) / step  # the loss's rounding, magnified
        tolerance = tol.FINITE_DIFFERENCE_RTOL * max(1.0, abs(numeric)) + noise
        if not abs(float(np.sum(g * d)) - numeric) <= tolerance:
            return False
    return True


def skipped_gradient(name: str, params: Mapping[str, Any]) -> bool:
    """``du`` under ``calc_du_flag=False``: the article skips it."""
    return name == "u" and params.get("calc_du_flag") is False


# --- the op-level checks ----------------------------------------------------------------------


def check_forward(impl, op, got, expected, arrays, params, rtol, context, enforce=None) -> bool:
    """``op``'s forward output against ``expected``; ``context`` goes in the
    message, ``enforce`` is the output dtype required (refcnn's policy) or
    None. True when values were compared."""
    __tracebackhide__ = True
    repro_arrays = {**arrays, **op_table.array_params(params)}
    return assert_close(
        got,
        expected,
        rtol,
        f"{op.name} forward ({context})",
        lambda: reproduction(
            impl.name,
            op.forward_imports,
            repro_arrays,
            op.forward_call_source(params),
            expected,
            rtol,
        ),
        dtype=enforce,
        params=params,
        input_dtype=_input_dtype(arrays),
    )


def _input_dtype(arrays: Mapping[str, Any]) -> Any:
    """The dtype of the first floating-point input (the test's dtype)."""
    for value in arrays.values():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return value.dtype
    return None


def check_gradients(
    impl, op, result, expected, values, params, rtol, context, enforce=None, checked=()
):
    """What ``op``'s backward returned (``result``) against the ``expected``
    gradients by input name; ``values`` holds the backward's arguments;
    ``checked``: gradients already found right another way, not compared
    again. True when values were compared."""
    __tracebackhide__ = True
    names = op.backward_args or (*op.inputs, "dz")
    arrays = {**{n: values[n] for n in names}, **op_table.array_params(params)}
    call = op.backward_call_source(params)
    got = op.gradients(result)
    if got is None:
        raise ConformanceError(
            "wrong shape",
            f"{op.name} backward ({context})",
            f"{op.backward} must return {len(op.grads)} gradients "
            f"({', '.join('d' + g for g in op.grads)}), got {type(result).__name__}"
            + (f" of {len(result)}" if isinstance(result, tuple) else ""),
            reproduction(impl.name, op.backward_imports, arrays, call, None, rtol),
            params=params,
        )
    compared = False
    for position, name in enumerate(op.grads):
        if skipped_gradient(name, params):
            if impl.is_reference:
                assert got[name] is None, "refcnn returns du=None when calc_du_flag=False"
            continue
        if name in checked:
            compared = True
            continue
        pick = f"[{position}]" if len(op.grads) > 1 else ""
        compared |= assert_close(
            got[name],
            expected[name],
            rtol,
            f"{op.name} backward d{name} ({context})",
            lambda name=name, pick=pick: reproduction(
                impl.name, op.backward_imports, arrays, call, expected[name], rtol, pick
            ),
            dtype=enforce,
            params=params,
            input_dtype=_input_dtype(values),
        )
    return compared
