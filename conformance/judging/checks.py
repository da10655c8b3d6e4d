"""What a failure is, and the value comparisons against the oracle
(imported as ``ch``). Calling the implementation is in
:mod:`conformance.judging.calls`, hygiene in :mod:`conformance.judging.hygiene`, finite
differences in :mod:`conformance.judging.finite_differences`, the snippets in
:mod:`conformance.verdict.snippets` and the tolerances in
:mod:`conformance.expected.tolerances`.

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
:mod:`conformance.judging.boundary`). ``suite error`` is an error of the suite's
own code, never the implementation's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from refcnn.i18n import tr

from ..verdict import snippets as sn

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
        # which of the op's functions failed ("forward", "backward"; "" for
        # neither) and, for a backward's value, the gradient (input name):
        # set where the failure is found, for conformance.judging.explain
        self.function = self.gradient = ""
        # set by conformance.judging.explain in a failing cell: the smallest failing
        # example (JSON), the hint that fits it, or why there is none
        self.minimal: dict[str, Any] | None = None
        self.hint = self.hint_rule = self.explanation_error = ""
        # which variant of its kind, where code decides by it (one of DETAILS;
        # the message, for people, may be in any language)
        self.detail = ""  # "" or one of verdict.record.DETAILS
        text = f"{where}: {kind}: {message}"
        if snippet:
            text += f"\n\n{sn.REPRO_START}\n{snippet}\n{sn.REPRO_END}\n"
        super().__init__(text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "exception": self.exception,
            "message": self.message,
            "where": self.where,
            "params": {k: _json(v) for k, v in self.params.items()},
            "snippet": self.snippet,
            "function": self.function,
            "gradient": self.gradient,
            **({"minimal": self.minimal} if self.minimal else {}),
            **({"hint": self.hint, "hint_rule": self.hint_rule} if self.hint else {}),
            **({"explanation_error": self.explanation_error} if self.explanation_error else {}),
            **({"detail": self.detail} if self.detail else {}),
        }


def _json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    if isinstance(value, tuple):
        return list(value)
    return value


def _exactly_equal(got: np.ndarray, expected: np.ndarray) -> bool:
    """Non-numeric values (complex, bool, strings) that equal the expected
    ones exactly, e.g. a step function's booleans."""
    try:
        with np.errstate(all="ignore"):
            return bool(np.array_equal(got, expected))
    except Exception:
        return False


def _first_difference(got: np.ndarray, expected: np.ndarray) -> str:
    """Where non-numeric values first differ from the expected ones (the
    first element, where they cannot be compared element by element)."""
    try:
        with np.errstate(all="ignore"):
            differs = np.asarray(got != expected, dtype=bool)
        if differs.shape == got.shape and differs.any():
            index = tuple(int(i) for i in np.argwhere(differs)[0])
            return tr(
                "first at index {index}: expected {expected}, got {got}",
                index=index, expected=repr(expected[index].item()),
                got=f"{got[index].item()!r:.60}",
            )  # fmt: skip
    except Exception:
        pass
    return tr("first element {got}", got=f"{got.flat[0]!r:.60}")


