"""Generic property tests over the op table, corner by corner: forward and
backward against the oracle, gradients against finite differences (no torch
involved), and hygiene (inputs left alone, outputs that own their memory).

Each (op, check, corner, dtype) is its own test, so a failure is shrunk
within its corner and the verdict says which corners pass. Every call gets
copies of the inputs and is checked for writing to them; an exception from
the implementation is a ``raised`` failure, not an error of the suite.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, note, seed, settings
from hypothesis import strategies as st

from refcnn.i18n import tr

from ..expected import tolerances as tol
from ..inputs import op_table as ot
from ..inputs import strategies as hh
from ..inputs.strategies import DTYPES, Sample, make_values
from ..judging import calls as cl
from ..judging import checks as ch
from ..judging import defaults as df
from ..judging import explain as ex
from ..judging import finite_differences as fd
from ..judging import hygiene as hy
from ..verdict import snippets as sn

DTYPE_IDS = {"float64": "f64", "float32": "f32"}
MIXED_SHARE = 2  # "mixed" draws every factor at once: it gets twice the examples
MIN_PER_CORNER = 8
EMPTY_BATCH = 5
# The gradient check compares along random directions, a few forward calls per
# example: it affords twice the examples of the other checks.
GRADIENT_SHARE = 2


def slug(corner: str) -> str:
    return corner.replace(" ", "-")


def _cases(ops, corners_of: Callable[[ot.Op], tuple[str, ...]], dtypes=DTYPES):
    return [
        pytest.param(op, corner, dtype, id=f"{op.name}-{slug(corner)}-{DTYPE_IDS[dtype]}")
        for op in ops
        for corner in corners_of(op)
        for dtype in dtypes
    ]


FORWARD = _cases(ot.OPS, lambda op: op.corners)
BACKWARD = _cases(ot.DIFFERENTIABLE, lambda op: op.corners)
GRADIENT = _cases(ot.DIFFERENTIABLE, lambda op: op.gradient_corners, ("float64",))
HYGIENE = _cases(ot.OPS, lambda op: ("plain",), ("float64",))
DEFAULTS = [pytest.param(op, id=op.name) for op in ot.OPS if op.defaults]
# examples per set of arguments left out: a share of the profile's budget
DEFAULTS_SHARE = 15
MIN_PER_OMISSION = 4


def _policy_dtype(impl, dtype: str) -> str | None:
    """refcnn's dtype policy (float32 in, float32 out) is checked for refcnn,
    and for other implementations under --strict-policies."""
    return dtype if impl.strict else None


def examples(corner: str, corners: tuple[str, ...]) -> int:
    """The profile's ``max_examples`` is the budget of one op, check and
    dtype; its corners share it (``mixed`` counts twice), each getting at
    least ``MIN_PER_CORNER``. The empty batch, where only shapes (and zero
    weight gradients) can be compared, gets ``EMPTY_BATCH`` examples."""
    if corner == "empty batch":
        return EMPTY_BATCH
    shares = {c: MIXED_SHARE if c == "mixed" else 1 for c in corners if c != "empty batch"}
    budget = settings.default.max_examples
    return max(MIN_PER_CORNER, round(budget * shares[corner] / sum(shares.values())))


def run_examples(
    request: pytest.FixtureRequest,
    count: int,
    body: Callable,
    explainer: ex.Explainer | None = None,
    check: str = "",
) -> None:
    """Run ``body(data)`` on ``count`` examples. Under a deterministic
    profile (ci) the seed is the test's id, so that the examples depend
    neither on the folder the suite is installed in, nor on the entry point
    or the selection of tests. A failure is explained (its smallest failing
    example searched) by ``explainer``, from the last sample it saw."""
    test = given(data=st.data())(body)
    test = settings(settings.default, max_examples=count)(test)
    if settings.default.derandomize:
        test = seed(zlib.crc32(request.node.name.encode()))(test)
    with hh.without_local_constants():
        try:
            test()
        except ch.ConformanceError as failure:
            if explainer is not None:
                explainer.explain(failure, check)
            raise


def explainer(request, impl, op: ot.Op, oracle, dtype: str, enforce=None) -> ex.Explainer:
    budget = request.config.getoption("refcnn_explain_budget")
    return ex.Explainer(impl, op, oracle, dtype, enforce, budget)


def _draw(data, op: ot.Op, dtype: str, corner: str, impl, gradcheck: bool = False) -> Sample:
    exclude = impl.unsupported_corners(op.name)
    sample = data.draw(op.strategy(dtype, corner, gradcheck, exclude), label="sample")
    note(repr(sample))
    return sample


def _grad_output(data: st.DataObject, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    seed_ = data.draw(st.integers(0, 2**32 - 1), label="dz seed")
    return make_values(np.random.default_rng(seed_), shape, "normal").astype(dtype)


def _prepare(impl, op: ot.Op, corner: str, functions: tuple[str, ...]) -> None:
    for function in functions:
        impl.require(function)
    impl.require_corner(op.name, corner)


def _where(op: ot.Op, check: str, corner: str, dtype: str, sample: Sample) -> str:
    return f"{op.name} {check} [{corner}, {dtype}] ({sample.params}, {sample.origin})"


@pytest.mark.parametrize(("op", "corner", "dtype"), FORWARD)
@pytest.mark.verdict(check="forward")
def test_forward(op: ot.Op, corner: str, dtype: str, request, impl, oracle, tally) -> None:
    _prepare(impl, op, corner, op.forward_imports)
    explaining = explainer(request, impl, op, oracle, dtype, _policy_dtype(impl, dtype))

    def body(data: st.DataObject) -> None:
        sample = _draw(data, op, dtype, corner, impl)
        explaining.saw(sample)
        params = ot.forward_params(op, sample)
        where = _where(op, "forward", corner, dtype, sample)
        got = cl.Caller(impl, op, where)(sample.arrays, params)
        expected = oracle.forward(op, sample)
        rtol = tol.rtol_for(dtype, op.rtol)
        compared = ch.check_forward(
            impl, op, got, expected, sample.arrays, params, rtol, where, _policy_dtype(impl, dtype)
        )
        tally.count(op.tags(sample), compared)

    run_examples(request, examples(corner, op.corners), body, explaining, "forward")


@pytest.mark.parametrize(("op", "corner", "dtype"), BACKWARD)
@pytest.mark.verdict(check="backward")
def test_backward(op: ot.Op, corner: str, dtype: str, request, impl, oracle, tally) -> None:
    _prepare(impl, op, corner, op.imports)
    explaining = explainer(request, impl, op, oracle, dtype, _policy_dtype(impl, dtype))

    def body(data: st.DataObject) -> None:
        sample = _draw(data, op, dtype, corner, impl)
        z = np.asarray(oracle.forward(op, sample)).astype(dtype)  # the correct z
        dz = _grad_output(data, z.shape, dtype)
        explaining.saw(sample, dz)
        values = {**sample.arrays, "z": z, "dz": dz}
        where = _where(op, "backward", corner, dtype, sample)
        result = cl.Caller(impl, op, where, backward=True)(values, sample.params)
        expected = oracle.backward(op, sample, dz)
        rtol = tol.rtol_for(dtype, op.rtol)
        compared = ch.check_gradients(
            impl, op, result, expected, values, sample.params, rtol, where,
            _policy_dtype(impl, dtype),
        )  # fmt: skip
        tally.count(op.tags(sample), compared)

    run_examples(request, examples(corner, op.corners), body, explaining, "backward")


@pytest.mark.parametrize(("op", "corner", "dtype"), GRADIENT)
@pytest.mark.verdict(check="gradient")
def test_gradient_matches_finite_differences(
    op: ot.Op, corner: str, dtype: str, request, impl, oracle, tally
) -> None:
    """The backward against central differences of sum(forward * dz), in
    float64 on tie-free inputs: a check against the implementation's own
    forward. So that a wrong forward is not blamed on the backward, the
    forward is first checked on the same inputs (against the oracle, and for
    giving the same result twice). Each gradient is compared along random
    directions (a few forward calls); one that differs there is compared
    element by element, which decides (and finds the worst element): the
    directions only spare the element-wise comparison where they agree."""
    _prepare(impl, op, corner, op.imports)
    element_wise = request.config.getoption("refcnn_gradient_check") == "element-wise"
    explaining = explainer(request, impl, op, oracle, dtype)

    def body(data: st.DataObject) -> None:
        sample = _draw(data, op, dtype, corner, impl, gradcheck=True)
        explaining.saw(sample)
        params = ot.forward_params(op, sample)
        where = _where(op, "gradient", corner, dtype, sample)
        forward = cl.Caller(impl, op, where)
        z = np.asarray(forward(sample.arrays, params))
        right = oracle.forward(op, sample)
        _check_forward_first(impl, op, forward, z, right, sample, params, dtype)
        dz = _grad_output(data, z.shape, dtype)
        rng = np.random.default_rng(data.draw(hh.seeds(), label="directions seed"))

        def loss(arrays: dict[str, np.ndarray]) -> float:
            return float(np.sum(np.asarray(forward(arrays, params)) * dz))

        values = {**sample.arrays, "z": z, "dz": dz}
        result = cl.Caller(impl, op, where, backward=True)(values, sample.params)
        got = op.gradients(result) or {}
        inputs = dict(sample.arrays)
        agree = {
            name: not element_wise and fd.directions_agree(loss, inputs, name, got.get(name), rng)
            for name in op.grads
            if not ch.skipped_gradient(name, sample.params)
        }
        expected = {
            name: fd.finite_difference_gradient(loss, inputs, name)
            for name, agrees in agree.items()
            if not agrees
        }
        compared = ch.check_gradients(
            impl, op, result, expected, values, sample.params, tol.FINITE_DIFFERENCE_RTOL, where,
            checked={name for name, agrees in agree.items() if agrees},
        )  # fmt: skip
        tally.count(op.tags(sample), compared)

    count = GRADIENT_SHARE * examples(corner, op.gradient_corners)
    run_examples(request, count, body, explaining, "gradient")


def _check_forward_first(
    impl, op: ot.Op, forward, z, expected, sample: Sample, params, dtype: str
) -> None:
    """The gradient check's forward on its own inputs: right, and the same
    on a second call; else the cell fails as a wrong forward, not a backward.
    Judged at the tolerance of the inputs' ``dtype``, as the forward check
    judges it: a forward that returns a narrower dtype (float32 roundings of
    float64 results) fails here, not in finite differences of those
    roundings, which would blame a right backward."""
    __tracebackhide__ = True
    where = tr("{op} gradient, checking the forward first", op=op.name)
    rtol = tol.rtol_for(dtype, op.rtol)
    try:
        ch.check_forward(impl, op, z, expected, sample.arrays, params, rtol, where)
        again = np.asarray(forward(sample.arrays, params))
        try:
            ch.check_forward(impl, op, again, z, sample.arrays, params, rtol, where)
        except ch.ConformanceError as exc:
            exc.message = tr("a second call gave another result: {problem}", problem=exc.message)
            raise
    except ch.ConformanceError as exc:
        failure = ch.ConformanceError(
            exc.kind,
            exc.where,
            tr("wrong forward on the gradient check's inputs: {problem}", problem=exc.message),
            exc.snippet,
            exc.exception,
            exc.params,
        )
        failure.function = "forward"
        raise failure from None


@pytest.mark.parametrize(("op", "corner", "dtype"), HYGIENE)
@pytest.mark.verdict(check="hygiene")
def test_hygiene(op: ot.Op, corner: str, dtype: str, request, impl, oracle, tally) -> None:
    """Forward and backward leave their inputs alone and return arrays of
    their own: no memory shared with an input, none reused by a second call
    (with other inputs of the same shapes)."""
    _prepare(impl, op, corner, op.forward_imports)

    def body(data: st.DataObject) -> None:
        sample = _draw(data, op, dtype, corner, impl)
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="second seed"))
        other = {
            k: make_values(rng, v.shape, "distinct").astype(v.dtype)
            for k, v in sample.arrays.items()
        }
        params = ot.forward_params(op, sample)
        where = _where(op, "hygiene", corner, dtype, sample)
        _own_outputs(impl, op, where, False, sample.arrays, other, params)
        if op.backward and impl.get(op.backward) is not None:
            z = np.asarray(oracle.forward(op, sample)).astype(dtype)
            z2 = np.asarray(oracle.forward(op, Sample(other, sample.params))).astype(dtype)
            dz = make_values(rng, z.shape, "normal").astype(dtype)
            first = {**sample.arrays, "z": z, "dz": dz}
            second = {**other, "z": z2, "dz": -dz}
            _own_outputs(impl, op, where, True, first, second, sample.params)
        tally.count(op.tags(sample), True)

    run_examples(request, max(MIN_PER_CORNER, settings.default.max_examples // 6), body)


def _own_outputs(impl, op: ot.Op, where: str, backward: bool, first, second, params) -> None:
    """One function of ``op`` (the forward, or the backward) called on
    ``first`` and then on ``second``: its outputs share no memory with what
    it was handed, and the second call leaves the first call's outputs be."""
    __tracebackhide__ = True
    caller = cl.Caller(impl, op, where, backward)
    with impl.boundary.observing():
        result = caller(first, params)
    outputs = op.gradients(result) if backward else {"z": result}
    if outputs is None:
        return  # the wrong number of gradients: the backward test reports it
    outputs = {("d" + k if backward else k): v for k, v in outputs.items()}
    call = caller.source(params)
    arguments = caller.arguments(first, params)
    boundary = impl.boundary

    def facts(output):
        observed = boundary.facts.get(id(output))
        return None if observed is None else observed[2:5]

    with ch.failing_in("backward" if backward else "forward"):
        hy.assert_owns_memory(
            outputs,
            caller.handed,
            where,
            lambda: sn.alias_snippet(impl.name, caller.imports, arguments, call),
            params,
            facts=facts,
            views=impl.strict,
            passthrough=op.passthrough,
        )
        # an output the suite's glue computed (dz * output_error_back(...)) is
        # new on every call: only what the worker handed out can be reused
        kept = {
            k: copy
            for k, v in outputs.items()
            if id(v) in boundary.facts and (copy := hy.snapshot(v)) is not None
        }
        caller(second, params)
        hy.assert_kept(
            {k: boundary.reread(outputs[k]) for k in kept},
            kept,
            where,
            lambda: sn.reuse_snippet(
                impl.name, caller.imports, arguments, caller.arguments(second, params), call
            ),
            params,
        )


