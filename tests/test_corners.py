"""A corner is one object (``conformance.inputs.corners``): the reference's corner
table is checked against it, a misspelt corner is an error wherever it is
named, and a toy corner added to a scratch table is drawn, tagged and run
by what already exists (the contributor guide's checklist)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refcnn.conformance.inputs import corners as cn
from refcnn.conformance.inputs import op_table as ot
from refcnn.conformance.inputs import strategies as hh

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference.md"


def test_the_documented_corner_table_is_the_corner_objects() -> None:
    rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", REFERENCE.read_text(), flags=re.M)
    table = [(name, doc) for name, doc in rows if name in cn.CORNERS or name == "plain"]
    assert table == [(c.name, c.doc) for c in cn.CORNERS.values()]


def test_a_misspelt_corner_is_an_error_everywhere() -> None:
    with pytest.raises(ValueError, match="no corner 'paddding'; the corners are"):
        cn.get("paddding")

    @given(hh.geometry(hh.Shape(), "paddding"))
    def draw(geometry):
        pass

    with pytest.raises(ValueError, match="no corner 'paddding'"):
        draw()
    with pytest.raises(ot.OpError, match="unknown corner"):
        replace(ot.BY_NAME["convolution2d"], corners=("plain", "paddding"))


def _tall(draw, shape, limits, exclude, kernel):
    """A toy corner: a kernel twice as tall as it is wide."""
    kw = draw(st.integers(1, 2))
    return (2 * kw, kw), None, None


def test_a_toy_corner_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    toy = cn.Corner(
        "tall", "a kernel twice as tall as wide", applies=lambda s: s.window == "kernel",
        parameters=_tall, tagged=False,
    )  # fmt: skip
    monkeypatch.setitem(cn.CORNERS, "tall", toy)
    shape = hh.Shape(filters=True)
    assert "tall" in cn.of(shape) and "tall" not in cn.of(hh.Shape(window="pool"))
    op = replace(ot.BY_NAME["convolution2d"], corners=cn.of(shape))  # validates
    drawn = []

    @settings(max_examples=20, database=None, deadline=None)
    @given(st.data())
    def draw(data):
        drawn.append(data.draw(op.strategy("float64", "tall")))

    draw()
    kernels = {sample.arrays["W"].shape[1:3] for sample in drawn}
    assert kernels <= {(2, 1), (4, 2)} and all(s.corner == "tall" for s in drawn)
