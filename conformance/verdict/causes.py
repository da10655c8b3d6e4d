"""Failures grouped by cause (imported as ``cs``).

One mistake fails many cells: a max-pool backward that assigns where windows
overlap fails the backward and the gradient check in ``overlap`` and
``mixed``; pooling that raises on padding fails every check of every corner
that draws padding. The verdict explains each *cause* once, with the list of
(check, corner) cells it covers. Failures share a cause when they share the
op and the kind and

* for wrong values, shapes and dtypes, mutated inputs and aliased outputs:
  the function that failed (forward, backward) and, for a backward, the
  gradient; a failure of the defaults check is a cause of its own;
* for an exception: its type and the place it was raised (``TypeError``
  at ``layers.py:47``, whatever operands its message names), or where that
  is unknown, its message with the numbers in it made alike (``cannot
  reshape array of size 20`` and ``... size 45`` are one cause); for a crash
  or a time-out, its message so made alike.

Causes come in this order: wrong values and shapes (and dtypes), then
mutated inputs and aliased outputs, then crashes and time-outs, then raises
that no declaration covers, then raises that a declaration would cover
(with the ``--unsupported`` that would); within each, in the op table's
order. Errors of the suite itself are no cause of the implementation's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from refcnn.i18n import tr

from ..inputs.corners import CORNERS
from .record import CHECKS, Record
from .words import check_text, kind_text

_VALUES = ("wrong values", "wrong shape", "wrong dtype")
_HYGIENE = ("mutated input", "aliased output")
_STOPPED = ("crashed", "timed out")
# the corner to declare for a raise that covers these corners, most telling first
_DECLARABLE = ("padding", "strides", "non-square", "tuple params", "many channels",
               "empty batch", "overlap", "ties", "negative under padding", "kinks")  # fmt: skip
_NUMBER = re.compile(r"\d+")
_AT = re.compile(r" \(at [^()]*:\d+ in [^()]*\)")


@dataclass
class Cause:
    """One cause: its ``number`` (from 1, in the order above), ``op``,
    ``kind``, a one-line ``title``, the failures it covers (the first is
    the one explained) and the cells (check, corner) they are in, and for a
    raise a declaration would cover, the ``declare`` option that would."""

    number: int
    op: str
    kind: str
    title: str
    failures: list[dict[str, Any]] = field(default_factory=list)
    cells: list[tuple[str, str | None]] = field(default_factory=list)
    declare: str = ""

    @property
    def failure(self) -> dict[str, Any]:
        """The failure explained: the first with a smallest example, or the first."""
        return next((f for f in self.failures if f.get("minimal")), self.failures[0])

    def where(self) -> str:
        """``backward [overlap, mixed]; gradient [overlap, mixed]``."""
        by_check: dict[str, list[str]] = {}
        for check, corner in self.cells:
            by_check.setdefault(check, [])
            if corner is not None:
                by_check[check].append(corner)
        return "; ".join(
            f"{check_text(check)} [{', '.join(corners)}]" if corners else check_text(check)
            for check, corners in by_check.items()
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "op": self.op,
            "kind": self.kind,
            "title": self.title,
            "cells": [{"check": check, "corner": corner} for check, corner in self.cells],
            "failures": len(self.failures),
            **({"hint": self.failure["hint"]} if self.failure.get("hint") else {}),
            **({"declare": self.declare} if self.declare else {}),
        }


def key(failure: dict[str, Any], check: str) -> tuple:
    """What failures of one cause share (see the module doc), in ``check``."""
    kind = failure["kind"]
    if kind in _VALUES or kind in _HYGIENE:
        return kind, failure.get("function", ""), failure.get("gradient", ""), check == "defaults"
    message = failure.get("message", "")
    at = _AT.search(message)
    if kind == "raised" and at:  # one exception raised at one place: one cause
        return kind, failure.get("exception", ""), at.group(0)
    return kind, failure.get("exception", ""), _NUMBER.sub("#", message)


def _rank(kind: str, corners: set[str | None]) -> int:
    if kind in _VALUES:
        return 0
    if kind in _HYGIENE:
        return 1
    if kind in _STOPPED:
        return 2
    return 4 if _declarable(kind, corners) else 3


def _declarable(kind: str, corners: set[str | None]) -> str:
    """The corner whose declaration would cover a raise in ``corners``
    (none where it raises in plain, or outside the corners)."""
    if kind != "raised" or "plain" in corners or None in corners:
        return ""
    return next((c for c in _DECLARABLE if c in corners), "")


def _title(op: str, check: str, failure: dict[str, Any]) -> str:
    kind = failure["kind"]
    if kind in _VALUES or kind in _HYGIENE:
        function = check_text(failure.get("function") or "call")
        gradient = f" d{failure['gradient']}" if failure.get("gradient") else ""
        defaults = " " + tr("with defaulted arguments left out") if check == "defaults" else ""
        return f"{op} {function}{gradient}{defaults}: {kind_text(kind)}"
    message = failure.get("message", "")
    message = message if len(message) <= 120 else message[:117] + "..."
    if kind == "raised":
        return f"{op}: " + tr("raised {exception}", exception=message)
    return f"{op}: {kind_text(kind)}: {message}"


def _cell_order(check: str, corner: str | None) -> tuple[int, int]:
    checks, corners = list(CHECKS), list(CORNERS)
    return (
        checks.index(check) if check in checks else len(checks),
        corners.index(corner) if corner in corners else -1,
    )


def of(record: Record) -> list[Cause]:
    """The record's causes, derived once and kept on it: every rendering
    (table, explanations, failures file, JSON, page, ``Verdict``) reads the
    same list, numbered the same way whichever ran first."""
    if record.causes is None:
        record.causes = group(record)
    return record.causes


def group(record: Record, ops: Iterable[str] | None = None) -> list[Cause]:
    """The causes of the record's failures, numbered in their order; each
    failure dict gets its cause's ``cause`` number."""
    found: dict[tuple, Cause] = {}
    order = {op: i for i, op in enumerate(ops if ops is not None else record.ops())}
    cells = sorted(record.cells.items(), key=lambda kv: (order.get(kv[0][0], len(order)),
                                                         _cell_order(kv[0][1], None)))  # fmt: skip
    for (op, check), cell in cells:
        for corner, result in sorted(
            cell.corners.items(), key=lambda kv: _cell_order(check, kv[0])
        ):
            for failure in result.failures:
                if failure["kind"] == "suite error":
                    continue
                cause = found.setdefault(
                    (op, *key(failure, check)),
                    Cause(0, op, failure["kind"], _title(op, check, failure)),
                )
                cause.failures.append(failure)
                if (check, corner) not in cause.cells:
                    cause.cells.append((check, corner))
    causes = list(found.values())
    for cause in causes:
        cause.cells.sort(key=lambda cell: _cell_order(*cell))
        corner = _declarable(cause.kind, {c for _, c in cause.cells})
        cause.declare = f'--unsupported "{cause.op}:{corner}"' if corner else ""
    causes.sort(key=lambda c: (_rank(c.kind, {x for _, x in c.cells}), order.get(c.op, len(order))))
    for number, cause in enumerate(causes, 1):
        cause.number = number
        for failure in cause.failures:
            failure["cause"] = number
    return causes
