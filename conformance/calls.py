"""Calling the implementation as the tests do (imported as ``cl``): on
copies of the inputs, each exception it raises made a failure of the kind
that says whose it is, its inputs checked for writes afterwards.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import hygiene as hy
from . import isolation, op_table
from . import snippets as sn
from .checks import ConformanceError, failing_in

_SUITE_DIR = str(Path(__file__).resolve().parent)


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
        handed, handed_params = hy.copies(values), hy.copies(params)
        self.handed = {**handed, **handed_params}
        run = op.call_backward if self.backward else op.call_forward
        isolation.note_call(f"{call} (during {self.where})")
        with failing_in("backward" if self.backward else "forward"):
            result = call_implementation(
                lambda: run(impl.require, handed, handed_params),
                self.where,
                lambda: sn.raise_snippet(impl.name, self.imports, arrays, call),
                params,
            )
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
