"""Scores from verdict cells (``--rubric rubric.toml``).

A score is derived from the verdict's cells only. Each (op, check) of an op
the submission provides (or that the rubric requires) is worth
``weight(op) x weight(check)`` points; a check with corners shares its
points among its corners by ``weight(corner)``, and a corner earns its share
when its status is ``pass`` (``FAIL``, ``not run``, ``unsupported`` earn
nothing). Cells that judge nothing (``not provided`` in a provided op,
``not checked``, ``skipped``) are worth nothing either way. The score is the
points earned over the points possible, in [0, 1]; 0 when nothing could be
judged. Every weight is 1 unless the rubric says otherwise::

    [weights.ops]        # op name -> weight
    convolution2d = 2
    [weights.checks]     # check -> weight
    golden = 0.5
    [weights.corners]    # corner -> weight
    mixed = 2
    [required]           # ops worth their points even when not provided
    ops = ["convolution2d", "max_pooling2d"]
    [visibility]         # for the autograder's tests: "op", "check", "op:check" or "corner"
    hidden = ["golden"]
    after_due_date = ["mixed"]

For the autograder format, each (op, check) is one test; a corner named in
``visibility`` is a test of its own (``op check [corner]``) with that
visibility, so that it can be hidden or given only after the due date.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refcnn.i18n import tr

from ..inputs.corners import CORNERS
from ..inputs.op_table import BY_NAME
from ..verdict.record import CHECKS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EARNS = ("pass", "pass+xfail")
COUNTED = ("pass", "pass+xfail", "FAIL", "not run", "unsupported", "xfail")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


class RubricError(ValueError):
    """A rubric that names what does not exist, or is not a rubric."""


@dataclass(frozen=True)
class Rubric:
    ops: dict[str, float] = field(default_factory=dict)
    checks: dict[str, float] = field(default_factory=dict)
    corners: dict[str, float] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    visibility: dict[str, str] = field(default_factory=dict)  # name -> visibility

    def weight(self, op: str, check: str) -> float:
        return self.ops.get(op, 1.0) * self.checks.get(check, 1.0)

    def shown(self, op: str, check: str, corner: str | None = None) -> str:
        for name in (f"{op}:{check}", check, op, corner):
            if name is not None and name in self.visibility:
                return self.visibility[name]
        return "visible"


def load(path: Path | None) -> Rubric:
    """The rubric of a TOML file (None: every weight 1, everything visible)."""
    if path is None:
        return Rubric()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RubricError(tr("--rubric {path}: {error}", path=path, error=exc)) from None
    weights = data.get("weights", {})
    rubric = Rubric(
        ops=_weights(weights.get("ops", {}), BY_NAME, "op", path),
        checks=_weights(weights.get("checks", {}), CHECKS, "check", path),
        corners=_weights(weights.get("corners", {}), CORNERS, "corner", path),
        required=tuple(data.get("required", {}).get("ops", ())),
        visibility={
            name: kind for kind in VISIBILITIES for name in data.get("visibility", {}).get(kind, ())
        },
    )
    unknown = [op for op in rubric.required if op not in BY_NAME]
    names = {*BY_NAME, *CHECKS, *CORNERS}
    unknown += [
        n for n in rubric.visibility if n not in names and n.partition(":")[::2][0] not in BY_NAME
    ]
    if unknown:
        raise RubricError(
            tr("--rubric {path}: unknown {names}", path=path, names=", ".join(map(repr, unknown)))
        )
    return rubric


def _weights(table: dict[str, Any], known, what: str, path: Path) -> dict[str, float]:
    wrong = [name for name in table if name not in known]
    if wrong:
        raise RubricError(
            tr("--rubric {path}: no {what} {names}", path=path, what=what,
               names=", ".join(map(repr, wrong)))
        )  # fmt: skip
    bad = [
        name for name, value in table.items() if not isinstance(value, (int, float)) or value < 0
    ]
    if bad:
        raise RubricError(
            tr("--rubric {path}: weights are numbers >= 0 ({names})", path=path,
               names=", ".join(bad))
        )  # fmt: skip
    return {name: float(value) for name, value in table.items()}


@dataclass
class Item:
    """One test of the autograder: an (op, check), or a corner of it that
    the rubric shows apart."""

    name: str
    op: str
    check: str
    corners: list[tuple[str | None, str]]  # (corner, status)
    score: float
    max_score: float
    visibility: str


def _provided(ops: dict[str, Any], op: str) -> bool:
    return any(cell["status"] != "not provided" for cell in ops.get(op, {}).values())


def items(verdict: dict[str, Any], rubric: Rubric) -> list[Item]:
    """The scored items of a JSON verdict (see the module doc)."""
    found: list[Item] = []
    ops = verdict.get("ops", {})
    names = [op for op in ops if _provided(ops, op)]
    names += [op for op in rubric.required if op not in names]
    for op in names:
        for check, cell in sorted(
            ops.get(op, {}).items(), key=lambda kv: CHECKS.index(kv[0]) if kv[0] in CHECKS else 99
        ):
            points = rubric.weight(op, check)
            corners = cell.get("corners") or {None: cell}
            counted = {c: r["status"] for c, r in corners.items() if r["status"] in COUNTED}
            if op not in ops or not _provided(ops, op):
                counted = {c: "not provided" for c in corners}
            if not counted or points == 0:
                continue
            shares = {c: rubric.corners.get(c, 1.0) if c else 1.0 for c in counted}
            total = sum(shares.values()) or 1.0
            shown = rubric.shown(op, check)
            apart = [c for c in counted if c and rubric.shown(op, check, c) != shown]
            groups = [(f"{op} {check}", [c for c in counted if c not in apart], shown)]
            groups += [(f"{op} {check} [{c}]", [c], rubric.shown(op, check, c)) for c in apart]
            for name, members, visibility in groups:
                if not members:
                    continue
                possible = points * sum(shares[c] for c in members) / total
                earned = points * sum(shares[c] for c in members if counted[c] in EARNS) / total
                found.append(
                    Item(
                        name,
                        op,
                        check,
                        [(c, counted[c]) for c in members],
                        round(earned, 6),
                        round(possible, 6),
                        visibility,
                    )
                )
    return found


def score(verdict: dict[str, Any] | None, rubric: Rubric) -> float:
    """Points earned over points possible, in [0, 1] (0 for no verdict)."""
    if verdict is None:
        return 0.0
    scored = items(verdict, rubric)
    possible = sum(i.max_score for i in scored)
    return round(sum(i.score for i in scored) / possible, 4) if possible else 0.0
