"""Defaults are part of the contract (imported as ``df``).

The article's model code calls its layers with arguments left out
(``add_layer(model, "pooling1", max_pooling2d)`` pools with ``pool_size=2``
and strides of the window), so an implementation whose default differs from
the article's trains another network while passing every check that gives
its arguments. The defaults check calls each function of an op with each of
its defaulted arguments (``Op.defaults``, ``Op.backward_defaults``) left
out, alone and in every combination, and compares the result with the same
implementation's call given the article's values explicitly; the other
arguments are drawn as the ``mixed`` corner draws them. What the
implementation computes *at* those values is the other checks' business:
here a failure means exactly that leaving an argument out is not the
article's default. Where the explicit call raises (an implementation that
takes no such argument), the oracle's result stands in for it.

A failure's hint names the value the implementation's default acts as, when
one of a few candidates gives exactly what the call with the argument left
out gave (``your default pool_size acts as pool_size=3``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import strategies as st

from refcnn.i18n import tr, tr_n

from ..expected import tolerances as tol
from ..inputs import op_table as ot
from ..inputs import samplers as sm
from ..inputs import strategies as hh
from ..inputs.corners import as_pair
from ..inputs.strategies import Sample
from ..verdict.record import ONLY_LEFT_OUT
from . import calls as cl
from . import checks as ch

RULE = "default differs"
FUNCTIONS = ("forward", "backward")


def declared(op: ot.Op, function: str) -> dict[str, Any]:
    """The article's defaults of ``op``'s forward or backward, by name
    (None: pooling strides, which default to ``pool_size``)."""
    if function == "forward":
        return dict(op.defaults)
    return {**op.defaults, **op.backward_defaults} if op.backward else {}


def omissions(op: ot.Op, function: str) -> list[tuple[str, ...]]:
    """Every non-empty set of defaulted arguments, each alone first, then in
    combination (in the order the op table declares them)."""
    names = list(declared(op, function))
    return [
        subset
        for size in range(1, len(names) + 1)
        for subset in itertools.combinations(names, size)
    ]


def article_value(op: ot.Op, name: str, params: dict[str, Any]) -> Any:
    """The value the article gives ``name`` when it is left out: the
    declared default, or for pooling strides, the ``pool_size`` in force."""
    default = {**op.defaults, **op.backward_defaults}[name]
    return params.get("pool_size", 2) if default is None else default


def article_text(op: ot.Op, name: str, params: dict[str, Any]) -> str:
    """The article's default of ``name`` as a hint writes it: ``2``, or
    ``pool_size (2 here)`` for pooling strides."""
    value = article_value(op, name, params)
    if {**op.defaults, **op.backward_defaults}[name] is None:
        return f"pool_size ({value!r} here)"
    return repr(value)


def samples(
    op: ot.Op, omitted: tuple[str, ...], dtype: str, exclude: frozenset[str]
) -> st.SearchStrategy[Sample]:
    """Samples whose parameters hold the ``omitted`` arguments at the
    article's values, given explicitly (the test leaves them out of its
    call); the other arguments as ``mixed`` draws them (without the
    ``exclude``d factors) for an op with window geometry, as ``plain`` does
    for the others, and given too (a defaulted one that ``mixed`` left out
    at the article's value; not one whose factor is ``exclude``d, which the
    implementation may not take)."""
    if op.shape is not None:
        return _window_samples(op, omitted, dtype, exclude)

    def at_defaults(sample: Sample) -> bool:
        return all(sample.params.get(n, article_value(op, n, {})) == article_value(op, n, {})
                   for n in omitted)  # fmt: skip

    def explicit(sample: Sample) -> Sample:
        params = {**sample.params, **{n: article_value(op, n, {}) for n in omitted}}
        for name in declared(op, "backward" if op.backward else "forward"):
            params.setdefault(name, article_value(op, name, params))
        return Sample(sample.arrays, params, sample.origin, sample.corner)

    return op.strategy(dtype, "plain", exclude=exclude).filter(at_defaults).map(explicit)


def _window_samples(
    op: ot.Op, omitted: tuple[str, ...], dtype: str, exclude: frozenset[str]
) -> st.SearchStrategy[Sample]:
    shape = op.shape
    # parameter -> its geometry key; pool_size first: strides default to it
    keys = {"pool_size": "kernel"} if shape.window == "pool" else {}
    keys |= {name: key for name, key in ((shape.padding, "padding"), (shape.strides, "strides"))
             if name}  # fmt: skip
    return _window_sample(op, omitted, keys, dtype, exclude)


@st.composite
def _window_sample(
    draw: st.DrawFn, op: ot.Op, omitted: tuple[str, ...], keys: dict[str, str], dtype: str,
    exclude: frozenset[str],
) -> Sample:  # fmt: skip
    shape = op.shape
    g = draw(hh.geometry(shape, "mixed", hh.LIMITS, exclude))
    seed, kind = draw(hh.seeds()), draw(hh.value_kind("mixed", False))
    for name, key in keys.items():  # pool_size before strides
        # only ``omitted`` is left out of the call: the others are given,
        # but a declared-unsupported factor that mixed left out
        if name in omitted or (g[key] is None and key not in exclude):
            g[key] = article_value(op, name, {"pool_size": g["kernel"]})
    (kh, kw), (ph, pw) = as_pair(g["kernel"]), as_pair(g["padding"] or 0)
    g["h"], g["w"] = max(g["h"], kh - 2 * ph), max(g["w"], kw - 2 * pw)
    shapes, params = op.build(g)  # the omitted geometry values are given explicitly
    for name in declared(op, "backward" if op.backward else "forward"):
        if name not in keys:  # calc_du_flag: given, unless left out
            params[name] = article_value(op, name, params)
    arrays = sm.layer_arrays(np.random.default_rng(seed), shapes, kind, dtype)
    return Sample(arrays, params, f"seed={seed}, values={kind}", "mixed")


def without(params: dict[str, Any], omitted: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in omitted}


def candidates(value: Any) -> Iterator[Any]:
    """Values a differing default may act as, nearest first: other small
    ints, pairs, the other truth value, common ratios and slopes."""
    if isinstance(value, bool):
        yield not value
    elif isinstance(value, tuple):
        pairs = [p for p in itertools.product(range(5), repeat=2) if p != value]
        yield from sorted(pairs, key=lambda p: (abs(p[0] - value[0]) + abs(p[1] - value[1]), p))
    elif isinstance(value, (int, np.integer)):
        for step in range(1, 5):
            yield from (v for v in (value - step, value + step) if v >= 0)
    elif isinstance(value, float):
        yield from (
            v for v in (0.0, 0.01, 0.1, 0.125, 0.2, 0.25, 1 / 3, 0.5, 0.8, 1.0) if v != value
        )


class Check:
    """One function (forward or backward) of ``op`` called with arguments
    left out, against the same implementation given the article's values
    (see the module doc). The test tells it each sample it draws (through
    :meth:`run`); when the test fails, :meth:`explain` names what the
    default acts as."""

    def __init__(self, impl, op: ot.Op, oracle, function: str, dtype: str = "float64") -> None:
        self.impl, self.op, self.oracle = impl, op, oracle
        self.function, self.dtype = function, dtype
        self.backward = function == "backward"
        self.rtol = tol.rtol_for(dtype, op.rtol)
        self.last: tuple[Sample, tuple[str, ...], dict] | None = None

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        """What the function takes of ``params`` (a forward: no backward-only ones)."""
        return params if self.backward else ot.forward_params(self.op, Sample({}, params))

    def _source(self, params: dict[str, Any]) -> str:
        if self.backward:
            return self.op.backward_call_source(params)
        return self.op.forward_call_source(params)

    def _call(self, values: dict, params: dict, where: str) -> Any:
        return cl.Caller(self.impl, self.op, where, backward=self.backward)(values, params)

    def run(
        self, sample: Sample, omitted: tuple[str, ...], dz: np.ndarray | None = None
    ) -> bool | None:
        """Raise a ConformanceError unless the call with ``omitted`` left
        out gives what the call given the article's values gives; True when
        values were compared, False when only shapes were (empty outputs),
        None when both calls failed alike (raised the same exception, wrote
        to an input): nothing about defaults to compare."""
        __tracebackhide__ = True
        op = self.op
        values = dict(sample.arrays)
        if self.backward:
            z = np.asarray(self.oracle.forward(op, sample)).astype(self.dtype)
            values.update(z=z, dz=dz)
        self.last = (sample, omitted, values)
        call, explicit = self._params(without(sample.params, omitted)), self._params(sample.params)
        left_out = ", ".join(omitted)
        where = tr("{op} {function} with {left_out} left out ({call}, {origin})", op=op.name,
                   function=self.function, left_out=left_out, call=call,
                   origin=sample.origin)  # fmt: skip
        context = tr("{left_out} is not {explicit}", left_out=self._source(call),
                     explicit=self._source(explicit))  # fmt: skip
        try:
            got = self._call(values, call, where)
        except ch.ConformanceError as exc:
            again = self._outcome(values, explicit)
            if again[0] == exc.kind and (exc.kind != "raised" or again[1] == exc.exception):
                return None
            if exc.kind == "raised":
                left, given = self._source(call), self._source(explicit)
                exc.message += tr("; {left_out} raises where {explicit} does not",
                                  left_out=left, explicit=given)  # fmt: skip
                exc.detail = ONLY_LEFT_OUT
            raise
        reference, note = self._reference(sample, values, explicit, where)
        try:
            if self.backward:
                parts = op.gradients(got)
                if parts is not None:  # NaNs where both give NaN are alike
                    for name in parts:
                        parts[name], reference[name] = _nans_alike(parts[name], reference[name])
                    got = tuple(parts.values()) if len(parts) > 1 else parts[op.grads[0]]
                return ch.check_gradients(
                    self.impl, op, got, reference, values, call, self.rtol, where
                )
            got, expected = _nans_alike(got, reference["z"])
            return ch.check_forward(self.impl, op, got, expected, values, call, self.rtol, where)
        except ch.ConformanceError as exc:
            exc.message = f"{context}{note}: {exc.message}"
            raise

    def _outcome(self, values: dict, params: dict) -> tuple:
        """``("raised", exception, message)`` or ``("returned", outputs)``
        of a call (a failure of another kind: ``(kind,)``), to compare calls."""
        where = tr("{op} {function} defaults (another call)", op=self.op.name,
                   function=self.function)  # fmt: skip
        try:
            result = self._call(values, params, where)
        except ch.ConformanceError as exc:
            if exc.kind != "raised":
                return (exc.kind,)
            return ("raised", exc.exception, exc.message)
        try:
            parts = result if self.backward and isinstance(result, tuple) else (result,)
            return ("returned", [_array(p) for p in parts])
        except (TypeError, ValueError):
            return ("returned", None)

    def _reference(
        self, sample: Sample, values: dict, explicit: dict, where: str
    ) -> tuple[dict[str, np.ndarray], str]:
        """What the implementation gives with the article's values explicit,
        by output name (``z``, or the gradients by input name); the oracle's
        result, and a note that says so, where that call raises or returns
        something that is not as many arrays as it should."""
        try:
            result = self._call(values, explicit, where)
            outputs = self.op.gradients(result) if self.backward else {"z": result}
            if outputs is not None:
                return {k: _array(v) for k, v in outputs.items()}, ""
            why = tr("it returned {type}", type=type(result).__name__)
        except ch.ConformanceError as exc:
            if exc.kind != "raised":
                raise
            why = tr("it raised {exception}", exception=exc.exception)
        except (TypeError, ValueError):  # not numbers
            why = tr("it returned something that is not arrays of numbers")
        note = tr(" (the article's result: given the values explicitly, {why})", why=why)
        if self.backward:
            return self.oracle.backward(self.op, sample, values["dz"]), note
        return {"z": np.asarray(self.oracle.forward(self.op, sample))}, note

    def explain(self, failure: ch.ConformanceError, check: str = "defaults") -> None:
        """The hint (``failure.hint``): that the default differs from the
        article's and, where one candidate value of one left-out argument
        gives exactly what leaving it out gave (the same outputs, or the same
        exception), what it acts as. None where the call raises given the
        article's values too: that is not about defaults."""
        if self.last is None or failure.kind in ("crashed", "timed out"):
            return
        sample, omitted, values = self.last
        if failure.kind == "raised" and failure.detail != ONLY_LEFT_OUT:
            return
        article = {n: article_text(self.op, n, sample.params) for n in omitted}
        given = ", ".join(f"{n}={v}" for n, v in article.items())
        failure.hint_rule = RULE
        left_out, n = ", ".join(omitted), len(omitted)
        if failure.kind == "raised":
            failure.hint = tr_n("with {left_out} left out it raises; the article's default: "
                                "{given}", "with {left_out} left out it raises; the article's "
                                "defaults: {given}", n, left_out=left_out, given=given)  # fmt: skip
        else:
            failure.hint = tr_n("with {left_out} left out it gives other results; the article's "
                                "default: {given}", "with {left_out} left out it gives other "
                                "results; the article's defaults: {given}", n,
                                left_out=left_out, given=given)  # fmt: skip
        found = self._acts_as(sample, omitted, values)
        if found is not None:
            name, value = found
            failure.hint = tr("your default {name} acts as {name}={value}; the article's default "
                              "is {name}={article}", name=name, value=repr(value),
                              article=article[name])  # fmt: skip

    def _acts_as(self, sample: Sample, omitted, values) -> tuple[str, Any] | None:
        """The first (argument, value) such that giving it that value (the
        other left-out ones still left out) does what leaving it out did."""
        call = self._params(without(sample.params, omitted))
        left_out = self._outcome(values, call)
        if left_out[0] not in ("raised", "returned") or left_out == ("returned", None):
            return None
        for name in omitted:
            for value in candidates(article_value(self.op, name, sample.params)):
                if _same(left_out, self._outcome(values, {**call, name: value})):
                    return name, value
        return None


