"""The defaults check (conformance/judging/defaults.py) kills every default-value
mutant of every op: refcnn with one function's default changed fails it,
with the hint that names the value the default acts as; refcnn itself
passes it. The op table's defaults are refcnn's (its signatures), so these
mutants are refcnn's own.

Run in this process (no subprocess per mutant): hypothesis draws a few
samples per set of arguments left out, as the suite's test does."""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import refcnn
from refcnn import i18n
from refcnn.conformance.expected import oracle as orc
from refcnn.conformance.inputs import op_table as ot
from refcnn.conformance.judging import boundary as bd
from refcnn.conformance.judging import checks as ch
from refcnn.conformance.judging import defaults as df
from refcnn.conformance.running import implementation as im
from refcnn.conformance.verdict.record import ONLY_LEFT_OUT

ORACLE = orc.RefcnnOracle()  # no torch needed: the check compares an implementation with itself


def with_default(function, name: str, value: Any):
    """``function`` whose default for ``name`` is ``value`` (a mutant)."""
    signature = inspect.signature(function)
    changed = signature.replace(
        parameters=[
            p.replace(default=value) if p.name == name else p for p in signature.parameters.values()
        ]
    )

    @functools.wraps(function)
    def mutant(*args, **kwargs):
        bound = changed.bind(*args, **kwargs)
        bound.apply_defaults()
        return function(*bound.args, **bound.kwargs)

    mutant.__signature__ = changed
    return mutant


def implementation(replacements: dict[str, Any]) -> im.Implementation:
    module = types.ModuleType("mutant")
    module.__dict__.update({n: getattr(refcnn, n) for n in refcnn.__all__})
    module.__dict__.update(replacements)
    boundary = bd.InProcess(module, im.article_names())  # trusted code: refcnn's mutants
    boundary.start()
    return im.Implementation("mutant", boundary, strict=False)


def run_check(impl: im.Implementation, op: ot.Op, function: str, examples: int = 6) -> None:
    """The suite's defaults check of one function: every set of arguments
    left out, a few samples each; raises the first ConformanceError."""
    check = df.Check(impl, op, ORACLE, function)

    def leaving_out(omitted: tuple[str, ...]):
        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            phases=[Phase.generate],  # no shrinking: the first failure is enough here
        )
        @given(data=st.data())
        def body(data) -> None:
            sample = data.draw(df.samples(op, omitted, "float64", frozenset()))
            dz = None
            if check.backward:
                shape = np.shape(ORACLE.forward(op, sample))
                dz = np.random.default_rng(data.draw(st.integers(0, 9))).standard_normal(shape)
            check.run(sample, omitted, dz)

        return body

    for omitted in df.omissions(op, function):
        try:
            leaving_out(omitted)()
        except ch.ConformanceError as failure:
            check.explain(failure)
            raise


def _mutants():
    """(op, function name, argument, mutated default): two per declared
    default; an int's two nearest other values (0 included: strides and
    unit 1 act as 0), chosen here, not by the check's own candidates."""
    for op in ot.OPS:
        for function in df.FUNCTIONS:
            name = op.forward if function == "forward" else op.backward
            for argument, default in df.declared(op, function).items():
                if default is None:
                    values = [1, 3]
                elif type(default) is int:
                    values = [v for v in (default - 1, default + 1, default + 2) if v >= 0][:2]
                else:
                    values = list(df.candidates(default))[:2]
                for value in values:
                    yield pytest.param(
                        op, function, name, argument, value,
                        id=f"{op.name}-{name}-{argument}={value!r}",
                    )  # fmt: skip


@pytest.mark.parametrize(("op", "function", "name", "argument", "value"), list(_mutants()))
def test_a_changed_default_fails_with_its_hint(op, function, name, argument, value) -> None:
    impl = implementation({name: with_default(getattr(refcnn, name), argument, value)})
    with pytest.raises(ch.ConformanceError) as info:
        run_check(impl, op, function)
    failure = info.value
    assert failure.hint_rule == df.RULE, failure.message
    assert f" with {argument} left out (" in failure.where, failure.where
    article = df.article_text(op, argument, {})
    if op.defaults.get(argument, 0) is None:  # pooling strides: the pool size in force
        article = "pool_size ("
    assert failure.hint.startswith(
        f"your default {argument} acts as {argument}={value!r}; the article's default is "
        f"{argument}={article}"
    ), failure.hint


@pytest.mark.parametrize("op", [op for op in ot.OPS if op.defaults], ids=str)
def test_refcnn_passes_the_defaults_check(op: ot.Op) -> None:
    impl = implementation({})
    for function in df.FUNCTIONS:
        if df.declared(op, function):
            run_check(impl, op, function)


def test_every_declared_default_is_refcnns() -> None:
    """One place declares the defaults (the op table); refcnn's signatures
    agree with it, forward and backward."""
    checked = set()
    for op in ot.OPS:
        for function in df.FUNCTIONS:
            name = op.forward if function == "forward" else op.backward
            declared = df.declared(op, function)
            if not declared:
                continue
            parameters = inspect.signature(getattr(refcnn, name)).parameters
            for argument, default in declared.items():
                assert parameters[argument].default == default, (name, argument)
                checked.add(op.name)
    assert checked == {op.name for op in ot.OPS if op.defaults}


def test_a_default_that_raises_is_told_in_any_language() -> None:
    """A default that makes the call raise (the article's values do not) is
    known by the failure's detail, not its words: in Japanese too the hint
    says so."""
    op = next(op for op in ot.OPS if op.name == "max_pooling2d")
    for lang in ("en", "ja"):
        impl = implementation(
            {"max_pooling2d": with_default(refcnn.max_pooling2d, "pool_size", -1)}
        )
        with i18n.speaking(lang), pytest.raises(ch.ConformanceError) as info:
            run_check(impl, op, "forward")
        failure = info.value
        assert failure.kind == "raised" and failure.detail == ONLY_LEFT_OUT, failure.message
        assert failure.hint_rule == df.RULE, failure.message
        with i18n.speaking(lang):
            raises = i18n.tr_n(
                "with {left_out} left out it raises; the article's default: {given}",
                "with {left_out} left out it raises; the article's defaults: {given}",
                1,
                left_out="pool_size",
                given="pool_size=2",
            )
        assert failure.hint == raises, failure.hint
