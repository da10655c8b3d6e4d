"""The article fixtures load, follow the article's input rule, and agree with
refcnn's shape helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest

import refcnn
from refcnn.conformance.expected import article as fx

REQUIRED = {"id", "function", "call", "args", "kwargs", "source", "inputs", "expected"}


@pytest.mark.parametrize("path", sorted(fx.ARTICLE_DIR.glob("conv*.json")), ids=lambda p: p.stem)
def test_fixture_file_is_complete(path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert REQUIRED <= set(data), REQUIRED - set(data)
    assert data["id"] == path.stem
    assert data["source"].startswith("Article 9-1, section")
    assert set(data["args"]) == set(data["inputs"])


def test_six_printed_examples_are_present() -> None:
    assert [e.function for e in fx.article_examples()] == [
        "conv",
        "convp",
        "convps",
        "convpsc",
        "convpscf",
        "convpscfu",
    ]


@pytest.mark.parametrize("example", fx.article_examples(), ids=lambda e: e.id)
def test_inputs_follow_the_index_digit_rule(example) -> None:
    """Transcribed inputs and the article's rule are two independent sources."""
    for name, values in example.inputs.items():
        rule = fx.RULES[example.rules[name]]
        np.testing.assert_array_equal(values, rule(values.shape), err_msg=name)


def test_index_digits() -> None:
    assert fx.index_digits((2, 3)).tolist() == [[11, 12, 13], [21, 22, 23]]
    assert fx.index_digits((1, 1, 2))[0, 0].tolist() == [111, 112]


def test_slices_are_reassembled_on_their_axes() -> None:
    by_id = {e.id: e for e in fx.article_examples()}
    z = by_id["convpscfu_u2553_f2333"].expected
    assert z.shape == (2, 3, 3, 2)
    assert z[0, 0, 0, 0] == 40500486 and z[0, 0, 0, 1] == 73494486
    assert z[1, 0, 0, 0] == 73494486 and z[1, 2, 2, 1] == 146687166
    zf = by_id["convpscf_u553_f2333"].expected
    assert zf.shape == (3, 3, 2) and zf[0, 1, 1] == 14100426


def test_loop_sizes_must_match_the_slices() -> None:
    with pytest.raises(ValueError, match="loop_sizes"):
        fx.assemble({"slices": [[[1]]] * 3, "slice_axes": [0, 3], "loop_sizes": [2, 2]})


def test_layer_table_matches_the_shape_helpers() -> None:
    table = fx.layer_table()
    shape = tuple(table["input_shape"])
    helpers = {
        "convolution2d": lambda s, spec: refcnn.convolution2d_output_shape(
            s, spec["d"], spec["kwargs"]["filter_size"]
        ),
        "relu": lambda s, spec: s,
        "max_pooling2d": lambda s, spec: refcnn.pooling2d_output_shape(s),
        "flatten2d": lambda s, spec: refcnn.flatten2d_output_shape(s),
    }
    for spec in table["layers"][:4]:
        shape = helpers[spec["function"]](shape, spec)
        expected = spec["output"]
        assert shape == (tuple(expected) if isinstance(expected, list) else expected)
    assert shape == 726


def test_article_training_log_is_well_formed() -> None:
    log = json.loads((fx.ARTICLE_DIR / "mnist_training_log.json").read_text(encoding="utf-8"))
    rows = log["rows"]
    assert [row[0] for row in rows] == list(range(31))
    assert all(0 <= row[1] <= 1 and 0 <= row[3] <= 1 and row[2] > 0 and row[4] > 0 for row in rows)
    assert rows[-1][3] == 0.9901 and max(row[3] for row in rows) == 0.9904  # as printed
    assert log["elapsed"]["minutes"] * 60 + log["elapsed"]["seconds"] == 2299
