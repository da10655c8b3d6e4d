"""A verdict's causes are derived once, as part of the finished verdict, and
every rendering reads them: the table's summary, the explanations, the
failures file, the JSON, the page and ``Verdict`` (issue: derived once)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from refcnn.conformance.running import api
from refcnn.conformance.verdict import causes as cs
from refcnn.conformance.verdict import page as pg
from refcnn.conformance.verdict import render as rd
from refcnn.conformance.verdict import verdict_json as vj
from refcnn.conformance.verdict.record import Record


def _report(op: str, check: str, corner: str, dtype: str, kind: str) -> SimpleNamespace:
    failure = {"kind": kind, "message": f"{kind} in {op} {corner}", "function": op}
    return SimpleNamespace(
        nodeid=f"conformance/tests/test_ops.py::test_{check}[{op}-{corner}-{dtype}]",
        user_properties=[("verdict", (op, check, corner, dtype)), ("failure", failure)],
        outcome="failed", when="call", longreprtext="trace", longrepr=None,
    )  # fmt: skip


def _record() -> Record:
    record = Record()
    record.implementation = "planted"
    record.record(_report("max_pooling2d", "forward", "padding", "float64", "wrong values"))
    record.record(_report("max_pooling2d", "backward", "padding", "float64", "wrong values"))
    record.record(_report("flatten2d", "forward", "plain", "float32", "wrong shape"))
    return record


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    group = cs.group

    def counted(record, *args, **kwargs):
        calls.append(1)
        return group(record, *args, **kwargs)

    monkeypatch.setattr(cs, "group", counted)
    return calls


def test_every_rendering_reads_the_causes_derived_once(derivations: list[int]) -> None:
    record = _record()
    verdict = api.Verdict(record, exit_code=1)
    rd.causes_summary(record)
    rd.explanations(record)
    rd.failures_text(record)
    assert [c.number for c in verdict.causes] == [1, 2]
    flatten = next(c for c in verdict.causes if c.op == "flatten2d")
    assert verdict.cells[("flatten2d", "forward", "plain")].failure["cause"] == flatten.number
    written = vj.as_json(record)
    pg.html_text(record)
    assert len(derivations) == 1
    numbers = [cause["number"] for cause in written["causes"]]
    assert numbers == [1, 2] and len(cs.of(record)) == 2


def test_the_numbering_does_not_depend_on_which_rendering_ran_first() -> None:
    first, second = _record(), _record()
    pg.html_text(first)
    vj.as_json(first)
    vj.as_json(second)
    pg.html_text(second)
    assert vj.as_json(first) == vj.as_json(second)


def test_a_report_recorded_later_is_in_the_causes(derivations: list[int]) -> None:
    record = _record()
    assert len(cs.of(record)) == 2
    record.record(_report("convolution2d", "forward", "strides", "float64", "crashed"))
    assert len(cs.of(record)) == 3 and len(derivations) == 2
