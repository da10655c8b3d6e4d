"""Calling the implementation as the tests do (imported as ``cl``): on
copies of the inputs, each exception it raises made a failure of the kind
that says whose it is, its inputs checked for writes afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from refcnn.i18n import tr

from ..inputs import op_table
from ..verdict import snippets as sn
from . import boundary as bd
from . import hygiene as hy
from .checks import ConformanceError, failing_in


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
        name, text, origin = exception_fields(exc)
        if not isinstance(exc, Exception):
            message = ending_the_run(exc)
            raise ConformanceError(
                "crashed", what, message, repro(), exception=name, params=params
            ) from exc
        raise ConformanceError(
            "raised", what, f"{name}: {text}{origin}", repro(), exception=name, params=params
        ) from exc


def ending_the_run(exc: BaseException) -> str:
    """What a ``SystemExit`` or ``KeyboardInterrupt`` of the implementation's
    own would have done, in the verdict's words."""
    name, text, origin = exception_fields(exc)
    return tr("the implementation raised {exception}, which would end the test run",
              exception=f"{name}({text}){origin}")  # fmt: skip


FROM_IMPLEMENTATION = bd.FROM_IMPLEMENTATION


def from_implementation(exc: BaseException) -> bool:
    """True for an exception that the implementation's code raised (in the
    worker: :class:`conformance.judging.boundary.ImplementationError`), not the
    suite or pytest."""
    return bool(getattr(exc, FROM_IMPLEMENTATION, False))


def exception_fields(exc: BaseException) -> tuple[str, str, str]:
    """(type name, first line, where it was raised) of an exception: the
    implementation's as the worker described it; the suite's own (its glue
    choking on what came back) as it is."""
    if isinstance(exc, (bd.ImplementationError, bd.ImplementationExit)):
        return exc.type_name, exc.text, exc.origin
    return type(exc).__name__, (str(exc).strip().splitlines() or [""])[0][:300], ""


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
        return {n: values[n] for n in names} | sn.array_params(params)

    def __call__(self, values: dict, params: dict) -> Any:
        __tracebackhide__ = True
        impl, op = self.impl, self.op
        arrays, call = self.arguments(values, params), self.source(params)
        # The worker gets its own copies; what it changed comes back.
        handed, handed_params = dict(values), dict(params)
        run = op.call_backward if self.backward else op.call_forward
        boundary = impl.boundary
        boundary.call_text = f"{call} (during {self.where})"
        boundary.changed.clear()
        with failing_in("backward" if self.backward else "forward"):
            try:
                result = call_implementation(
                    lambda: run(impl.require, handed, handed_params),
                    self.where,
                    lambda: sn.raise_snippet(impl.name, self.imports, arrays, call),
                    params,
                )
            finally:
                self.handed = {
                    k: boundary.changed.get(id(v), v)
                    for k, v in {**handed, **handed_params}.items()
                }
            hy.assert_unchanged(
                self.handed,
                {**values, **params},
                self.where,
                lambda: sn.mutation_snippet(impl.name, self.imports, arrays, call),
                params,
            )
        return result

    @property
    def imports(self) -> tuple[str, ...]:
        """The functions the call needs (what a snippet imports)."""
        return self.op.backward_imports if self.backward else self.op.forward_imports