@pytest.mark.parametrize("op", DEFAULTS)
@pytest.mark.verdict(check="defaults")
def test_defaults(op: ot.Op, request, impl, oracle, tally) -> None:
    """The forward, then the backward: each defaulted argument left out,
    alone and in every combination, gives what the article's value given
    explicitly gives (see :mod:`conformance.judging.defaults`); float64, the other
    arguments as ``mixed`` draws them."""
    _prepare(impl, op, "plain", op.forward_imports)
    exclude = impl.unsupported_corners(op.name)
    count = max(MIN_PER_OMISSION, settings.default.max_examples // DEFAULTS_SHARE)
    for function in df.FUNCTIONS:
        if function == "backward" and (not op.backward or impl.get(op.backward) is None):
            continue  # a forward alone is judged; its backward's tests say "not provided"
        check = df.Check(impl, op, oracle, function)

        def leaving_out(omitted: tuple[str, ...], check: df.Check = check) -> Callable:
            def body(data: st.DataObject) -> None:
                sample = data.draw(df.samples(op, omitted, "float64", exclude), label="sample")
                note(f"{sample!r}, left out: {omitted}")
                dz = None
                if check.backward:
                    z = np.asarray(oracle.forward(op, sample))
                    dz = _grad_output(data, z.shape, "float64")
                compared = check.run(sample, omitted, dz)
                if compared is not None:  # None: both calls failed alike
                    tally.count(op.tags(sample), compared)

            return body

        for omitted in df.omissions(op, function):
            run_examples(request, count, leaving_out(omitted), check, "defaults")
