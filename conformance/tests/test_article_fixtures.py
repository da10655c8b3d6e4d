"""The article's printed arrays, reproduced by the step functions and by
``convolution2d``; the article's layer-shape table, reproduced by the layers."""

from __future__ import annotations

import numpy as np
import pytest

from refcnn import layouts
from refcnn.i18n import tr

from ..expected import article as fx
from ..expected import tolerances as tol
from ..inputs import op_table as ot
from ..inputs.strategies import Sample
from ..judging import checks as ch
from ..verdict import snippets as sn

EXAMPLES = fx.article_examples()
EXACT = tol.ARTICLE_EXACT


def _check(
    got, example: fx.ArticleExample, call: str, module: str, function: str, arrays: dict
) -> None:
    ch.assert_close(
        got,
        example.expected,
        EXACT,
        f"{call} vs the article ({example.source})",
        lambda: sn.reproduction(module, function, arrays, call, example.expected, EXACT),
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
@pytest.mark.verdict(check="fixtures")
def test_step_function_prints_the_articles_array(example: fx.ArticleExample, impl) -> None:
    function = impl.require(example.function)
    _require_corners(impl, example.function, example.kwargs.get("p"), example.kwargs.get("s"))
    arrays = {name: example.inputs[name] for name in example.args}
    got = function(*arrays.values(), **example.kwargs)
    call = ot.call_source(example.function, list(example.args), example.kwargs)
    _check(got, example, call, impl.name, example.function, arrays)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
@pytest.mark.verdict(check="fixtures", op="convolution2d")
def test_convolution2d_prints_the_articles_array(example: fx.ArticleExample, impl) -> None:
    """The same numbers through the layer: lift to NHWC and (fn, fh, fw, fc),
    bias zero, then drop the lifted axes."""
    convolution2d = impl.require("convolution2d")
    _require_corners(impl, "convolution2d", example.kwargs.get("p"), example.kwargs.get("s"))
    u, f = (example.inputs[name] for name in example.args)
    u4, f4 = layouts.lift(u, u.ndim), layouts.lift(f, f.ndim)
    b = np.zeros(f4.shape[0], dtype=np.int64)
    # The article's layer takes ints; its step functions' (k, k) tuples become k,
    # so that an implementation without tuple parameters is judged here too.
    padding, strides = (_int(example.kwargs.get(k, default)) for k, default in (("p", 0), ("s", 1)))
    z = np.asarray(convolution2d(u4, f4, b, padding=padding, strides=strides))
    call = f"convolution2d(u, W, b, padding={padding!r}, strides={strides!r})"
    if z.ndim != 4:  # before dropping the lifted axes, which would fail in the suite
        raise ch.ConformanceError(
            "wrong shape",
            f"{call} vs the article ({example.source})",
            tr(
                "returned {n} dimensions, shape {shape}; expected (n, zh, zw, fn)",
                n=z.ndim,
                shape=z.shape,
            ),
        )
    if u.ndim < 4:
        z = z[0]
    if f.ndim < 4:
        z = z[..., 0]
    _check(z, example, call, impl.name, "convolution2d", {"u": u4, "W": f4, "b": b})


def _require_corners(impl, op: str, p, s) -> None:
    """An example with padding or strides is skipped where the implementation
    declared that corner unsupported."""
    if p is not None and any(p):
        impl.require_corner(op, "padding")
    if s is not None and max(s) > 1:
        impl.require_corner(op, "strides")


def _int(value):
    return value[0] if isinstance(value, tuple) and value[0] == value[1] else value


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_oracle_agrees_with_the_transcription(example: fx.ArticleExample, oracle) -> None:
    """Guards the fixtures themselves: a typo in a transcribed number would
    show here, whatever the implementation under test."""
    op = ot.BY_NAME[example.function]
    arrays = {name: example.inputs[name].astype(np.float64) for name in example.args}
    sample = Sample(dict(zip(op.inputs, arrays.values(), strict=True)), dict(example.kwargs))
    expected = oracle.forward(op, sample)
    ch.assert_close(
        expected,
        example.expected,
        EXACT,
        f"{oracle.name} on {example.call}",
        lambda: "(a transcription check: compare the JSON file with the article)",
    )


LAYER_CALLS = {
    "convolution2d": lambda impl, u, spec: impl.require("convolution2d")(
        u,
        np.zeros((spec["d"], *(2 * (spec["kwargs"]["filter_size"],)), u.shape[3])),
        np.zeros(spec["d"]),
    ),
    "max_pooling2d": lambda impl, u, spec: impl.require("max_pooling2d")(u, **spec["kwargs"]),
    "flatten2d": lambda impl, u, spec: impl.require("flatten2d")(u),
}


@pytest.mark.verdict(op="article layer table", check="fixtures")
def test_layers_reproduce_the_articles_shape_table(impl) -> None:
    """28x28x1 -> conv 6@7x7 -> 22x22x6 -> pool -> 11x11x6 -> flatten -> 726,
    run through the implementation's layers on a batch of 2."""
    table = fx.layer_table()
    u = np.zeros((2, *table["input_shape"]))
    checked = 0
    for spec in table["layers"]:
        if spec["function"] == "relu":
            continue  # shape-preserving; the trainer's layers are checked elsewhere
        if spec["function"] not in LAYER_CALLS:
            break  # the dense part of the table belongs to the trainer
        assert tuple(u.shape[1:]) == tuple(np.atleast_1d(spec["input"]))
        u = np.asarray(LAYER_CALLS[spec["function"]](impl, u, spec))
        assert tuple(u.shape[1:]) == tuple(np.atleast_1d(spec["output"])), tr(
            "{layer} ({function}): output {shape}, the article prints {printed}",
            layer=spec["name"], function=spec["function"], shape=u.shape[1:],
            printed=spec["output"],
        )  # fmt: skip
        checked += 1
    assert checked == 3