def _dtype_note(got: np.ndarray, input_dtype: Any) -> str:
    """Names the output dtype when it differs from the input's."""
    if input_dtype is None or got.dtype == np.dtype(input_dtype):
        return ""
    note = tr("(output dtype {output}, input dtype {input})", output=got.dtype,
              input=np.dtype(input_dtype))  # fmt: skip
    return f" {note}"


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
        problem = tr("returned None (a missing return?)")
    elif not isinstance(got, np.ndarray):
        try:
            got = np.asarray(got)
        except Exception as exc:
            problem = tr("returned {type}, not an array ({error})", type=type(got).__name__,
                         error=exc)  # fmt: skip
    if problem is None and got.dtype == object:
        problem = tr("returned an object array: {value}", value=f"{got!r:.200}")
    if problem is None and got.shape != expected.shape:
        problem = tr("shape {got}, expected {expected}", got=got.shape, expected=expected.shape)
        problem += _dtype_note(got, input_dtype)
    if problem is None and dtype is not None and got.dtype != np.dtype(dtype):
        kind = "wrong dtype"
        problem = tr("dtype {got}, expected {expected}", got=got.dtype, expected=np.dtype(dtype))
    if problem is None and got.dtype.kind not in NUMERIC_KINDS:
        if not _exactly_equal(got, expected):
            kind = "wrong dtype"
            problem = (
                tr(
                    "returned {got} values where {expected} ones are expected, "
                    "and they differ ({difference})",
                    got=got.dtype, expected=expected.dtype,
                    difference=_first_difference(got, expected),
                )
                if got.size
                else tr("returned dtype {got}, expected {expected}", got=got.dtype,
                        expected=expected.dtype)
            )  # fmt: skip
    elif problem is None and expected.size:
        scale = max(1.0, float(np.nanmax(np.abs(expected))))
        index, diff = worst_element(got, expected)
        if not diff <= rtol * scale:
            kind = "wrong values"
            problem = tr(
                "worst element at index {index}: expected {expected}, got {got}, "
                "|diff| = {diff} > tolerance {tolerance} (rtol {rtol} x scale {scale})",
                index=index, expected=repr(float(expected[index])), got=repr(float(got[index])),
                diff=f"{diff:.3g}", tolerance=f"{rtol * scale:.3g}", rtol=f"{rtol:g}",
                scale=f"{scale:.3g}",
            ) + _dtype_note(got, input_dtype)  # fmt: skip
    if problem is not None:
        raise ConformanceError(kind, what, problem, repro(), params=params)
    return bool(expected.size)


def skipped_gradient(name: str, params: Mapping[str, Any]) -> bool:
    """``du`` under ``calc_du_flag=False``: the article skips it."""
    return name == "u" and params.get("calc_du_flag") is False


def check_forward(impl, op, got, expected, arrays, params, rtol, context, enforce=None) -> bool:
    """``op``'s forward output against ``expected``; ``context`` goes in the
    message, ``enforce`` is the output dtype required (refcnn's policy) or
    None. True when values were compared."""
    __tracebackhide__ = True
    repro_arrays = {**arrays, **sn.array_params(params)}
    with failing_in("forward"):
        return assert_close(
            got,
            expected,
            rtol,
            f"{op.name} forward ({context})",
            lambda: sn.reproduction(
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


@contextlib.contextmanager
def failing_in(function: str, gradient: str = "") -> Iterator[None]:
    """Mark a failure raised inside as one of ``function`` (and of its
    ``gradient``), unless a deeper place marked it already."""
    try:
        yield
    except ConformanceError as failure:
        if not failure.function:
            failure.function, failure.gradient = function, gradient
        raise


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
    arrays = {**{n: values[n] for n in names}, **sn.array_params(params)}
    call = op.backward_call_source(params)
    got = op.gradients(result)
    if got is None:
        returned = (tr("{type} of {n}", type="tuple", n=len(result)) if isinstance(result, tuple)
                    else type(result).__name__)  # fmt: skip
        failure = ConformanceError(
            "wrong shape",
            f"{op.name} backward ({context})",
            tr(
                "{function} must return {n} gradients ({names}), got {got}",
                function=op.backward,
                n=len(op.grads),
                names=", ".join("d" + g for g in op.grads),
                got=returned,
            ),
            sn.reproduction(impl.name, op.backward_imports, arrays, call, None, rtol),
            params=params,
        )
        failure.function = "backward"
        raise failure
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
        with failing_in("backward", name):
            compared |= assert_close(
                got[name],
                expected[name],
                rtol,
                f"{op.name} backward d{name} ({context})",
                lambda name=name, pick=pick: sn.reproduction(
                    impl.name, op.backward_imports, arrays, call, expected[name], rtol, pick
                ),
                dtype=enforce,
                params=params,
                input_dtype=_input_dtype(values),
            )
    return compared
