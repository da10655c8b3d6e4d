"""How the op table's entries draw their samples, and what they tag in them
(imported as ``sm``).

Ops with window geometry draw it corner by corner (``strategies.geometry``);
a *build* function turns a geometry into array shapes and parameters; the
values come from the corner's value kind. The trainer's layers draw dense or
NHWC data with their own parameters. Each family's *tags* say what a sample
holds, for the coverage report and to keep declared-unsupported factors out
of ``mixed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from . import strategies as hh
from .strategies import Sample


def layer_arrays(rng: np.random.Generator, shapes: dict[str, tuple], kind: str, dtype: str):
    """The data ``u`` gets the corner's value kind; weights and biases are
    normal, or distinct when the data is (no ties anywhere)."""
    distinct = kind in ("distinct", "negative distinct")
    return {
        name: hh.make_values(
            rng, shape, kind if name == "u" else "distinct" if distinct else "normal"
        ).astype(dtype)
        for name, shape in shapes.items()
    }


def geometry_samples(
    shape: hh.Shape, build: Callable[[dict], tuple[dict, dict]], du_flag: bool = False
):
    """Samples of an op with window geometry: ``build(g)`` gives the array
    shapes and the parameters of geometry ``g``; ``du_flag``: under
    ``mixed``, one sample in five has ``calc_du_flag=False``."""

    def samples(
        dtype: str, corner: str = "mixed", gradcheck: bool = False, exclude=frozenset()
    ) -> st.SearchStrategy[Sample]:
        return _geometry_sample(shape, build, du_flag, dtype, corner, gradcheck, exclude)

    return samples


# The composites take their settings as arguments, at module level: decorated
# once, not once per strategy made (hypothesis parses a composite's source
# when it is decorated, 1.4 ms, 264 times in a grade's run of pooling).
@st.composite
def _geometry_sample(
    draw: st.DrawFn, shape: hh.Shape, build: Callable, du_flag: bool, dtype: str, corner: str,
    gradcheck: bool, exclude: frozenset,
) -> Sample:  # fmt: skip
    limits = hh.GRADCHECK_LIMITS if gradcheck else hh.LIMITS
    g = draw(hh.geometry(shape, corner, limits, exclude))
    seed, kind = draw(hh.seeds()), draw(hh.value_kind(corner, gradcheck))
    shapes, params = build(g)
    if corner == "mixed" and du_flag and draw(st.integers(0, 4)) == 0:
        params["calc_du_flag"] = False  # backward only: du is skipped
    arrays = layer_arrays(np.random.default_rng(seed), shapes, kind, dtype)
    if corner == "ties":
        tie_first_window(arrays["u"], hh.as_pair(g["kernel"]))
    return Sample(arrays, params, f"seed={seed}, values={kind}", corner)


def tie_first_window(u: np.ndarray, window: tuple[int, int]) -> None:
    """Make sure the corner has a tie: in the first window (no padding in
    "ties") of every image and channel, the maximum appears twice."""
    kh, kw = window
    first = u[:, :kh, :kw, :].reshape(u.shape[0], kh * kw, u.shape[3])
    top = first.argmax(axis=1)  # (n, c)
    other = (top + 1) % (kh * kw)  # another cell of the window
    np.put_along_axis(first, other[:, None, :], first.max(axis=1)[:, None, :], axis=1)
    u[:, :kh, :kw, :] = first.reshape(u.shape[0], kh, kw, u.shape[3])


def given_params(g: dict, names: dict[str, str]) -> dict[str, Any]:
    """The parameters that are not left at their defaults."""
    return {name: g[key] for key, name in names.items() if name and g[key] is not None}


def convolution2d_build(g: dict) -> tuple[dict, dict]:
    kh, kw = hh.as_pair(g["kernel"])
    shapes = {
        "u": (g["n"], g["h"], g["w"], g["c"]),
        "W": (g["fn"], kh, kw, g["c"]),
        "b": (g["fn"],),
    }
    return shapes, given_params(g, {"padding": "padding", "strides": "strides"})


def pooling_build(g: dict) -> tuple[dict, dict]:
    params = {
        "pool_size": g["kernel"],
        **given_params(g, {"padding": "padding", "strides": "strides"}),
    }
    return {"u": (g["n"], g["h"], g["w"], g["c"])}, params


def flatten_build(g: dict) -> tuple[dict, dict]:
    return {"u": (g["n"], g["h"], g["w"], g["c"])}, {}


def geometry_of(shape: hh.Shape, sample: Sample) -> dict[str, Any]:
    """The geometry (as ``hh.geometry`` draws it) of a sample of an op with
    window geometry: the inverse of its build function. Parameters keep
    their form (int or tuple; None where left at the default)."""
    u, params = sample.arrays["u"], sample.params
    f = sample.arrays.get("f", sample.arrays.get("W"))
    h, w = u.shape[-3:-1] if u.ndim >= 3 else u.shape
    if shape.window == "pool":
        kernel = params["pool_size"]
    elif shape.window and f is not None:
        kernel = tuple(f.shape[-3:-1] if f.ndim >= 3 else f.shape)
    else:
        kernel = 1
    return {
        "n": u.shape[0] if shape.batch else 1,
        "h": h,
        "w": w,
        "c": u.shape[-1] if shape.channels else 1,
        "fn": f.shape[0] if shape.filters and f is not None else 1,
        "kernel": kernel,
        "padding": params.get(shape.padding) if shape.padding else None,
        "strides": params.get(shape.strides) if shape.strides else None,
    }


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


def window_tags(shape: hh.Shape) -> Callable[[Sample], set[str]]:
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


@st.composite
def data_shape(draw: st.DrawFn, corner: str, gradcheck: bool, min_batch: int = 1):
    """Dense ``(n, d)`` or NHWC ``(n, h, w, c)`` data."""
    n = hh.batch_size(draw, corner, 2 if gradcheck else 4, min_batch)
    if draw(st.booleans()):
        return (n, draw(st.integers(1, 6 if gradcheck else 12)))
    side = 3 if gradcheck else 5
    return (n, draw(st.integers(1, side)), draw(st.integers(1, side)), draw(st.integers(1, 3)))


def data_tags(sample: Sample) -> set[str]:
    u = sample.arrays["u"]
    found = {"4-D input"} if u.ndim == 4 else set()
    if u.shape[0] == 0:
        found.add("empty batch")
    return found


# Parameters: values for the torch comparison (kinks where the integer and
# half-integer inputs of "kinks" land) and for finite differences (kinks off
# the grid of the tie-free values, which are multiples of 0.05 +- 0.01).
KINKS = {"n": ([6.0, 2.0, 1.0], [6.025, 1.025]), "alpha": ([1.0, 0.5], [1.025, 0.525])}


def kink_tags(kinks: Callable[[dict], tuple[float, ...]]) -> Callable[[Sample], set[str]]:
    def tags(sample: Sample) -> set[str]:
        found = data_tags(sample)
        if np.isin(sample.arrays["u"], kinks(sample.params)).any():
            found.add("kinks")
        return found

    return tags


def elementwise_samples(kinks: Callable[[dict], tuple[float, ...]] | None, **params: Any):
    """Samples for an activation; ``params`` maps a name to a strategy, or to
    ``"kink"`` for a threshold drawn from ``KINKS``."""

    def samples(
        dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
    ) -> st.SearchStrategy[Sample]:
        return _elementwise_sample(kinks, params, dtype, corner, gradcheck)

    return samples


@st.composite
def _elementwise_sample(
    draw: st.DrawFn, kinks: Callable | None, params: dict, dtype: str, corner: str, gradcheck: bool
) -> Sample:
    shape = draw(data_shape(corner, gradcheck))
    seed = draw(hh.seeds())
    drawn = {}
    for name, strategy in params.items():
        if strategy == "kink":
            strategy = st.sampled_from(KINKS[name][1 if gradcheck else 0])
        drawn[name] = draw(strategy)
    kind = "kinks" if corner == "kinks" else "distinct" if gradcheck else "normal"
    rng = np.random.default_rng(seed)
    points = kinks(drawn) if kinks else ()
    u = hh.make_values(rng, shape, kind, points).astype(dtype)
    return Sample({"u": u}, drawn, f"seed={seed}, values={kind}", corner)


def at_zero(params: dict) -> tuple[float, ...]:
    return (0.0,)


def dense_samples(maxout: bool):
    def samples(
        dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
    ) -> st.SearchStrategy[Sample]:
        return _dense_sample(maxout, dtype, corner, gradcheck)

    return samples


@st.composite
def _dense_sample(
    draw: st.DrawFn, maxout: bool, dtype: str, corner: str, gradcheck: bool
) -> Sample:
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
        layer_arrays(rng, shapes, kind, dtype),
        params,
        f"seed={seed}, values={kind}",
        corner,
    )


def maxout_tags(sample: Sample) -> set[str]:
    u, W, b = (sample.arrays[k] for k in ("u", "W", "b"))
    unit = sample.params.get("unit", 1)
    found = data_tags(sample)
    if u.size and not u.any(axis=1).all():
        found.add("all-zero rows")
    pieces = (u.astype(np.float64) @ W + b).reshape(u.shape[0], W.shape[1] // unit, unit)
    if unit > 1 and ((pieces == pieces.max(axis=2, keepdims=True)).sum(axis=2) >= 2).any():
        found.add("ties")
    return found


def prelu_samples(
    dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
) -> st.SearchStrategy[Sample]:
    return _prelu_sample(dtype, corner, gradcheck)


@st.composite
def _prelu_sample(draw: st.DrawFn, dtype: str, corner: str, gradcheck: bool) -> Sample:
    shape = draw(data_shape(corner, gradcheck))
    seed = draw(hh.seeds())
    kind = "kinks" if corner == "kinks" else "distinct" if gradcheck else "normal"
    rng = np.random.default_rng(seed)
    u = hh.make_values(rng, shape, kind, (0.0,)).astype(dtype)
    alpha = rng.uniform(-0.5, 0.5, size=shape[-1]).astype(dtype)
    return Sample({"u": u, "alpha": alpha}, {}, f"seed={seed}, values={kind}", corner)


def dropout_samples(
    dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
) -> st.SearchStrategy[Sample]:
    return _dropout_sample(dtype, corner, gradcheck)


@st.composite
def _dropout_sample(draw: st.DrawFn, dtype: str, corner: str, gradcheck: bool) -> Sample:
    shape = draw(data_shape(corner, gradcheck))
    ratio = draw(st.sampled_from([0.9, 0.5, 0.25, 1.0]))
    seed = draw(hh.seeds())
    kind = "distinct" if gradcheck else "normal"
    rng = np.random.default_rng(seed)
    u = hh.make_values(rng, shape, kind).astype(dtype)
    mask = rng.random(shape) < ratio
    params = {"dropout_ratio": ratio, "mask": mask}
    return Sample({"u": u}, params, f"seed={seed}, values={kind}", corner)


def batchnorm_samples(inference: bool):
    def samples(
        dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
    ) -> st.SearchStrategy[Sample]:
        return _batchnorm_sample(inference, dtype, corner, gradcheck)

    return samples


@st.composite
def _batchnorm_sample(
    draw: st.DrawFn, inference: bool, dtype: str, corner: str, gradcheck: bool
) -> Sample:
    shape = draw(data_shape(corner, gradcheck, min_batch=2))
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


def classification_samples(soft_targets: bool):
    def samples(
        dtype: str, corner: str = "plain", gradcheck: bool = False, exclude=frozenset()
    ) -> st.SearchStrategy[Sample]:
        return _classification_sample(soft_targets, dtype, corner, gradcheck)

    return samples


@st.composite
def _classification_sample(
    draw: st.DrawFn, soft_targets: bool, dtype: str, corner: str, gradcheck: bool
) -> Sample:
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
