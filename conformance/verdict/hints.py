"""What a failure looks like, when it looks like a known mistake (imported as
``hn``).

Each rule is a *mutant* of the article's semantics, written from one of the
planted bugs in ``tests/impls/broken``: what a layer computes when it makes
that mistake (the last of tied maxima, the padded zeros left out of the
divisor, a flipped filter, ...). A rule's line is shown (:func:`match`) when
the implementation differs from the article on the smallest failing example
and gives exactly the mutant's outputs there, on the other value patterns
of that shape and on the failing sample itself, and no other rule does as
well: never on a correct implementation (it must differ), never for a
mistake of another kind (its every output must be the mutant's).

The mutants are small loops over windows, in float64, run only in a failing
cell. They are not refcnn's code: a mistake in refcnn must not hide in the
rules as well (a test holds the loops without a mistake to refcnn).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from refcnn.i18n import N_

from ..expected import tolerances as tol
from ..inputs.corners import as_pair

Outputs = dict[str, np.ndarray]
# (op, arrays, params, dz) -> what the mistake may give: a list of outputs by
# name ("z", the gradients by input name); empty where it changes nothing
Mutant = Callable[[str, Mapping[str, np.ndarray], Mapping[str, Any], Any], list[Outputs]]


@dataclass(frozen=True)
class Rule:
    """One known mistake: ``name`` (what the JSON's ``failure.hint_rule``
    says), the ``ops`` and ``checks`` (forward, backward) it explains, the
    ``text`` shown (English: :func:`refcnn.i18n.tr` translates it where it
    is shown), the planted bugs it was written from, and its mutant."""

    name: str
    ops: tuple[str, ...]
    checks: tuple[str, ...]
    text: str
    planted: tuple[str, ...]
    mutant: Mutant


# --- the mutants' window loops ---------------------------------------------------------


def _pool_geometry(params: Mapping[str, Any], strides_default: Any = None):
    """Window, padding and strides; strides left out are the window's (the
    article's default) or a mistake's ``strides_default``."""
    window = as_pair(params.get("pool_size", 2))
    default = window if strides_default is None else strides_default
    strides = as_pair(default if params.get("strides") is None else params["strides"])
    return window, as_pair(params.get("padding") or 0), strides


def _out(size: int, pad: int, window: int, stride: int) -> int:
    return (size + 2 * pad - window) // stride + 1


def max_pool(
    u: np.ndarray,
    dz: np.ndarray | None,
    params: Mapping[str, Any],
    *,
    pad_value: float = 0.0,
    route: str = "first",
    assign: str = "",
    strides_default: Any = None,
    extend: bool = False,
) -> Outputs:
    """Max pooling on NHWC ``u``: ``z`` and, given ``dz``, ``u``'s gradient.
    ``route``: which tied maxima get a window's gradient (first, last, all,
    split); ``assign``: ``"window"`` writes each window's share over the
    window, ``"cell"`` over its routed cells (both instead of adding);
    ``extend``: the output size rounded up, over extra zeros."""
    (kh, kw), (ph, pw), (sh, sw) = _pool_geometry(params, strides_default)
    u = np.asarray(u, dtype=np.float64)
    n, h, w, c = u.shape
    pu = np.pad(u, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=pad_value)
    if extend:
        pu = _extend(pu, (kh, kw), (sh, sw))
    zh, zw = (pu.shape[1] - kh) // sh + 1, (pu.shape[2] - kw) // sw + 1
    z = np.zeros((n, zh, zw, c))
    dpu = np.zeros(pu.shape)
    for i in range(zh):
        for j in range(zw):
            rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
            flat = pu[:, rows, cols, :].reshape(n, kh * kw, c)
            z[:, i, j, :] = flat.max(axis=1) if flat.size else 0.0
            if dz is None or not flat.size:
                continue
            at_max = flat == flat.max(axis=1, keepdims=True)
            mask = _route(at_max, route)
            share = (mask * np.asarray(dz, dtype=np.float64)[:, i, j, None, :]).reshape(
                n, kh, kw, c
            )
            _scatter(dpu[:, rows, cols, :], share, mask.reshape(n, kh, kw, c) != 0, assign)
    out: Outputs = {"z": z}
    if dz is not None:
        out["u"] = dpu[:, ph : ph + h, pw : pw + w, :]
    return out


def _route(at_max: np.ndarray, route: str) -> np.ndarray:
    """Which cells of each flattened window (n, cells, c) get the gradient."""
    if route == "all":
        return at_max.astype(np.float64)
    if route == "split":
        return at_max / at_max.sum(axis=1, keepdims=True)
    order = at_max if route == "first" else at_max[:, ::-1, :]
    index = order.argmax(axis=1)
    if route == "last":
        index = at_max.shape[1] - 1 - index
    mask = np.zeros(at_max.shape)
    np.put_along_axis(mask, index[:, None, :], 1.0, axis=1)
    return mask


def _scatter(region: np.ndarray, share: np.ndarray, routed: np.ndarray, assign: str) -> None:
    if assign == "window":
        region[...] = share
    elif assign == "cell":
        region[routed] = share[routed]
    else:
        region += share


def _extend(pu: np.ndarray, window: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    """Zeros at the bottom and right, so that a last partial window fits."""
    extra_h = (-(pu.shape[1] - window[0])) % strides[0]
    extra_w = (-(pu.shape[2] - window[1])) % strides[1]
    return np.pad(pu, ((0, 0), (0, extra_h), (0, extra_w), (0, 0)))


def average_pool(
    u: np.ndarray,
    dz: np.ndarray | None,
    params: Mapping[str, Any],
    *,
    real_divisor: bool = False,
    assign: str = "",
    strides_default: Any = None,
) -> Outputs:
    """Average pooling; ``real_divisor``: each window divided by its real
    (not padded) cells only."""
    (kh, kw), (ph, pw), (sh, sw) = _pool_geometry(params, strides_default)
    u = np.asarray(u, dtype=np.float64)
    n, h, w, c = u.shape
    pu = np.pad(u, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    real = np.pad(np.ones((h, w)), ((ph, ph), (pw, pw)))
    zh, zw = _out(h, ph, kh, sh), _out(w, pw, kw, sw)
    z = np.zeros((n, zh, zw, c))
    dpu = np.zeros(pu.shape)
    for i in range(zh):
        for j in range(zw):
            rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
            divisor = real[rows, cols].sum() if real_divisor else kh * kw
            with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0, as the mistake gives
                z[:, i, j, :] = pu[:, rows, cols, :].sum(axis=(1, 2)) / divisor
            if dz is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    scaled = np.asarray(dz, dtype=np.float64)[:, i, j, None, None, :] / divisor
                share = np.broadcast_to(scaled, (n, kh, kw, c))
                _scatter(dpu[:, rows, cols, :], share, np.ones(share.shape, bool), assign)
    out: Outputs = {"z": z}
    if dz is not None:
        out["u"] = dpu[:, ph : ph + h, pw : pw + w, :]
    return out


def convolution(
    u: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    dz: np.ndarray | None,
    padding: Any = 0,
    strides: Any = 1,
    *,
    flip: bool = False,
    assign: str = "",
    extend: bool = False,
) -> Outputs:
    """The article's convolution (cross-correlation) on NHWC ``u`` with
    ``(fn, fh, fw, c)`` filters ``W``; ``flip``: the filter rotated by 180
    degrees (true convolution)."""
    (ph, pw), (sh, sw) = as_pair(padding or 0), as_pair(strides or 1)
    u, W, b = (np.asarray(a, dtype=np.float64) for a in (u, W, b))
    weights = W[:, ::-1, ::-1, :] if flip else W
    fn, kh, kw, _ = W.shape
    n, h, w = u.shape[:3]
    pu = np.pad(u, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    if extend:
        pu = _extend(pu, (kh, kw), (sh, sw))
    zh, zw = (pu.shape[1] - kh) // sh + 1, (pu.shape[2] - kw) // sw + 1
    if dz is not None:  # a backward walks dz's positions, whatever its mistake's geometry
        zh, zw = np.shape(dz)[1:3]
    z = np.zeros((n, zh, zw, fn))
    dpu, dweights = np.zeros(pu.shape), np.zeros(W.shape)
    for i in range(zh):
        for j in range(zw):
            rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
            window = pu[:, rows, cols, :]
            z[:, i, j, :] = np.tensordot(window, weights, axes=([1, 2, 3], [1, 2, 3])) + b
            if dz is not None:
                g = np.asarray(dz, dtype=np.float64)[:, i, j, :]
                share = np.tensordot(g, weights, axes=(1, 0))
                _scatter(dpu[:, rows, cols, :], share, np.ones(share.shape, bool), assign)
                dweights += np.tensordot(g, window, axes=(0, 0))
    out: Outputs = {"z": z}
    if dz is not None:
        out["u"] = dpu[:, ph : ph + h, pw : pw + w, :]
        out["W"] = dweights[:, ::-1, ::-1, :] if flip else dweights
        out["b"] = np.asarray(dz, dtype=np.float64).sum(axis=(0, 1, 2))
    return out


# --- the rules -----------------------------------------------------------------------


STEPS = ("conv", "convp", "convps", "convpsc", "convpscf", "convpscfu")


def _step(op: str, arrays: Mapping[str, np.ndarray], params, **options: Any) -> Outputs:
    """The article's step-by-step convolutions (2-D, 3-D or 4-D ``u`` and
    ``f``, no bias, ``p`` and ``s``) through the layer's loops."""
    u, f = np.asarray(arrays["u"]), np.asarray(arrays["f"])
    u4 = u if u.ndim == 4 else u.reshape(1, *u.shape[:2], u.shape[2] if u.ndim == 3 else 1)
    f4 = f if f.ndim == 4 else f.reshape(1, *f.shape[:2], f.shape[2] if f.ndim == 3 else 1)
    z = convolution(
        u4, f4, np.zeros(f4.shape[0]), None, params.get("p", 0), params.get("s", 1), **options
    )["z"]
    if u.ndim == 4:
        return {"z": z}
    return {"z": z[0] if f.ndim == 4 else z[0, :, :, 0]}


