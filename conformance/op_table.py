"""The op table: one declarative entry per function of the article API.

An entry says how to call the implementation's forward (and backward), how
to draw inputs, which function of :mod:`conformance.torch_reference` computes
the same thing with torch, and any tolerance override. The tests in this
folder are generic over the table: adding an op is adding an entry.

Calling conventions (the article's):

* forward: ``impl.<forward>(*inputs, **params)``;
* backward: ``impl.<backward>(*backward_args, **params)`` where each name in
  ``backward_args`` is ``"dz"`` (gradient of the output), ``"z"`` (the
  forward output) or one of ``inputs``; it returns the gradients named in
  ``grads``, in that order (a bare array when there is one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from . import strategies as hh
from .strategies import Sample

Getter = Callable[[str], Callable]


@dataclass(frozen=True)
class Op:
    """One op. ``compose_forward``/``compose_backward`` replace the plain
    calling convention for ops made of several functions (``get`` returns the
    implementation's function of a name, or skips the test as not provided);
    ``forward_source``/``backward_source`` are then the call in the
    reproduction snippet."""

    name: str
    forward: str
    inputs: tuple[str, ...]
    samples: Callable[..., st.SearchStrategy[Sample]]
    reference: str  # function name in conformance.torch_reference
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

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Op({self.name!r})"

    @property
    def imports(self) -> tuple[str, ...]:
        return self.functions or tuple(f for f in (self.forward, self.backward) if f)

    def call_forward(self, get: Getter, arrays: dict, params: dict) -> Any:
        if self.compose_forward is not None:
            return self.compose_forward(get, arrays, params)
        return get(self.forward)(*(arrays[name] for name in self.inputs), **params)

    def call_backward(self, get: Getter, values: dict, params: dict) -> dict[str, Any]:
        """``values`` holds the inputs, ``z`` and ``dz``; returns the
        gradients by input name. AssertionError if the count is wrong."""
        if self.compose_backward is not None:
            result = self.compose_backward(get, values, params)
        else:
            result = get(self.backward)(*(values[name] for name in self.backward_args), **params)
        if len(self.grads) == 1 and not isinstance(result, tuple):
            result = (result,)
        if not isinstance(result, tuple) or len(result) != len(self.grads):
            raise AssertionError(
                f"{self.backward} must return {len(self.grads)} gradients "
                f"({', '.join('d' + g for g in self.grads)}), got {type(result).__name__}"
            )
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


# --- sample builders -------------------------------------------------------


def _arrays(rng: np.random.Generator, shapes: dict[str, tuple], kind: str, dtype: str):
    """The data ``u`` gets the drawn value kind; weights and biases are normal
    (they need no ties), except that tie-free samples are distinct throughout."""
    return {
        name: hh.make_values(
            rng, shape, kind if name == "u" or kind == "distinct" else "normal"
        ).astype(dtype)
        for name, shape in shapes.items()
    }


def _step_samples(u_dims: int, f_dims: int, with_p: bool, with_s: bool):
    """Samples for conv ... convpscfu: the article passes p and s as tuples."""

    def samples(dtype: str, gradcheck: bool = False) -> st.SearchStrategy[Sample]:
        @st.composite
        def draw_sample(draw: st.DrawFn) -> Sample:
            g = draw(
                hh.geometry(
                    max_batch=4 if u_dims == 4 else 0,
                    max_channels=4 if u_dims >= 3 else 1,
                    max_padding=3 if with_p else 0,
                    max_stride=3 if with_s else 1,
                )
            )
            fn = draw(st.integers(1, 4)) if f_dims == 4 else 1
            n = g["n"]
            kh, kw = hh.as_pair(g["kernel"])
            u_shape = {
                2: (g["h"], g["w"]),
                3: (g["h"], g["w"], g["c"]),
                4: (n, g["h"], g["w"], g["c"]),
            }[u_dims]
            f_shape = {2: (kh, kw), 3: (kh, kw, g["c"]), 4: (fn, kh, kw, g["c"])}[f_dims]
            seed, kind = draw(hh.seeds()), draw(hh.value_kinds(tie_free=gradcheck))
            rng = np.random.default_rng(seed)
            params = {}
            if with_p:
                params["p"] = hh.as_pair(g["padding"])
            if with_s:
                params["s"] = hh.as_pair(g["strides"])
            return Sample(
                _arrays(rng, {"u": u_shape, "f": f_shape}, kind, dtype),
                params,
                f"seed={seed}, values={kind}",
            )

        return draw_sample()

    return samples


def _convolution2d_samples(dtype: str, gradcheck: bool = False) -> st.SearchStrategy[Sample]:
    @st.composite
    def draw_sample(draw: st.DrawFn) -> Sample:
        g = draw(hh.geometry(**(hh.GRADCHECK_LIMITS if gradcheck else {})))
        fn = draw(st.integers(1, 4))
        kh, kw = hh.as_pair(g["kernel"])
        seed, kind = draw(hh.seeds()), draw(hh.value_kinds(tie_free=gradcheck))
        rng = np.random.default_rng(seed)
        shapes = {"u": (g["n"], g["h"], g["w"], g["c"]), "W": (fn, kh, kw, g["c"]), "b": (fn,)}
        params = {"padding": g["padding"], "strides": g["strides"]}
        if draw(st.integers(0, 4)) == 0:
            params["calc_du_flag"] = False  # backward only: du is skipped
        return Sample(_arrays(rng, shapes, kind, dtype), params, f"seed={seed}, values={kind}")

    return draw_sample()


def _pooling_samples(dtype: str, gradcheck: bool = False) -> st.SearchStrategy[Sample]:
    @st.composite
    def draw_sample(draw: st.DrawFn) -> Sample:
        g = draw(hh.geometry(**(hh.GRADCHECK_LIMITS if gradcheck else {})))
        seed, kind = draw(hh.seeds()), draw(hh.value_kinds(tie_free=gradcheck))
        rng = np.random.default_rng(seed)
        strides = draw(st.one_of(st.none(), st.just(g["strides"])))
        params = {"pool_size": g["kernel"], "padding": g["padding"], "strides": strides}
        u = (g["n"], g["h"], g["w"], g["c"])
        return Sample(_arrays(rng, {"u": u}, kind, dtype), params, f"seed={seed}, values={kind}")

    return draw_sample()


def _flatten_samples(dtype: str, gradcheck: bool = False) -> st.SearchStrategy[Sample]:
    @st.composite
    def draw_sample(draw: st.DrawFn) -> Sample:
        g = draw(hh.geometry(**(hh.GRADCHECK_LIMITS if gradcheck else {})))
        seed, kind = draw(hh.seeds()), draw(hh.value_kinds(tie_free=gradcheck))
        rng = np.random.default_rng(seed)
        u = (g["n"], g["h"], g["w"], g["c"])
        return Sample(_arrays(rng, {"u": u}, kind, dtype), {}, f"seed={seed}, values={kind}")

    return draw_sample()


# --- the table ------------------------------------------------------------

_POOL_BACK = ("dz", "u", "z")

OPS: tuple[Op, ...] = (
    Op("conv", "conv", ("u", "f"), _step_samples(2, 2, False, False), "conv"),
    Op("convp", "convp", ("u", "f"), _step_samples(2, 2, True, False), "convp"),
    Op("convps", "convps", ("u", "f"), _step_samples(2, 2, True, True), "convps"),
    Op("convpsc", "convpsc", ("u", "f"), _step_samples(3, 3, True, True), "convpsc"),
    Op("convpscf", "convpscf", ("u", "f"), _step_samples(3, 4, True, True), "convpscf"),
    Op("convpscfu", "convpscfu", ("u", "f"), _step_samples(4, 4, True, True), "convpscfu"),
    Op(
        "convolution2d",
        "convolution2d",
        ("u", "W", "b"),
        _convolution2d_samples,
        "convolution2d",
        backward="convolution2d_back",
        backward_args=("dz", "u", "W", "b"),
        grads=("u", "W", "b"),
        backward_params=("calc_du_flag",),
    ),
    Op(
        "max_pooling2d",
        "max_pooling2d",
        ("u",),
        _pooling_samples,
        "max_pooling2d",
        backward="max_pooling2d_back",
        backward_args=_POOL_BACK,
        grads=("u",),
    ),
    Op(
        "average_pooling2d",
        "average_pooling2d",
        ("u",),
        _pooling_samples,
        "average_pooling2d",
        backward="average_pooling2d_back",
        backward_args=_POOL_BACK,
        grads=("u",),
    ),
    Op(
        "flatten2d",
        "flatten2d",
        ("u",),
        _flatten_samples,
        "flatten2d",
        backward="flatten2d_back",
        backward_args=("dz", "u", "z"),
        grads=("u",),
    ),
)


def forward_params(op: Op, sample: Sample) -> dict[str, Any]:
    return {k: v for k, v in sample.params.items() if k not in op.backward_params}


# --- the trainer's layers -----------------------------------------------------


@st.composite
def _data_shape(draw: st.DrawFn, gradcheck: bool, min_batch: int = 0) -> tuple[int, ...]:
    """Dense ``(n, d)`` or NHWC ``(n, h, w, c)`` data."""
    n = draw(st.integers(min_batch, 2 if gradcheck else 4))
    if draw(st.booleans()):
        return (n, draw(st.integers(1, 6 if gradcheck else 12)))
    side = 3 if gradcheck else 5
    return (n, draw(st.integers(1, side)), draw(st.integers(1, side)), draw(st.integers(1, 3)))


# Parameters: values for the torch comparison (kinks at integers, where the
# tied integer inputs land) and for finite differences (kinks off the grid of
# the tie-free values, which are multiples of 0.05 +- 0.01).
_KINKS = {"n": ([6.0, 2.0, 1.0], [6.025, 1.025]), "alpha": ([1.0, 0.5], [1.025, 0.525])}


def _elementwise_samples(**params: Any):
    """Samples for an activation; ``params`` maps a name to a strategy, or to
    ``"kink"`` for a threshold drawn from ``_KINKS``."""

    def samples(dtype: str, gradcheck: bool = False) -> st.SearchStrategy[Sample]:
        @st.composite
        def draw_sample(draw: st.DrawFn) -> Sample:
            shape = draw(_data_shape(gradcheck))
            seed, kind = draw(hh.seeds()), draw(hh.value_kinds(tie_free=gradcheck))
            drawn = {}
            for name, strategy in params.items():
                if strategy == "kink":
                    strategy = st.sampled_from(_KINKS[name][1 if gradcheck else 0])
                drawn[name] = draw(strategy)
            rng = np.random.default_rng(seed)
            u = hh.make_values(rng, shape, kind).astype(dtype)
            return Sample({"u": u}, drawn, f"seed={seed}, values={kind}")

        return draw_sample()

    return samples


def _activation(name: str, **params: Any) -> Op:
    return Op(
        name,
        name,
        ("u",),
        _elementwise_samples(**params),
        name,
        backward=f"{name}_back",
        backward_args=("dz", "u", "z"),
        grads=("u",),
    )


def _dense_samples(maxout: bool):
    def samples(dtype: str, gradcheck: bool = False) -> st.SearchStrategy[Sample]:
        @st.composite
        def draw_sample(draw: st.DrawFn) -> Sample:
            top = 5 if gradcheck else 12
            n, d_in, d = (
                draw(st.integers(0, 4)),
                draw(st.integers(1, top)),
                draw(st.integers(1, top)),
            )
            unit = draw(st.integers(1, 3)) if maxout else 1
            seed, kind = draw(hh.seeds()), draw(hh.value_kinds(tie_free=gradcheck))
            rng = np.random.default_rng(seed)
            shapes = {"u": (n, d_in), "W": (d_in, d * unit), "b": (d * unit,)}
            params = {"unit": unit} if maxout else {}
            return Sample(_arrays(rng, shapes, kind, dtype), params, f"seed={seed}, values={kind}")

        return draw_sample()

    return samples


def _prelu_samples(dtype: str, gradcheck: bool = False) -> st.SearchStrategy[Sample]:
    @st.composite
    def draw_sample(draw: st.DrawFn) -> Sample:
        shape = draw(_data_shape(gradcheck))
        seed, kind = draw(hh.seeds()), draw(hh.value_kinds(tie_free=gradcheck))
        rng = np.random.default_rng(seed)
        u = hh.make_values(rng, shape, kind).astype(dtype)
        alpha = rng.uniform(-0.5, 0.5, size=shape[-1]).astype(dtype)
        return Sample({"u": u, "alpha": alpha}, {}, f"seed={seed}, values={kind}")

    return draw_sample()


def _dropout_samples(dtype: str, gradcheck: bool = False) -> st.SearchStrategy[Sample]:
    @st.composite
    def draw_sample(draw: st.DrawFn) -> Sample:
        shape = draw(_data_shape(gradcheck))
        ratio = draw(st.sampled_from([0.9, 0.5, 0.25, 1.0]))
        seed, kind = draw(hh.seeds()), draw(hh.value_kinds(tie_free=gradcheck))
        rng = np.random.default_rng(seed)
        u = hh.make_values(rng, shape, kind).astype(dtype)
        mask = rng.random(shape) < ratio
        return Sample(
            {"u": u}, {"dropout_ratio": ratio, "mask": mask}, f"seed={seed}, values={kind}"
        )

    return draw_sample()


def _batchnorm_samples(inference: bool):
    def samples(dtype: str, gradcheck: bool = False) -> st.SearchStrategy[Sample]:
        @st.composite
        def draw_sample(draw: st.DrawFn) -> Sample:
            shape = draw(_data_shape(gradcheck, min_batch=2))
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
            return Sample(arrays, params, f"seed={seed}, values={kind}")

        return draw_sample()

    return samples


def _classification_samples(soft_targets: bool):
    def samples(dtype: str, gradcheck: bool = False) -> st.SearchStrategy[Sample]:
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
            return Sample({"u": u, "t": t.astype(dtype)}, {}, f"seed={seed}")

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
TRAINER_OPS: tuple[Op, ...] = (
    Op(
        "affine",
        "affine",
        ("u", "W", "b"),
        _dense_samples(False),
        "affine",
        backward="affine_back",
        backward_args=("dz", "u", "W", "b"),
        grads=("u", "W", "b"),
    ),
    Op(
        "maxout",
        "maxout",
        ("u", "W", "b"),
        _dense_samples(True),
        "maxout",
        backward="maxout_back",
        backward_args=("dz", "u", "z", "W", "b"),
        grads=("u", "W", "b"),
    ),
    _activation("sigmoid"),
    _activation("tanh"),
    _activation("relu"),
    _activation("leaky_relu", alpha=_SMALL),
    _activation("relun", n="kink"),
    _activation("srelu", alpha="kink"),
    _activation("elu", alpha=st.sampled_from([1.0, 0.5])),
    _activation("rrelu", min=st.sampled_from([0.0, 0.1]), max=st.sampled_from([0.1, 0.3])),
    _activation("identity"),
    _activation("softplus"),
    _activation("softsign"),
    _activation("step"),
    Op(
        "prelu",
        "prelu",
        ("u", "alpha"),
        _prelu_samples,
        "prelu",
        backward="prelu_back",
        backward_args=("dz", "u", "z", "alpha"),
        grads=("u", "alpha"),
    ),
    Op(
        "dropout",
        "dropout",
        ("u",),
        _dropout_samples,
        "dropout",
        backward="dropout_back",
        backward_args=("dz", "u", "z"),
        grads=("u",),
        notes="training mode with a given mask; F.dropout's masks: test_trainer.py",
    ),
    Op(
        "batch_normalization",
        "batch_normalization",
        ("u", "gamma", "beta"),
        _batchnorm_samples(False),
        "batch_normalization",
        backward="batch_normalization_back",
        backward_args=("dz", "u", "z", "gamma", "beta"),
        grads=("u", "gamma", "beta"),
        rtol={"float32": 1e-3},
    ),
    Op(
        "batch_normalization_inference",
        "batch_normalization",
        ("u", "gamma", "beta"),
        _batchnorm_samples(True),
        "batch_normalization",
        rtol={"float32": 1e-3},
    ),
    Op("softmax", "softmax", ("u",), _classification_samples(False), "softmax"),
    Op(
        "softmax_cross_entropy",
        "cross_entropy_error",
        ("u", "t"),
        _classification_samples(True),
        "softmax_cross_entropy",
        backward="output_error_back",
        grads=("u",),
        compose_forward=_softmax_cross_entropy,
        compose_backward=_softmax_cross_entropy_back,
        forward_source="cross_entropy_error(softmax(u), t)",
        backward_source="dz * output_error_back(softmax(u), t)",
        functions=("softmax", "cross_entropy_error", "output_error_back"),
    ),
    Op(
        "mean_squared_error",
        "mean_squared_error",
        ("u", "t"),
        _classification_samples(False),
        "mean_squared_error",
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
DIFFERENTIABLE = tuple(op for op in OPS if op.backward)
