"""An op table entry validates itself when it is made: each mistake a
contributor can make is refused at import, with a message that names the
entry and the mistake."""

from __future__ import annotations

from dataclasses import replace

import pytest

from refcnn.conformance.inputs import op_table as ot

POOL = ot.BY_NAME["max_pooling2d"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"corners": ("plain", "padingg")}, "unknown corner(s) ['padingg']"),
        ({"reference": "max_pool"}, "reference 'max_pool' is not a function of"),
        ({"backward_args": ("dz", "x", "z")}, "backward argument(s) ['x'] are none of the inputs"),
        ({"grads": ("W",)}, "gradient(s) ['W'] of no input"),
        ({"grads": ()}, "a backward and its gradients (grads=...) go together"),
        ({"rtol": {"float16": 1e-2}}, "tolerance for unknown dtype(s) ['float16']"),
        ({"forward_source": "f(u)"}, "a composed forward needs its snippet source"),
        ({"backward_defaults": {"flag": True}}, "backward default(s) ['flag'] of no backward-only"),
    ],
)
def test_a_wrong_entry_is_refused_with_its_name(change: dict, message: str) -> None:
    with pytest.raises(ot.OpError) as info:
        replace(POOL, **change)
    assert str(info.value).startswith("op table entry 'max_pooling2d': ")
    assert message in str(info.value)


def test_entries_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ot.Op("x", "x", ("u",), POOL.samples, "max_pooling2d")  # type: ignore[misc]


def test_every_entry_of_the_table_is_valid() -> None:
    for op in ot.OPS:
        assert replace(op) == op  # __post_init__ runs again, and accepts it


def test_the_layers_defaults_are_refcnns() -> None:
    """The op table's layer defaults (which the adapters fill in) are the
    article's, as refcnn's signatures give them."""
    import inspect

    import refcnn

    assert set(ot.LAYERS) == {"convolution2d", "max_pooling2d", "average_pooling2d", "flatten2d"}
    for name, defaults in ot.LAYERS.items():
        parameters = inspect.signature(getattr(refcnn, name)).parameters.values()
        assert {p.name: p.default for p in parameters if p.default is not p.empty} == defaults


def test_the_torch_references_defaults_are_refcnns() -> None:
    """Each default of a torch reference is the article's (refcnn's
    signature, the same parameter): a reference called without it computes
    the article's op. The convolution transcriptions' pairs (0, 0) stand for
    refcnn's 0."""
    import inspect

    import refcnn
    from refcnn.conformance.expected import torch_reference as tr

    compared = 0
    for op in ot.OPS:
        reference, function = getattr(tr, op.name, None), getattr(refcnn, op.forward, None)
        if reference is None or function is None:
            continue
        own = inspect.signature(function).parameters
        for name, parameter in inspect.signature(reference).parameters.items():
            if parameter.default is inspect.Parameter.empty or name not in own:
                continue
            article = own[name].default
            if isinstance(parameter.default, tuple) and isinstance(article, int):
                article = (article, article)
            assert parameter.default == article, (op.name, name, parameter.default, article)
            compared += 1
    assert compared >= 20, compared
