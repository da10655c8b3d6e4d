"""The smallest failing example of a failing cell, in small integers
(imported as ``ex``).

When an (op, check, corner) fails, the example hypothesis shrank to is
still drawn from floats, often large. Here the failure is searched again,
the way the article teaches: small integer arrays (0, 1, 2, ... as the
article's ``u``; 1, 2, 3, ... as its filter; negatives; ones; small random
integers; halves last) on a geometry made smaller step by step (``size_key``:
fewer outputs per channel, then fewer inputs, samples, channels and filters,
then smaller parameters; a larger window may give a smaller output) for as
long as the implementation still fails *the same way*: the same check, kind
and exception, and for a backward the same gradient. Element-wise ops try
the shapes (1, 1), (1, 2), ... The expected values are the oracle's, on
those inputs (for the gradient check, the oracle's gradient: on integers,
ties can occur, where the article routes to the first maximum).

The search runs only in failing cells, after hypothesis, within a time
budget (``--explain-budget``, seconds per failing cell); it keeps the
smallest example found when the budget runs out, and a call of the
implementation that hangs is interrupted by the budget's timer. It never
changes the verdict: the cell has failed already.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from refcnn.i18n import tr, tr_marked

from ..expected import tolerances as tol
from ..inputs import op_table as ot
from ..inputs import samplers as sm
from ..inputs.corners import as_pair
from ..inputs.strategies import Sample
from ..verdict import hints as hn
from ..verdict.words import kind_text
from . import calls as cl
from . import checks as ch

# Value patterns of the data, simplest first (see _values).
DATA_PATTERNS = 10
DZ_PATTERNS = 2


@dataclass(frozen=True)
class Target:
    """How the cell failed: the check that compares (``forward`` or
    ``backward``), the failure's kind and exception, and for a backward's
    wrong values the gradient that was wrong."""

    check: str
    kind: str
    exception: str = ""
    gradient: str = ""

    def same(self, failure: ch.ConformanceError) -> bool:
        return (failure.kind, failure.exception, failure.gradient) == (
            self.kind,
            self.exception,
            self.gradient,
        )


def target_of(failure: ch.ConformanceError, check: str) -> Target:
    """What the search must reproduce of ``failure`` in check ``check``:
    the function that failed (the gradient check's forward or backward, a
    golden case's), compared with the oracle's."""
    compares = failure.function or ("backward" if check == "backward" else "forward")
    return Target(compares, failure.kind, failure.exception, failure.gradient)


@dataclass
class Example:
    """An example: the inputs, parameters and ``dz``, what the oracle
    expects and what the implementation gave (``z``, or the gradients by
    input name), the call, and the failure (None: it passed) and its line."""

    arrays: dict[str, np.ndarray]
    params: dict[str, Any]
    dz: np.ndarray | None
    expected: dict[str, Any]
    got: dict[str, Any]
    call: str
    failure: ch.ConformanceError | None = None
    message: str = ""
    output_shape: tuple[int, ...] = ()  # the forward's, whichever check


@dataclass
class Search:
    """The search's state: attempts made, the smallest failing example."""

    best: Example | None = None
    tried: int = 0
    started: float = field(default_factory=time.monotonic)
    out_of_time: bool = False


class _OutOfTime(BaseException):
    """Raised by the budget's timer into a call that outlived it."""


@contextlib.contextmanager
def _timer(seconds: float, search: Search) -> Iterator[None]:
    """Interrupt whatever runs when ``seconds`` have passed (SIGALRM, in the
    main thread where there is one; elsewhere the budget is checked between
    calls only)."""
    if (
        not hasattr(signal, "setitimer")  # Windows: the budget between calls only
        or threading.current_thread() is not threading.main_thread()
        or seconds <= 0
    ):
        yield
        return

    def expire(signum, frame):
        search.out_of_time = True
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _values(name: str, shape: tuple[int, ...], pattern: int) -> np.ndarray:
    """Small integers for array ``name`` under value pattern ``pattern``:
    the data 0, 1, 2, ... (the article's ``u``), 1, 2, ..., -1, -2, ...,
    ones, small random integers, then halves around 0; filters 1, 2, ... (so that a flipped
    one differs) or random integers in [-2, 2]; biases zeros or 1, 2, ..."""
    size = int(np.prod(shape))
    count = np.arange(size, dtype=np.float64)
    if name in ("W", "f"):
        values = count + 1 if pattern % 2 == 0 else _integers(pattern, size, 2)
    elif name == "b":
        values = np.zeros(size) if pattern % 2 == 0 else count + 1
    elif pattern < 4:
        values = (count, count + 1, -(count + 1), np.ones(size))[pattern]
    elif pattern == DATA_PATTERNS - 1:
        values = (count - size // 2) / 2  # halves around 0
    else:
        values = _integers(pattern, size, 3 if pattern < DATA_PATTERNS - 2 else 9)
    return values.reshape(shape)


def _integers(seed: int, size: int, top: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-top, top + 1, size).astype(np.float64)


def _dz(shape: tuple[int, ...], pattern: int) -> np.ndarray:
    return (
        np.ones(shape)
        if pattern == 0
        else _integers(100 + pattern, int(np.prod(shape)), 3).reshape(shape)
    )


def _steps(value: Any, low: int, high: int) -> list[Any]:
    """An int or (h, w) parameter one step up or down, within [low, high]."""
    if value is None:
        return []
    if isinstance(value, tuple):
        h, w = value
        return [
            v for v in ((h - 1, w), (h, w - 1), (h + 1, w), (h, w + 1))
            if low <= min(v) and max(v) <= high
        ]  # fmt: skip
    return [v for v in (value - 1, value + 1) if low <= v <= high]


def _neighbours(g: dict[str, Any], defaults: bool) -> list[dict[str, Any]]:
    """Geometries one step from ``g``: fewer samples, channels or filters,
    the smallest or a smaller input, parameters left at their defaults, or
    one step up or down (a larger window can mean a smaller output)."""
    (kh, kw), (ph, pw) = as_pair(g["kernel"]), as_pair(g["padding"] or 0)
    changes: list[dict[str, Any]] = []
    for key in ("n", "c", "fn", "h", "w"):
        if g[key] > 1:
            changes += [{key: 1}, {key: g[key] - 1}]
    changes += [{"h": max(1, kh - 2 * ph)}, {"w": max(1, kw - 2 * pw)}]
    for key in ("padding", "strides"):
        if defaults and g[key] is not None:
            changes.append({key: None})
    for key, low in (("kernel", 1), ("padding", 0), ("strides", 1)):
        changes += [{key: value} for value in _steps(g[key], low, SMALL_PARAMETER)]
    return [{**g, **change} for change in changes]


SMALL_PARAMETER = 4  # a window, padding or stride searched up to this


def size_key(g: dict[str, Any]) -> tuple[int, ...]:
    """What "smaller" means: fewer outputs per channel, a squarer output,
    fewer inputs per channel, fewer samples, channels and filters, then
    smaller parameters."""
    (kh, kw), (ph, pw) = as_pair(g["kernel"]), as_pair(g["padding"] or 0)
    strides = g["strides"] if g["strides"] is not None else g["kernel"]
    sh, sw = as_pair(strides)
    zh, zw = (g["h"] + 2 * ph - kh) // sh + 1, (g["w"] + 2 * pw - kw) // sw + 1
    given = sum(g[k] is not None for k in ("padding", "strides"))
    return (zh * zw, max(zh, zw), g["h"] * g["w"], g["n"] * g["c"] * g["fn"],
            kh * kw, ph + pw, given, sh + sw)  # fmt: skip


def _row_shapes(sample: Sample) -> Iterator[dict[str, tuple[int, ...]]]:
    """An element-wise op's ``u``: (1, 1), (1, 2), ... up to 16 elements."""
    for k in range(1, min(int(sample.arrays["u"].size), 16) + 1):
        yield {"u": (1, k)}


def _dense_shapes(sample: Sample) -> Iterator[dict[str, tuple[int, ...]]]:
    """A dense op's arrays, fewest outputs, then inputs, first: ``n``
    samples of ``d_in`` inputs, ``d`` outputs of ``unit`` pieces each (the
    sample's ``unit``)."""
    (n, d_in), unit = sample.arrays["u"].shape, sample.params.get("unit", 1)
    d = sample.arrays["W"].shape[1] // unit
    sizes = itertools.product(range(1, n + 1), range(1, d_in + 1), range(1, d + 1))
    for n_, i, o in sorted(sizes, key=lambda s: (s[0] * s[2], s[0] * s[1], s[1] * s[2])):
        yield {"u": (n_, i), "W": (i, o * unit), "b": (o * unit,)}


def small(g: dict[str, Any]) -> bool:
    """At most 2 x 2 outputs and 16 inputs per channel."""
    _, largest, inputs = size_key(g)[:3]
    return largest <= 2 and inputs <= 16


def _frozen(g: dict[str, Any]) -> tuple:
    return tuple(sorted(g.items()))


def _valid(g: dict[str, Any]) -> bool:
    (kh, kw), (ph, pw) = as_pair(g["kernel"]), as_pair(g["padding"] or 0)
    return g["h"] + 2 * ph >= kh and g["w"] + 2 * pw >= kw and min(g["h"], g["w"]) >= 1


class Explainer:
    """Searches one failing cell's smallest example (see the module doc).
    The test tells it each sample it draws (:meth:`saw`); when the test
    fails, :meth:`explain` searches from the last one, the failing one."""

    def __init__(self, impl, op: ot.Op, oracle, dtype: str, enforce: str | None, budget: float):
        self.impl, self.op, self.oracle = impl, op, oracle
        self.dtype, self.enforce, self.budget = dtype, enforce, budget
        self.sample: Sample | None = None
        self.dz: np.ndarray | None = None

    def saw(self, sample: Sample, dz: np.ndarray | None = None) -> None:
        self.sample, self.dz = sample, dz

    def explain(self, failure: ch.ConformanceError, check: str) -> None:
        """Attach the smallest failing example (``failure.minimal``) and the
        hint that fits the implementation (``failure.hint``) to ``failure``."""
        if self.budget <= 0 or self.sample is None:
            return
        if self.op.shape is None and not (self.op.elementwise or self.op.dense):
            return  # no smaller shapes known for it
        if self.sample.arrays["u"].shape[0] == 0 or failure.kind in ("crashed", "timed out"):
            return  # nothing to show in an empty batch; no call again after a crash
        target = target_of(failure, check)
        search = Search()
        rule = None
        try:
            with _timer(self.budget + 0.5, search):
                self._search(target, search)
                if search.best is not None:
                    rule = self._hint(search.best, target, search)
        except _OutOfTime:
            pass
        except Exception as exc:  # the explanation's own error: the verdict stands
            failure.explanation_error = f"{type(exc).__name__}: {exc}"
        if search.best is None:
            if search.out_of_time:
                failure.explanation_error = tr(
                    "no smaller failing example found within its budget ({seconds} s)",
                    seconds=f"{self.budget:g}",
                )
            return
        failure.minimal = {
            **as_json(search.best, target.check),
            "tried": search.tried,
            "seconds": round(time.monotonic() - search.started, 2),
        }
        if rule is not None:
            failure.hint, failure.hint_rule = tr_marked(rule.text), rule.name

    def _search(self, target: Target, search: Search) -> None:
        """Leaves the smallest failing example in ``search.best``: for an op
        with window geometry by hill-climbing ``size_key`` from the failing
        sample's; for an element-wise op, the first of the shapes (1, 1),
        (1, 2), ... that fails; for a dense one, the smallest (samples,
        inputs, outputs) that fails."""
        if self.op.shape is None:
            for shapes in _dense_shapes(self.sample) if self.op.dense else _row_shapes(self.sample):
                if self._fails_on(shapes, dict(self.sample.params), target, search):
                    break
            return
        geometry = sm.geometry_of(self.op.shape, self.sample)
        extra = {k: v for k, v in self.sample.params.items() if k in self.op.backward_params}
        if target.check == "forward" or (extra and self._fails(geometry, {}, target, search)):
            extra = {}  # the backward's extra parameters (calc_du_flag) are not needed
        if search.best is None and not self._fails(geometry, extra, target, search):
            return
        defaults = bool(self.op.defaults) or self.op.shape.tuples
        while not self._spent(search):
            near = [g for g in _neighbours(geometry, defaults) if _valid(g)]
            found = self._smaller(geometry, near, extra, target, search)
            if found is None and not small(geometry):
                # stuck above the small examples: two steps at once (a larger
                # window with more padding can make a smaller output)
                near = [h for g in near for h in _neighbours(g, defaults) if _valid(h)]
                found = self._smaller(geometry, near, extra, target, search)
            if found is None:
                break
            geometry = found

    def _smaller(self, geometry, near, extra, target, search) -> dict[str, Any] | None:
        """The smallest geometry of ``near`` smaller than ``geometry`` that
        fails the same way."""
        key = size_key(geometry)
        unique = {_frozen(g): g for g in near if size_key(g) < key}
        for g in sorted(unique.values(), key=size_key):
            if self._fails(g, extra, target, search):
                return g
        return None

    def _spent(self, search: Search) -> bool:
        return search.out_of_time or time.monotonic() - search.started > self.budget

    def _samples(self, shapes: dict, params: dict, target: Target) -> Iterator[tuple[Sample, int]]:
        """The value patterns on arrays of ``shapes``, each with the dz
        patterns of a backward (a forward's: none but the first)."""
        for pattern in range(DATA_PATTERNS):
            arrays = {
                k: _values(k, tuple(s), pattern).astype(self.dtype) for k, s in shapes.items()
            }
            sample = Sample(arrays, params, f"values: pattern {pattern}", self.sample.corner)
            for dz_pattern in range(DZ_PATTERNS if target.check == "backward" else 1):
                yield sample, dz_pattern

    def _fails(self, g: dict, extra: dict, target: Target, search: Search) -> bool:
        """True when a value pattern on geometry ``g`` fails the same way
        (that example is then ``search.best``)."""
        shapes, params = self.op.build(g)
        return self._fails_on(shapes, {**params, **extra}, target, search)

    def _fails_on(self, shapes: dict, params: dict, target: Target, search: Search) -> bool:
        for sample, dz_pattern in self._samples(shapes, params, target):
            if self._spent(search):
                return False
            search.tried += 1
            example = self._run(sample, dz_pattern, target)
            if search.out_of_time:
                return False
            if example.failure is not None and target.same(example.failure):
                search.best = example
                return True
        return False

    def _hint(self, best: Example, target: Target, search: Search) -> hn.Rule | None:
        """The rule whose mistake gives what the implementation gave on the
        smallest example, on the other value patterns of its shapes and on
        the failing sample itself (so that one example's coincidence, e.g.
        zeros tied with the padding, does not name the wrong mistake)."""
        if not any(self.op.name in rule.ops for rule in hn.RULES):
            return None
        dz = self.dz
        if target.check == "backward" and dz is None:  # the gradient check's sample
            z = np.asarray(self.oracle.forward(self.op, self.sample))
            dz = np.random.default_rng(0).standard_normal(z.shape).astype(self.dtype)
        others = [self._run(self.sample, 0, target, dz)]
        shapes = {k: v.shape for k, v in best.arrays.items()}
        for sample, dz_pattern in self._samples(shapes, best.params, target):
            others.append(self._run(sample, dz_pattern, target))
        if search.out_of_time:
            return None
        cases = [hn.Case(e.arrays, e.params, e.dz, e.expected, e.got) for e in (best, *others)]
        return hn.match(self.op.name, target.check, cases)

    def _run(
        self, sample: Sample, dz_pattern: int, target: Target, dz: np.ndarray | None = None
    ) -> Example:
        """``target``'s check on ``sample``: the example, with the failure
        it raised (None when it passed)."""
        op, impl, dtype = self.op, self.impl, self.dtype
        rtol = tol.rtol_for(dtype, op.rtol)
        where = tr("{op} {check} (the explanation's search)", op=op.name, check=target.check)
        params, got, failure = sample.params, {}, None
        forward = ot.forward_params(op, sample)
        z = np.asarray(self.oracle.forward(op, sample))
        expected: dict[str, Any] = {"z": z}
        call = op.forward_call_source(forward)
        try:
            if target.check == "forward":
                got["z"] = cl.Caller(impl, op, where)(sample.arrays, forward)
                ch.check_forward(
                    impl, op, got["z"], z, sample.arrays, forward, rtol, where, self.enforce
                )
            else:
                call = op.backward_call_source(params)
                dz = _dz(z.shape, dz_pattern).astype(dtype) if dz is None else dz
                values = {**sample.arrays, "z": z.astype(dtype), "dz": dz}
                grads = self.oracle.backward(op, sample, dz)
                expected = {k: v for k, v in grads.items() if v is not None}
                result = cl.Caller(impl, op, where, backward=True)(values, params)
                got = op.gradients(result) or {}
                others = set(op.grads) - {target.gradient} if target.gradient else set()
                ch.check_gradients(
                    impl, op, result, grads, values, params, rtol, where, self.enforce,
                    checked=others,
                )  # fmt: skip
        except ch.ConformanceError as exc:
            failure = exc
        return Example(
            dict(sample.arrays), dict(params), dz, expected, got, call, failure,
            f"{kind_text(failure.kind)}: {failure.message}" if failure is not None else "",
            z.shape,
        )  # fmt: skip


def small_list(value: Any) -> Any:
    """An array as nested lists: ints where the values are whole, else
    floats to 6 significant digits; complex values as strings ("1+2j"), so
    that nothing is cast away in silence; None stays None."""
    if value is None:
        return None
    try:
        raw = np.asarray(value)
        if raw.dtype.kind == "c":
            return np.vectorize(lambda x: f"{complex(x):.6g}", otypes=[object])(raw).tolist()
        array = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        return repr(value)[:200]
    if np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        return array.astype(np.int64).tolist()
    return np.vectorize(lambda x: float(f"{x:.6g}"), otypes=[object])(array).tolist()


def as_json(example: Example, check: str) -> dict[str, Any]:
    """The example for the verdict: arrays as small lists, gradients named
    ``d`` + input."""
    prefix = "d" if check == "backward" else ""
    return {
        "check": check,
        "call": example.call,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in example.params.items()},
        "inputs": {k: small_list(v) for k, v in example.arrays.items()},
        **({"dz": small_list(example.dz)} if example.dz is not None else {}),
        "expected": {prefix + k: small_list(v) for k, v in example.expected.items()},
        "got": {prefix + k: small_list(v) for k, v in example.got.items()},
        "message": example.message,
        "output_shape": list(example.output_shape),
    }