def _nans_alike(got: Any, expected: Any) -> tuple[Any, Any]:
    """``got`` and ``expected`` with 0 where both are NaN (an implementation
    compared with itself: a window wholly in the padding may give 0 / 0 both
    ways); unchanged where they are not arrays of numbers of one shape."""
    try:
        a, b = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return got, expected
    if a.shape != b.shape or not (both := np.isnan(a) & np.isnan(b)).any():
        return got, expected
    return np.where(both, 0.0, a), np.where(both, 0.0, b)


def _array(value: Any) -> np.ndarray:
    """An output as a float64 array (None stays None: a skipped gradient)."""
    return None if value is None else np.asarray(value, dtype=np.float64)


def _same(a: tuple, b: tuple) -> bool:
    """Two outcomes (see ``Check._outcome``) alike: the same exception and
    message, or outputs of the same shapes and values."""
    if a[0] != b[0] or a[0] != "returned":
        return a == b
    if a[1] is None or b[1] is None or len(a[1]) != len(b[1]):
        return False
    return all(
        (x is None and y is None)
        or (
            x is not None
            and y is not None
            and x.shape == y.shape
            and np.allclose(x, y, rtol=1e-6, atol=1e-9, equal_nan=True)
        )
        for x, y in zip(a[1], b[1], strict=True)
    )
