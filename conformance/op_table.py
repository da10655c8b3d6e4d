"""The op table: one declarative entry per function of the article API.

An entry says how to call the implementation's forward (and backward), which
corners of the input space it has and how to draw each (see
:mod:`conformance.strategies`), which function of
:mod:`conformance.torch_reference` computes the same thing with torch, what
to tag in the coverage report, and any tolerance override. The tests in this
folder are generic over the table: adding an op is adding an entry.

Calling conventions (the article's):

* forward: ``impl.<forward>(*inputs, **params)``;
* backward: ``impl.<backward>(*backward_args, **params)`` where each name in
  ``backward_args`` is ``"dz"`` (gradient of the output), ``"z"`` (the
  forward output) or one of ``inputs``; it returns the gradients named in
  ``grads``, in that order (a bare array when there is one).

Parameters left at their defaults are not passed at all (the ``plain``
corner calls ``convolution2d(u, W, b)``), so an implementation without, say,
a ``padding`` argument still runs the corners that do not need it.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from . import strategies as hh
from . import tolerances as tol
from .strategies import Sample

Getter = Callable[[str], Callable]
# samples(dtype, corner, gradcheck, exclude) -> a strategy of Sample
SampleBuilder = Callable[[str, str, bool, frozenset], st.SearchStrategy[Sample]]


class OpError(ValueError):
    """An op table entry that contradicts itself or the suite."""


@functools.cache
def reference_names() -> frozenset[str]:
    """The functions of :mod:`conformance.torch_reference`, read from its
    source (importing it needs torch, which the table does not)."""
    source = (Path(__file__).resolve().parent / "torch_reference.py").read_text()
    tree = ast.parse(source)
    return frozenset(node.name for node in tree.body if isinstance(node, ast.FunctionDef))


@dataclass(frozen=True, kw_only=True)
class Op:
    """One op. ``compose_forward``/``compose_backward`` replace the plain
    calling convention for ops made of several functions (``get`` returns the
    implementation's function of a name, or skips the test as not provided);
    ``forward_source``/``backward_source`` are then the call in the
    reproduction snippet. ``tags`` names what a sample holds, for the
    coverage report and to keep declared-unsupported factors out of
    ``mixed``; ``kinks`` gives an activation's kinks for its parameters."""

    name: str
    forward: str
    inputs: tuple[str, ...]
    samples: SampleBuilder
    reference: str  # function name in conformance.torch_reference
    corners: tuple[str, ...] = ("plain",)
    tags: Callable[[Sample], set[str]] = lambda sample: set()
    backward: str | None = None
    backward_args: tuple[str, ...] = ()
    grads: tuple[str, ...] = ()
    rtol: dict[str, float] = field(default_factory=dict)
    # Extra keyword arguments some samples pass to the backward only.
    backward_params: tuple[str, ...] = ()
    compose_forward: Callable[[Getter, dict, dict], Any] | None = None
    compose_backward: Callable[[Getter, dict, dict], Any] | None = None
    forward_source: str = ""
    backward_source: str = ""
    functions: tuple[str, ...] = ()  # every function a composed op calls
    notes: str = ""
    # The op computes nothing (identity): returning an input object itself is
    # no fault. Other ops may return views of inputs (flatten's reshape), not
    # the inputs themselves.
    passthrough: bool = False
    # The geometry of ops with windows (see hh.Shape); None for the others.
    shape: hh.Shape | None = None
    # A layer's keyword parameters and the article's defaults (None: pooling
    # strides default to pool_size), for the adapters.
    defaults: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse an incoherent entry, naming it and each mistake."""
        problems = []
        unknown = [c for c in self.corners if c not in hh.CORNERS]
        if unknown:
            problems.append(f"unknown corner(s) {unknown}; the corners are {list(hh.CORNERS)}")
        if self.reference not in reference_names():
            problems.append(
                f"reference {self.reference!r} is not a function of conformance.torch_reference"
            )
        arguments = {*self.inputs, "z", "dz"}
        wrong = [a for a in self.backward_args if a not in arguments]
        if wrong:
            problems.append(
                f"backward argument(s) {wrong} are none of the inputs {self.inputs}, 'z' or 'dz'"
            )
        wrong = [g for g in self.grads if g not in self.inputs]
        if wrong:
            problems.append(f"gradient(s) {wrong} of no input (the inputs are {self.inputs})")
        if bool(self.backward) != bool(self.grads):
            problems.append("a backward and its gradients (grads=...) go together")
        wrong = [d for d in self.rtol if d not in hh.DTYPES]
        if wrong:
            problems.append(f"tolerance for unknown dtype(s) {wrong}; the dtypes are {hh.DTYPES}")
        if (self.compose_forward is not None) != bool(self.forward_source):
            problems.append("a composed forward needs its snippet source (forward_source=...)")
        if (self.compose_backward is not None) != bool(self.backward_source):
            problems.append("a composed backward needs its snippet source (backward_source=...)")
        if problems:
            raise OpError(f"op table entry {self.name!r}: " + "; ".join(problems))

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Op({self.name!r})"

    @property
    def imports(self) -> tuple[str, ...]:
        return self.functions or tuple(f for f in (self.forward, self.backward) if f)

    @property
    def forward_imports(self) -> tuple[str, ...]:
        """The functions the forward calls (what its snippets import)."""
        return self.imports if self.compose_forward is not None else (self.forward,)

    @property
    def backward_imports(self) -> tuple[str, ...]:
        """The functions the backward calls (what its snippets import)."""
        return self.imports if self.compose_backward is not None else (self.backward,)

    def left_out(self, corner: str, exclude: frozenset[str]) -> str:
        """Why ``corner`` has nothing to draw once the declared-unsupported
        factors ``exclude`` are left out ("" when it has)."""
        return self.shape.left_out(corner, exclude) if self.shape is not None else ""

    @property
    def gradient_corners(self) -> tuple[str, ...]:
        """The corners finite differences can judge."""
        return tuple(c for c in self.corners if c not in hh.NOT_DIFFERENTIABLE)

    def strategy(
        self,
        dtype: str,
        corner: str,
        gradcheck: bool = False,
        exclude: frozenset[str] = frozenset(),
    ) -> st.SearchStrategy[Sample]:
        """The corner's samples; ``mixed`` leaves out the ``exclude``d factors
        (the geometry mostly avoids them; values that still hit one, e.g. ties
        that normal values made, are filtered)."""
        samples = self.samples(dtype, corner, gradcheck, exclude)
        if corner == "mixed" and exclude:
            samples = samples.filter(lambda sample: not (self.tags(sample) & exclude))
        return samples

    def call_forward(self, get: Getter, arrays: dict, params: dict) -> Any:
        if self.compose_forward is not None:
            return self.compose_forward(get, arrays, params)
        return get(self.forward)(*(arrays[name] for name in self.inputs), **params)

    def call_backward(self, get: Getter, values: dict, params: dict) -> Any:
        """``values`` holds the inputs, ``z`` and ``dz``; returns what the
        implementation returned (see :meth:`gradients`)."""
        if self.compose_backward is not None:
            return self.compose_backward(get, values, params)
        return get(self.backward)(*(values[name] for name in self.backward_args), **params)

    def gradients(self, result: Any) -> dict[str, Any] | None:
        """The backward's result by input name, or None if it returned the
        wrong number of gradients."""
        if len(self.grads) == 1 and not isinstance(result, tuple):
            result = (result,)
        if not isinstance(result, tuple) or len(result) != len(self.grads):
            return None
        return dict(zip(self.grads, result, strict=True))

    def forward_call_source(self, params: dict) -> str:
        if self.forward_source:
            return self.forward_source
        return call_source(self.forward, list(self.inputs), params)

    def backward_call_source(self, params: dict) -> str:
        if self.backward_source:
            return self.backward_source
        return call_source(self.backward, list(self.backward_args), params)


def call_source(function: str, args: list[str], kwargs: dict) -> str:
    """``f(a, b, k=v)``; array-valued keyword arguments appear by name (the
    reproduction snippet defines them)."""
    parts = list(args) + [
        f"{k}={k}" if isinstance(v, np.ndarray) else f"{k}={v!r}" for k, v in kwargs.items()
    ]
    return f"{function}({', '.join(parts)})"


def array_params(params: dict) -> dict[str, np.ndarray]:
    return {k: v for k, v in params.items() if isinstance(v, np.ndarray)}


def forward_params(op: Op, sample: Sample) -> dict[str, Any]:
    return {k: v for k, v in sample.params.items() if k not in op.backward_params}


# --- convolutions and pooling: corners from hh.Shape ------------------------------


def _arrays(rng: np.random.Generator, shapes: dict[str, tuple], kind: str, dtype: str):
    """The data ``u`` gets the corner's value kind; weights and biases are
    normal, or distinct when the data is (no ties anywhere)."""
    distinct = kind in ("distinct", "negative distinct")
    return {
        name: hh.make_values(
            rng, shape, kind if name == "u" else "distinct" if distinct else "normal"
        ).astype(dtype)
        for name, shape in shapes.items()
    }


def _geometry_samples(
    shape: hh.Shape, build: Callable[[dict], tuple[dict, dict]], du_flag: bool = False
):
    """Samples of an op with window geometry: ``build(g)`` gives the array
    shapes and the parameters of geometry ``g``; ``du_flag``: under
    ``mixed``, one sample in five has ``calc_du_flag=False``."""

    def samples(
        dtype: str, corner: str = "mixed", gradcheck: bool = False, exclude=frozenset()
    ) -> st.SearchStrategy[Sample]:
        limits = hh.GRADCHECK_LIMITS if gradcheck else hh.LIMITS

        @st.composite
        def draw_sample(draw: st.DrawFn) -> Sample:
            g = draw(hh.geometry(shape, corner, limits, exclude))
            seed, kind = draw(hh.seeds()), draw(hh.value_kind(corner, gradcheck))
            shapes, params = build(g)
            if corner == "mixed" and du_flag and draw(st.integers(0, 4)) == 0:
                params["calc_du_flag"] = False  # backward only: du is skipped
            arrays = _arrays(np.random.default_rng(seed), shapes, kind, dtype)
            if corner == "ties":
                _tie_first_window(arrays["u"], hh.as_pair(g["kernel"]))
            return Sample(arrays, params, f"seed={seed}, values={kind}", corner)

        return draw_sample()

    return samples


def _tie_first_window(u: np.ndarray, window: tuple[int, int]) -> None:
    """Make sure the corner has a tie: in the first window (no padding in
    "ties") of every image and channel, the maximum appears twice."""
    kh, kw = window
    first = u[:, :kh, :kw, :].reshape(u.shape[0], kh * kw, u.shape[3])
    top = first.argmax(axis=1)  # (n, c)
    other = (top + 1) % (kh * kw)  # another cell of the window
    np.put_along_axis(first, other[:, None, :], first.max(axis=1)[:, None, :], axis=1)
    u[:, :kh, :kw, :] = first.reshape(u.shape[0], kh, kw, u.shape[3])


def _given(g: dict, names: dict[str, str]) -> dict[str, Any]:
    """The parameters that are not left at their defaults."""
    return {name: g[key] for key, name in names.items() if name and g[key] is not None}


def _step_op(name: str, u_dims: int, f_dims: int, with_p: bool, with_s: bool) -> Op:
    """conv ... convpscfu: the article passes p and s as tuples."""
    shape = hh.Shape(
        batch=u_dims == 4,
        channels=u_dims >= 3,
        filters=f_dims == 4,
        padding="p" if with_p else "",
        strides="s" if with_s else "",
        tuples=True,
    )

    def build(g: dict) -> tuple[dict, dict]:
        kh, kw = hh.as_pair(g["kernel"])
        u_shape = {2: (g["h"], g["w"]), 3: (g["h"], g["w"], g["c"])}.get(
            u_dims, (g["n"], g["h"], g["w"], g["c"])
        )
        f_shape = {2: (kh, kw), 3: (kh, kw, g["c"])}.get(f_dims, (g["fn"], kh, kw, g["c"]))
        return {"u": u_shape, "f": f_shape}, _given(
            g, {"padding": shape.padding, "strides": shape.strides}
        )

    return Op(
        name=name,
        forward=name,
        inputs=("u", "f"),
        samples=_geometry_samples(shape, build),
        reference=name,
        corners=shape.corners,
        tags=_window_tags(shape),
        shape=shape,
    )


def _convolution2d_build(g: dict) -> tuple[dict, dict]:
    kh, kw = hh.as_pair(g["kernel"])
    shapes = {
        "u": (g["n"], g["h"], g["w"], g["c"]),
        "W": (g["fn"], kh, kw, g["c"]),
        "b": (g["fn"],),
    }
    return shapes, _given(g, {"padding": "padding", "strides": "strides"})


def _pooling_build(g: dict) -> tuple[dict, dict]:
    params = {"pool_size": g["kernel"], **_given(g, {"padding": "padding", "strides": "strides"})}
    return {"u": (g["n"], g["h"], g["w"], g["c"])}, params


def _flatten_build(g: dict) -> tuple[dict, dict]:
    return {"u": (g["n"], g["h"], g["w"], g["c"])}, {}


def pool_windows(u: np.ndarray, window, padding, strides) -> tuple[np.ndarray, np.ndarray]:
    """The windows of the zero-padded ``u`` (n, h, w, c) as ``(n, zh, zw, c,
    kh, kw)``, and which of their cells are real (not padding), ``(zh, zw,
    kh, kw)``; the article's floor output size."""
    (kh, kw), (ph, pw) = hh.as_pair(window), hh.as_pair(padding)
    strides = window if strides is None else strides
    sh, sw = hh.as_pair(strides)
    padded = np.pad(u, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    windows = sliding_window_view(padded, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
    return windows, window_cells(u.shape[1], u.shape[2], window, padding, strides)


def window_cells(h: int, w: int, window, padding, strides) -> np.ndarray:
    """Which cells of each window of a zero-padded ``(h, w)`` input are real
    (not padding): ``(zh, zw, kh, kw)``."""
    (kh, kw), (ph, pw), (sh, sw) = (hh.as_pair(x) for x in (window, padding, strides))
    real = np.pad(np.ones((h, w), dtype=bool), ((ph, ph), (pw, pw)))
    return sliding_window_view(real, (kh, kw))[::sh, ::sw]


def _window_tags(shape: hh.Shape) -> Callable[[Sample], set[str]]:
    """What a sample of a convolution, pooling or flatten op holds."""

    def tags(sample: Sample) -> set[str]:
        u, params = sample.arrays["u"], sample.params
        found = set()
        if shape.batch and u.shape[0] == 0:
            found.add("empty batch")
        f = sample.arrays.get("f", sample.arrays.get("W"))
        channels = u.shape[-1] if shape.channels else 1
        filters = f.shape[0] if shape.filters else 1
        if max(channels, filters) > 4:
            found.add("many channels")
        h, w = u.shape[-3:-1] if u.ndim >= 3 else u.shape
        if shape.channels and (h, w) == (1, 1) and channels > 1:
            found.add(hh.ONE_BY_ONE)
        if shape.batch and shape.channels and u.shape[0] == 1 and channels == 1:
            found.add(hh.SINGLE)
        if not shape.window:
            return found
        if shape.window == "pool":
            window = hh.as_pair(params["pool_size"])
        else:
            window = f.shape[-3:-1] if f.ndim >= 3 else f.shape
        padding = hh.as_pair(params.get(shape.padding) or 0)
        strides = params.get(shape.strides)
        given = [params.get(k) for k in (shape.padding, shape.strides, "pool_size")]
        if shape.tuples:
            if any(p is not None and p[0] != p[1] for p in given[:2]):
                found.add("tuple params")
        elif any(isinstance(p, tuple) for p in given):
            found.add("tuple params")
        if window[0] != window[1]:
            found.add("non-square")
        if padding != (0, 0):
            found.add("padding")
        default = window if shape.window == "pool" else (1, 1)
        steps = default if strides is None else hh.as_pair(strides)
        if shape.window == "pool":
            if strides is None:
                found.add("default strides")
            else:
                overlapping = steps[0] < window[0] or steps[1] < window[1]
                found.add("overlap" if overlapping else "strides")
        elif max(steps) > 1:
            found.add("strides")
        padded = (h + 2 * padding[0], w + 2 * padding[1])
        if tuple(window) == padded:
            found.add(hh.WHOLE_INPUT)
        if steps[0] > h and steps[1] > w and strides is not None:
            found.add(hh.BEYOND_INPUT)
        if min(padded[0] - window[0], padded[1] - window[1]) >= 0:
            real = window_cells(h, w, window, padding, steps)
            if real.size and not real.any(axis=(-2, -1)).all():
                found.add(hh.IN_PADDING)
        if (h + 2 * padding[0] - window[0]) % steps[0] or (w + 2 * padding[1] - window[1]) % steps[
            1
        ]:
            found.add("non-dividing strides")
        if shape.max_pooling and u.size:
            windows, real = pool_windows(u, window, padding, strides)
            at_max = windows == windows.max(axis=(-2, -1), keepdims=True)
            cells = real[None, :, :, None]  # broadcast over the batch and the channels
            # a tie that routing can get wrong: the maximum twice, once in a real cell
            tied = (at_max.sum(axis=(-2, -1)) >= 2) & (at_max & cells).any(axis=(-2, -1))
            if tied.any():
                found.add("ties")
            touches = ~real.all(axis=(-2, -1))  # (zh, zw): windows with padded cells
            best_real = np.where(cells, windows, -np.inf).max(axis=(-2, -1))  # (n, zh, zw, c)
            if ((best_real < 0) & touches[None, :, :, None]).any():
                found.add("negative under padding")
        return found

    return tags


def _window_op(name: str, shape: hh.Shape, build, **kwargs: Any) -> Op:
    return Op(
        name=name,
        forward=name,
        inputs=kwargs.pop("inputs", ("u",)),
        samples=_geometry_samples(
            shape, build, "calc_du_flag" in kwargs.get("backward_params", ())
        ),
        reference=name,
        corners=shape.corners,
        tags=_window_tags(shape),
        shape=shape,
        **kwargs,
    )


_POOL_BACK = ("dz", "u", "z")
_POOL_DEFAULTS = {"pool_size": 2, "padding": 0, "strides": None}
_POOL = hh.Shape(window="pool")

OPS: tuple[Op, ...] = (
    _step_op("conv", 2, 2, False, False),
    _step_op("convp", 2, 2, True, False),
    _step_op("convps", 2, 2, True, True),
    _step_op("convpsc", 3, 3, True, True),
    _step_op("convpscf", 3, 4, True, True),
    _step_op("convpscfu", 4, 4, True, True),
    _window_op(
        "convolution2d",
        hh.Shape(filters=True),
        _convolution2d_build,
        inputs=("u", "W", "b"),
        defaults={"padding": 0, "strides": 1},
        backward="convolution2d_back",
        backward_args=("dz", "u", "W", "b"),
        grads=("u", "W", "b"),
        backward_params=("calc_du_flag",),
    ),
    _window_op(
        "max_pooling2d",
        hh.Shape(window="pool", max_pooling=True),
        _pooling_build,
        defaults=_POOL_DEFAULTS,
        backward="max_pooling2d_back",
        backward_args=_POOL_BACK,
        grads=("u",),
    ),
    _window_op(
        "average_pooling2d",
        _POOL,
        _pooling_build,
        defaults=_POOL_DEFAULTS,
        backward="average_pooling2d_back",
        backward_args=_POOL_BACK,
        grads=("u",),
    ),
    _window_op(
        "flatten2d",
        hh.Shape(window="", padding="", strides=""),
        _flatten_build,
        backward="flatten2d_back",
        backward_args=("dz", "u", "z"),
        grads=("u",),
    ),
)


# --- the trainer's layers -----------------------------------------------------


@st.composite
def _data_shape(draw: st.DrawFn, corner: str, gradcheck: bool, min_batch: int = 1):
    """Dense ``(n, d)`` or NHWC ``(n, h, w, c)`` data."""
    n = hh.batch_size(draw, corner, 2 if gradcheck else 4, min_batch)
    if draw(st.booleans()):
        return (n, draw(st.integers(1, 6 if gradcheck else 12)))
    side = 3 if gradcheck else 5
    return (n, draw(st.integers(1, side)), draw(st.integers(1, side)), draw(st.integers(1, 3)))


def _data_tags(sample: Sample) -> set[str]:
    u = sample.arrays["u"]
    found = {"4-D input"} if u.ndim == 4 else set()
    if u.shape[0] == 0:
        found.add("empty batch")
    return found


# Parameters: values for the torch comparison (kinks where the integer and
# half-integer inputs of "kinks" land) and for finite differences (kinks off
# the grid of the tie-free values, which are multiples of 0.05 +- 0.01).
_KINKS = {"n": ([6.0, 2.0, 1.0], [6.025, 1.025]), "alpha": ([1.0, 0.5], [1.025, 0.525])}


def _kink_tags(kinks: Callable[[dict], tuple[float, ...]]) -> Callable[[Sample], set[str]]:
    def tags(sample: Sample) -> set[str]:
        found = _data_tags(sample)
        if np.isin(sample.arrays["u"], kinks(sample.params)).any():
            found.add("kinks")
        return found

    return tags


def _elementwise_samples(kinks: Callable[[dict], tuple[float, ...]] | None, **params: Any):
    """Samples for an activation; ``params`` maps a name to a strategy, or to
    ``"kink"`` for a threshold drawn from ``_KINKS``."""

    def samples(
        dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
    ) -> st.SearchStrategy[Sample]:
        @st.composite
        def draw_sample(draw: st.DrawFn) -> Sample:
            shape = draw(_data_shape(corner, gradcheck))
            seed = draw(hh.seeds())
            drawn = {}
            for name, strategy in params.items():
                if strategy == "kink":
                    strategy = st.sampled_from(_KINKS[name][1 if gradcheck else 0])
                drawn[name] = draw(strategy)
            kind = "kinks" if corner == "kinks" else "distinct" if gradcheck else "normal"
            rng = np.random.default_rng(seed)
            points = kinks(drawn) if kinks else ()
            u = hh.make_values(rng, shape, kind, points).astype(dtype)
            return Sample({"u": u}, drawn, f"seed={seed}, values={kind}", corner)

        return draw_sample()

    return samples


def _activation(name: str, kinks: Callable[[dict], tuple] | None = None, **params: Any) -> Op:
    return Op(
        name=name,
        forward=name,
        inputs=("u",),
        samples=_elementwise_samples(kinks, **params),
        reference=name,
        corners=("plain", "kinks", "empty batch") if kinks else ("plain", "empty batch"),
        tags=_kink_tags(kinks) if kinks else _data_tags,
        backward=f"{name}_back",
        backward_args=("dz", "u", "z"),
        grads=("u",),
    )


def _at_zero(params: dict) -> tuple[float, ...]:
    return (0.0,)


def _dense_samples(maxout: bool):
    def samples(
        dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
    ) -> st.SearchStrategy[Sample]:
        @st.composite
        def draw_sample(draw: st.DrawFn) -> Sample:
            top = 5 if gradcheck else 12
            n = hh.batch_size(draw, corner, 4)
            d_in, d = draw(st.integers(1, top)), draw(st.integers(1, top))
            if corner == "ties":
                unit = draw(st.integers(2, 3))
            else:
                unit = draw(st.integers(1, 3)) if maxout else 1
            seed = draw(hh.seeds())
            rng = np.random.default_rng(seed)
            shapes = {"u": (n, d_in), "W": (d_in, d * unit), "b": (d * unit,)}
            params = {"unit": unit} if maxout else {}
            if corner == "ties":
                # Small integers tie pieces exactly in both dtypes; all-zero rows
                # (the first, and others at random) with zero biases tie every
                # piece (zero biases are the default).
                zero_rows = rng.random((n, 1)) < 0.5
                zero_rows[0] = True
                u = rng.integers(-2, 3, size=shapes["u"]) * ~zero_rows
                arrays = {
                    "u": u.astype(dtype),
                    "W": rng.integers(-1, 2, size=shapes["W"]).astype(dtype),
                    "b": np.zeros(shapes["b"], dtype=dtype),
                }
                return Sample(arrays, params, f"seed={seed}, values=tied pieces", corner)
            kind = "distinct" if gradcheck else "normal"
            return Sample(
                _arrays(rng, shapes, kind, dtype), params, f"seed={seed}, values={kind}", corner
            )

        return draw_sample()

    return samples


def _maxout_tags(sample: Sample) -> set[str]:
    u, W, b = (sample.arrays[k] for k in ("u", "W", "b"))
    unit = sample.params.get("unit", 1)
    found = _data_tags(sample)
    if u.size and not u.any(axis=1).all():
        found.add("all-zero rows")
    pieces = (u.astype(np.float64) @ W + b).reshape(u.shape[0], W.shape[1] // unit, unit)
    if unit > 1 and ((pieces == pieces.max(axis=2, keepdims=True)).sum(axis=2) >= 2).any():
        found.add("ties")
    return found


def _prelu_samples(
    dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
) -> st.SearchStrategy[Sample]:
    @st.composite
    def draw_sample(draw: st.DrawFn) -> Sample:
        shape = draw(_data_shape(corner, gradcheck))
        seed = draw(hh.seeds())
        kind = "kinks" if corner == "kinks" else "distinct" if gradcheck else "normal"
        rng = np.random.default_rng(seed)
        u = hh.make_values(rng, shape, kind, (0.0,)).astype(dtype)
        alpha = rng.uniform(-0.5, 0.5, size=shape[-1]).astype(dtype)
        return Sample({"u": u, "alpha": alpha}, {}, f"seed={seed}, values={kind}", corner)

    return draw_sample()


def _dropout_samples(
    dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
) -> st.SearchStrategy[Sample]:
    @st.composite
    def draw_sample(draw: st.DrawFn) -> Sample:
        shape = draw(_data_shape(corner, gradcheck))
        ratio = draw(st.sampled_from([0.9, 0.5, 0.25, 1.0]))
        seed = draw(hh.seeds())
        kind = "distinct" if gradcheck else "normal"
        rng = np.random.default_rng(seed)
        u = hh.make_values(rng, shape, kind).astype(dtype)
        mask = rng.random(shape) < ratio
        params = {"dropout_ratio": ratio, "mask": mask}
        return Sample({"u": u}, params, f"seed={seed}, values={kind}", corner)

    return draw_sample()


def _batchnorm_samples(inference: bool):
    def samples(
        dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
    ) -> st.SearchStrategy[Sample]:
        @st.composite
        def draw_sample(draw: st.DrawFn) -> Sample:
            shape = draw(_data_shape(corner, gradcheck, min_batch=2))
            node = draw(st.booleans())
            seed = draw(hh.seeds())
            # normal values: a constant feature (var 0) makes torch and the
            # article divide by sqrt(eps), which float32 cannot compare
            kind = "distinct" if gradcheck else "normal"
            rng = np.random.default_rng(seed)
            stat = shape[1:] if node or len(shape) == 2 else shape[-1:]
            arrays = {
                "u": hh.make_values(rng, shape, kind).astype(dtype),
                "gamma": rng.uniform(0.5, 1.5, stat).astype(dtype),
                "beta": rng.standard_normal(stat).astype(dtype),
            }
            params: dict[str, Any] = {"batch_norm_node": node}
            if inference:
                params["mean"] = rng.standard_normal(stat).astype(dtype)
                params["var"] = rng.uniform(0.5, 2.0, stat).astype(dtype)
            return Sample(arrays, params, f"seed={seed}, values={kind}", corner)

        return draw_sample()

    return samples


def _classification_samples(soft_targets: bool):
    def samples(
        dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
    ) -> st.SearchStrategy[Sample]:
        @st.composite
        def draw_sample(draw: st.DrawFn) -> Sample:
            n, k = draw(st.integers(1, 4)), draw(st.integers(2, 6 if gradcheck else 10))
            seed = draw(hh.seeds())
            rng = np.random.default_rng(seed)
            u = (rng.standard_normal((n, k)) * draw(st.sampled_from([1.0, 5.0]))).astype(dtype)
            if soft_targets and draw(st.booleans()):
                t = rng.dirichlet(np.ones(k), size=n)
            elif soft_targets or draw(st.booleans()):
                t = np.eye(k)[rng.integers(0, k, n)]
            else:
                t = rng.standard_normal((n, k))
            return Sample({"u": u, "t": t.astype(dtype)}, {}, f"seed={seed}", corner)

        return draw_sample()

    return samples


def _softmax_cross_entropy(get: Getter, arrays: dict, params: dict) -> Any:
    return get("cross_entropy_error")(get("softmax")(arrays["u"]), arrays["t"])


def _softmax_cross_entropy_back(get: Getter, values: dict, params: dict) -> Any:
    return values["dz"] * get("output_error_back")(get("softmax")(values["u"]), values["t"])


def _squared_error(get: Getter, arrays: dict, params: dict) -> Any:
    return get("mean_squared_error")(arrays["u"], arrays["t"])


def _squared_error_back(get: Getter, values: dict, params: dict) -> Any:
    return values["dz"] * get("output_error_back")(values["u"], values["t"])


_SMALL = st.sampled_from([0.01, 0.2, 0.5])
_BATCH = ("plain", "empty batch")
TRAINER_OPS: tuple[Op, ...] = (
    Op(
        name="affine",
        forward="affine",
        inputs=("u", "W", "b"),
        samples=_dense_samples(False),
        reference="affine",
        corners=_BATCH,
        tags=_data_tags,
        backward="affine_back",
        backward_args=("dz", "u", "W", "b"),
        grads=("u", "W", "b"),
    ),
    Op(
        name="maxout",
        forward="maxout",
        inputs=("u", "W", "b"),
        samples=_dense_samples(True),
        reference="maxout",
        corners=("plain", "ties", "empty batch"),
        tags=_maxout_tags,
        backward="maxout_back",
        backward_args=("dz", "u", "z", "W", "b"),
        grads=("u", "W", "b"),
    ),
    _activation("sigmoid"),
    _activation("tanh"),
    _activation("relu", _at_zero),
    _activation("leaky_relu", _at_zero, alpha=_SMALL),
    _activation("relun", lambda params: (0.0, params["n"]), n="kink"),
    _activation("srelu", lambda params: (-params["alpha"],), alpha="kink"),
    _activation("elu", _at_zero, alpha=st.sampled_from([1.0, 0.5])),
    _activation(
        "rrelu", _at_zero, min=st.sampled_from([0.0, 0.1]), max=st.sampled_from([0.1, 0.3])
    ),
    replace(_activation("identity"), passthrough=True),
    _activation("softplus"),
    _activation("softsign"),
    _activation("step", _at_zero),
    Op(
        name="prelu",
        forward="prelu",
        inputs=("u", "alpha"),
        samples=_prelu_samples,
        reference="prelu",
        corners=("plain", "kinks", "empty batch"),
        tags=_kink_tags(_at_zero),
        backward="prelu_back",
        backward_args=("dz", "u", "z", "alpha"),
        grads=("u", "alpha"),
    ),
    Op(
        name="dropout",
        forward="dropout",
        inputs=("u",),
        samples=_dropout_samples,
        reference="dropout",
        corners=_BATCH,
        tags=_data_tags,
        backward="dropout_back",
        backward_args=("dz", "u", "z"),
        grads=("u",),
        notes="training mode with a given mask; F.dropout's masks: test_trainer.py",
    ),
    Op(
        name="batch_normalization",
        forward="batch_normalization",
        inputs=("u", "gamma", "beta"),
        samples=_batchnorm_samples(False),
        reference="batch_normalization",
        tags=_data_tags,
        backward="batch_normalization_back",
        backward_args=("dz", "u", "z", "gamma", "beta"),
        grads=("u", "gamma", "beta"),
        rtol=tol.override("batch_normalization"),
    ),
    Op(
        name="batch_normalization_inference",
        forward="batch_normalization",
        inputs=("u", "gamma", "beta"),
        samples=_batchnorm_samples(True),
        reference="batch_normalization",
        tags=_data_tags,
        rtol=tol.override("batch_normalization"),
    ),
    Op(
        name="softmax",
        forward="softmax",
        inputs=("u",),
        samples=_classification_samples(False),
        reference="softmax",
    ),
    Op(
        name="softmax_cross_entropy",
        forward="cross_entropy_error",
        inputs=("u", "t"),
        samples=_classification_samples(True),
        reference="softmax_cross_entropy",
        backward="output_error_back",
        grads=("u",),
        compose_forward=_softmax_cross_entropy,
        compose_backward=_softmax_cross_entropy_back,
        forward_source="cross_entropy_error(softmax(u), t)",
        backward_source="dz * output_error_back(softmax(u), t)",
        functions=("softmax", "cross_entropy_error", "output_error_back"),
    ),
    Op(
        name="mean_squared_error",
        forward="mean_squared_error",
        inputs=("u", "t"),
        samples=_classification_samples(False),
        reference="mean_squared_error",
        backward="output_error_back",
        grads=("u",),
        compose_forward=_squared_error,
        compose_backward=_squared_error_back,
        forward_source="mean_squared_error(u, t)",
        backward_source="dz * output_error_back(u, t)",
        functions=("mean_squared_error", "output_error_back"),
    ),
)

OPS = OPS + TRAINER_OPS
BY_NAME = {op.name: op for op in OPS}
# The article's layers (what the adapters make): their keyword defaults.
LAYERS = {op.name: op.defaults for op in OPS if op.shape is not None and not op.shape.tuples}
DIFFERENTIABLE = tuple(op for op in OPS if op.backward)