def maxout(
    u: np.ndarray, W: np.ndarray, b: np.ndarray, dz: Any, unit: int = 1, *, route: str = "first"
) -> Outputs:
    """Maxout: ``d`` outputs of ``unit`` affine pieces each (``W``'s column
    ``j * unit + k`` is piece ``k`` of output ``j``); ``dz`` flows through
    the ``route``d maximal piece."""
    u, W, b = (np.asarray(a, dtype=np.float64) for a in (u, W, b))
    n = u.shape[0]
    pieces = (u @ W + b).reshape(n, W.shape[1] // unit, unit)
    out: Outputs = {"z": pieces.max(axis=2) if pieces.size else np.zeros(pieces.shape[:2])}
    if dz is not None:
        at_max = (pieces == pieces.max(axis=2, keepdims=True)).transpose(0, 2, 1)
        mask = _route(at_max, route).transpose(0, 2, 1)  # _route takes (n, cells, outputs)
        routed = (mask * np.asarray(dz, dtype=np.float64)[..., None]).reshape(n, W.shape[1])
        out.update(u=routed @ W.T, W=u.T @ routed, b=routed.sum(axis=0))
    return out


def _layer(op: str, arrays: Mapping[str, np.ndarray], params, dz, **options: Any) -> Outputs:
    """The article's layer ``op`` with a mistake's ``options``."""
    if op == "maxout":
        return maxout(arrays["u"], arrays["W"], arrays["b"], dz, params.get("unit", 1), **options)
    if op in STEPS:
        return _step(op, arrays, params, **options)
    if op == "convolution2d":
        return convolution(
            arrays["u"], arrays["W"], arrays["b"], dz,
            params.get("padding", 0), params.get("strides", 1), **options,
        )  # fmt: skip
    pool = max_pool if op == "max_pooling2d" else average_pool
    return pool(arrays["u"], dz, params, **options)


def _with(**options: Any) -> Mutant:
    def mutant(op, arrays, params, dz):
        return [_layer(op, arrays, params, dz, **options)]

    return mutant


def _overlap_assigned(op, arrays, params, dz):
    """Each window's share written over the window, or over its routed cells."""
    cells = [_layer(op, arrays, params, dz, assign="cell")] if op == "max_pooling2d" else []
    return [_layer(op, arrays, params, dz, assign="window"), *cells]


def _strides_default_1(op, arrays, params, dz):
    if params.get("strides") is not None:
        return []
    return [_layer(op, arrays, params, dz, strides_default=1)]


def _swapped_tuples(op, arrays, params, dz):
    def swap(value):
        return (value[1], value[0]) if isinstance(value, tuple) else value

    names = ("padding", "strides", "p", "s")
    swapped = {**params, **{k: swap(params[k]) for k in names if k in params}}
    return [] if swapped == params else [_layer(op, arrays, swapped, dz)]


def _kernel_height_for_width(op, arrays, params, dz):
    """The right values, in an output as wide as the kernel's height says."""
    right = _layer(op, arrays, params, None)["z"]
    _, kh, kw, _ = np.shape(arrays["W"])
    (_, pw), (_, sw) = as_pair(params.get("padding", 0)), as_pair(params.get("strides", 1))
    width = _out(np.shape(arrays["u"])[2], pw, kh, sw)
    if kh == kw or width < 0:
        return []
    z = right[:, :, :width, :]
    return [{"z": np.pad(z, ((0, 0), (0, 0), (0, width - z.shape[2]), (0, 0)))}]


def _bias_averaged(op, arrays, params, dz):
    out = _layer(op, arrays, params, dz)
    if dz is not None:
        out["b"] = out["b"] / max(int(np.prod(np.shape(dz)[:3])), 1)
    return [out]


def _channel_first(op, arrays, params, dz):
    u = np.asarray(arrays["u"], dtype=np.float64)
    n, h, w, c = u.shape
    out = {"z": u.transpose(0, 3, 1, 2).reshape(n, c * h * w)}
    if dz is not None:
        grad = np.asarray(dz, dtype=np.float64).reshape(n, c, h, w).transpose(0, 2, 3, 1)
        out["u"] = grad
    return [out]


POOLS = ("max_pooling2d", "average_pooling2d")
BOTH = ("forward", "backward")
RULES: tuple[Rule, ...] = (
    Rule(
        name="overlap assigned",
        ops=("convolution2d", *POOLS),
        checks=("backward",),
        text=N_(
            "the gradient reached only one of two overlapping windows: each window's share "
            "was assigned (=) to the input's gradient, not added (+=), so a later window "
            "overwrote an earlier one where they overlap"
        ),
        planted=("du_assigned_not_accumulated", "cache_functions_max_pool_assigned"),
        mutant=_overlap_assigned,
    ),
    Rule(
        name="last tie",
        ops=("max_pooling2d", "maxout"),
        checks=("backward",),
        text=N_(
            "the gradient went to the last of tied maxima; the article sends it to the "
            "first maximum (of a pooling window row by row, left to right; of maxout's pieces)"
        ),
        planted=("max_pool_last_tie", "maxout_last_tie"),
        mutant=_with(route="last"),
    ),
    Rule(
        name="all ties",
        ops=("max_pooling2d",),
        checks=("backward",),
        text=N_(
            "the gradient went to every tied maximum of a window (a mask window == max); "
            "the article sends it to the first maximum only"
        ),
        planted=("cache_functions_max_pool_all_ties",),
        mutant=_with(route="all"),
    ),
    Rule(
        name="split ties",
        ops=("max_pooling2d",),
        checks=("backward",),
        text=N_(
            "the gradient was split among tied maxima; the article sends all of it to the "
            "first maximum of the window"
        ),
        planted=("max_pool_split_ties",),
        mutant=_with(route="split"),
    ),
    Rule(
        name="-inf padding",
        ops=("max_pooling2d",),
        checks=BOTH,
        text=N_(
            "the padding was taken as -inf (as torch's max_pool2d does), not as zeros: where "
            "a window's real values are all negative, the article's maximum is a padded 0"
        ),
        planted=("max_pool_minus_inf_padding",),
        mutant=_with(pad_value=-np.inf),
    ),
    Rule(
        name="padding left out of the divisor",
        ops=("average_pooling2d",),
        checks=BOTH,
        text=N_(
            "the padded zeros were left out of the divisor (torch's count_include_pad=False); "
            "the article divides every window by its whole size, padded cells included"
        ),
        planted=("avg_pool_excludes_padding", "param_dicts_avg_pool_excludes_padding"),
        mutant=_with(real_divisor=True),
    ),
    Rule(
        name="strides default to 1",
        ops=POOLS,
        checks=BOTH,
        text=N_(
            "with strides left out, the windows moved by 1; the article's pooling strides "
            "default to the pool size"
        ),
        planted=("pool_stride_defaults_to_1",),
        mutant=_strides_default_1,
    ),
    Rule(
        name="flipped filter",
        ops=("convolution2d", *STEPS),
        checks=BOTH,
        text=N_(
            "the filter was flipped (rotated by 180 degrees): that is the convolution of "
            "signal processing; the article's (like torch's conv2d) slides the filter unflipped"
        ),
        planted=("flipped_filter",),
        mutant=_with(flip=True),
    ),
    Rule(
        name="kernel height for width",
        ops=("convolution2d",),
        checks=("forward",),
        text=N_(
            "the output's width was computed from the kernel's height: a filter (fn, fh, fw, "
            "c) gives (w + 2 pw - fw) // sw + 1 columns"
        ),
        planted=("layer_classes_kernel_height_as_width",),
        mutant=_kernel_height_for_width,
    ),
    Rule(
        name="swapped tuples",
        ops=("convolution2d", *STEPS),
        checks=BOTH,
        text=N_(
            "the (height, width) of a tuple parameter were swapped: padding=(ph, pw) and "
            "strides=(sh, sw) give the height first"
        ),
        planted=("swapped_hw_tuples",),
        mutant=_swapped_tuples,
    ),
    Rule(
        name="output size rounded up",
        ops=("convolution2d", "max_pooling2d", *STEPS),
        checks=("forward",),
        text=N_(
            "the output size was rounded up (torch's ceil_mode=True): the article's is "
            "(h + 2p - k) // s + 1, rounded down, so a last partial window is dropped"
        ),
        planted=("output_size_ceil",),
        mutant=_with(extend=True),
    ),
    Rule(
        name="bias gradient averaged",
        ops=("convolution2d",),
        checks=("backward",),
        text=N_(
            "db was averaged over the batch and the output positions; the article sums dz over them"
        ),
        planted=("bias_gradient_averaged",),
        mutant=_bias_averaged,
    ),
    Rule(
        name="flattened channel first",
        ops=("flatten2d",),
        checks=BOTH,
        text=N_(
            "flattened in (c, h, w) order (NCHW, as torch's flatten of an NCHW tensor); the "
            "article flattens each sample's (h, w, c), the channel fastest"
        ),
        planted=("flatten_channel_first",),
        mutant=_channel_first,
    ),
)


def _same(got: Any, want: Any) -> bool:
    """Equal shapes and values (see ``tol.EXPLAIN_RTOL``)."""
    if want is None or got is None:
        return got is None and want is None
    if np.iscomplexobj(got) or np.iscomplexobj(want):
        return False  # complex values are no known mistake's real ones
    try:
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == want.shape and not tol.differing(got, want).any()


@dataclass
class Case:
    """One example the implementation was run on: inputs, parameters, dz
    (backward), the article's outputs and the implementation's, by name
    (``z``, or the gradients by input name)."""

    arrays: Mapping[str, np.ndarray]
    params: Mapping[str, Any]
    dz: Any
    expected: Mapping[str, Any]
    got: Mapping[str, Any]


def _gives(rule: Rule, op: str, check: str, case: Case) -> bool:
    """Whether the rule's mistake gives what the implementation gave."""
    names = [k for k, v in case.expected.items() if v is not None]
    try:
        candidates = rule.mutant(
            op, case.arrays, case.params, case.dz if check == "backward" else None
        )
    except Exception:  # a mistake that cannot be made on these shapes
        return False
    candidates = candidates or [case.expected]  # the mistake changes nothing here
    return any(all(_same(case.got.get(k), out.get(k)) for k in names) for out in candidates)


def match(op: str, check: str, cases: list[Case]) -> Rule | None:
    """The rule whose mistake explains the implementation: on the first
    case, where it differs from the article, its outputs are the mistake's,
    and so are they on every other case (passing or failing); None when no
    rule, or more than one, does."""
    if not cases:
        return None
    first = cases[0]
    names = [k for k, v in first.expected.items() if v is not None]
    if not names or all(_same(first.got.get(k), first.expected[k]) for k in names):
        return None  # nothing differs: nothing to explain
    fitting = [
        rule
        for rule in RULES
        if op in rule.ops
        and check in rule.checks
        and all(_gives(rule, op, check, case) for case in cases)
    ]
    return fitting[0] if len(fitting) == 1 else None
