"""The op table: one declarative entry per function of the article API.

An entry says how to call the implementation's forward (and backward), which
corners of the input space it has and how to draw each (see
:mod:`conformance.inputs.strategies`), which function of
:mod:`conformance.expected.torch_reference` computes the same thing with torch, what
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

Defaults (``defaults``, ``backward_defaults``) are the article's: its
signatures, and the parameters of its ``add_layer`` specification (rrelu's
``min=0.0, max=0.1``, maxout's ``unit=1``, dropout's ``dropout_ratio=0.9``,
batch normalization's ``batch_norm_node=True``). The article gives leaky
ReLU's, ReLU-n's, shifted ReLU's and ELU's parameter no default, so none is
declared for them.
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

from . import corners as cn
from . import samplers as sm
from . import strategies as hh
from .strategies import Sample

Getter = Callable[[str], Callable]
# samples(dtype, corner, gradcheck, exclude) -> a strategy of Sample
SampleBuilder = Callable[[str, str, bool, frozenset], st.SearchStrategy[Sample]]


class OpError(ValueError):
    """An op table entry that contradicts itself or the suite."""


@functools.cache
def reference_names() -> frozenset[str]:
    """The functions of :mod:`conformance.expected.torch_reference`, read from its
    source (importing it needs torch, which the table does not)."""
    source = (Path(__file__).resolve().parents[1] / "expected" / "torch_reference.py").read_text()
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
    reference: str  # function name in conformance.expected.torch_reference
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
    # Applied element by element to its one input ``u`` (the activations):
    # the explanation's search may then try any shape (1, k).
    elementwise: bool = False
    # A dense layer: ``u`` (n, d_in), ``W`` (d_in, d * unit), ``b`` (d * unit,)
    # (affine, maxout): the explanation's search may shrink n, d_in and d.
    dense: bool = False
    # Their arrays' shapes and parameters from a geometry (see hh.geometry):
    # what the explanation's search for a smaller failing example varies.
    build: Callable[[dict], tuple[dict, dict]] | None = None
    # The article's keyword defaults of the forward and the backward (None:
    # pooling strides default to pool_size), and of the backward only: the
    # defaults check leaves each out (conformance.judging.defaults); the adapters fill
    # the layers' in. The one place they are declared.
    defaults: dict[str, Any] = field(default_factory=dict)
    backward_defaults: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse an incoherent entry, naming it and each mistake."""
        problems = []
        unknown = [c for c in self.corners if c not in hh.CORNERS]
        if unknown:
            problems.append(f"unknown corner(s) {unknown}; the corners are {list(hh.CORNERS)}")
        if self.reference not in reference_names():
            problems.append(
                f"reference {self.reference!r} is not a function of "
                "conformance.expected.torch_reference"
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
        wrong = [d for d in self.backward_defaults if d not in self.backward_params]
        if wrong:
            problems.append(
                f"backward default(s) {wrong} of no backward-only parameter "
                f"(backward_params={self.backward_params})"
            )
        if self.backward_defaults and not self.backward:
            problems.append("backward defaults (backward_defaults=...) need a backward")
        if (self.shape is None) != (self.build is None):
            problems.append("a window geometry (shape=...) and its build (build=...) go together")
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

    def left_out(self, corner: str, exclude: frozenset[str]) -> tuple[str, str]:
        """Why ``corner`` has nothing to draw once the declared-unsupported
        factors ``exclude`` are left out, and which factor (see
        ``hh.Shape.left_out``)."""
        return cn.left_out(self.shape, corner, exclude) if self.shape is not None else ("", "")

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


def forward_params(op: Op, sample: Sample) -> dict[str, Any]:
    return {k: v for k, v in sample.params.items() if k not in op.backward_params}


# --- convolutions and pooling: corners from hh.Shape ------------------------------


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
        return {"u": u_shape, "f": f_shape}, sm.given_params(
            g, {"padding": shape.padding, "strides": shape.strides}
        )

    defaults = {"p": (0, 0)} if with_p else {}
    defaults |= {"s": (1, 1)} if with_s else {}
    return Op(
        name=name,
        forward=name,
        inputs=("u", "f"),
        defaults=defaults,
        samples=sm.geometry_samples(shape, build),
        reference=name,
        corners=cn.of(shape),
        tags=sm.window_tags(shape),
        shape=shape,
        build=build,
    )


def _window_op(name: str, shape: hh.Shape, build, **kwargs: Any) -> Op:
    return Op(
        name=name,
        forward=name,
        inputs=kwargs.pop("inputs", ("u",)),
        samples=sm.geometry_samples(
            shape, build, "calc_du_flag" in kwargs.get("backward_params", ())
        ),
        reference=name,
        corners=cn.of(shape),
        tags=sm.window_tags(shape),
        shape=shape,
        build=build,
        **kwargs,
    )


# An op's tolerance overrides (rtol by dtype, over conformance.expected.tolerances.RTOL),
# each with its reason. Batch normalization in float32: the variance of a
# small batch loses ~3 digits to cancellation (E[u^2] - E[u]^2 in some
# implementations, the mean subtracted first in others).
_BATCH_NORM_RTOL = {"float32": 1e-3}

_POOL_BACK = ("dz", "u", "z")
_POOL_DEFAULTS = {"pool_size": 2, "padding": 0, "strides": None}
_POOL = hh.Shape(window="pool")

LAYER_OPS: tuple[Op, ...] = (
    _step_op("conv", 2, 2, False, False),
    _step_op("convp", 2, 2, True, False),
    _step_op("convps", 2, 2, True, True),
    _step_op("convpsc", 3, 3, True, True),
    _step_op("convpscf", 3, 4, True, True),
    _step_op("convpscfu", 4, 4, True, True),
    _window_op(
        "convolution2d",
        hh.Shape(filters=True),
        sm.convolution2d_build,
        inputs=("u", "W", "b"),
        defaults={"padding": 0, "strides": 1},
        backward="convolution2d_back",
        backward_args=("dz", "u", "W", "b"),
        grads=("u", "W", "b"),
        backward_params=("calc_du_flag",),
        backward_defaults={"calc_du_flag": True},
    ),
    _window_op(
        "max_pooling2d",
        hh.Shape(window="pool", max_pooling=True),
        sm.pooling_build,
        defaults=_POOL_DEFAULTS,
        backward="max_pooling2d_back",
        backward_args=_POOL_BACK,
        grads=("u",),
    ),
    _window_op(
        "average_pooling2d",
        _POOL,
        sm.pooling_build,
        defaults=_POOL_DEFAULTS,
        backward="average_pooling2d_back",
        backward_args=_POOL_BACK,
        grads=("u",),
    ),
    _window_op(
        "flatten2d",
        hh.Shape(window="", padding="", strides=""),
        sm.flatten_build,
        backward="flatten2d_back",
        backward_args=("dz", "u", "z"),
        grads=("u",),
    ),
)


# --- the trainer's layers -----------------------------------------------------


def _activation(name: str, kinks: Callable[[dict], tuple] | None = None, **params: Any) -> Op:
    return Op(
        name=name,
        forward=name,
        inputs=("u",),
        samples=sm.elementwise_samples(kinks, **params),
        reference=name,
        corners=("plain", "kinks", "empty batch") if kinks else ("plain", "empty batch"),
        tags=sm.kink_tags(kinks) if kinks else sm.data_tags,
        backward=f"{name}_back",
        backward_args=("dz", "u", "z"),
        grads=("u",),
        elementwise=True,
    )


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
        samples=sm.dense_samples(False),
        reference="affine",
        corners=_BATCH,
        tags=sm.data_tags,
        backward="affine_back",
        backward_args=("dz", "u", "W", "b"),
        grads=("u", "W", "b"),
        dense=True,
    ),
    Op(
        name="maxout",
        forward="maxout",
        inputs=("u", "W", "b"),
        samples=sm.dense_samples(True),
        reference="maxout",
        corners=("plain", "ties", "empty batch"),
        tags=sm.maxout_tags,
        backward="maxout_back",
        backward_args=("dz", "u", "z", "W", "b"),
        grads=("u", "W", "b"),
        dense=True,
        defaults={"unit": 1},
    ),
    _activation("sigmoid"),
    _activation("tanh"),
    _activation("relu", sm.at_zero),
    _activation("leaky_relu", sm.at_zero, alpha=_SMALL),
    _activation("relun", lambda params: (0.0, params["n"]), n="kink"),
    _activation("srelu", lambda params: (-params["alpha"],), alpha="kink"),
    _activation("elu", sm.at_zero, alpha=st.sampled_from([1.0, 0.5])),
    replace(
        _activation(
            "rrelu", sm.at_zero, min=st.sampled_from([0.0, 0.1]), max=st.sampled_from([0.1, 0.3])
        ),
        defaults={"min": 0.0, "max": 0.1},
    ),
    replace(_activation("identity"), passthrough=True),
    _activation("softplus"),
    _activation("softsign"),
    _activation("step", sm.at_zero),
    Op(
        name="prelu",
        forward="prelu",
        inputs=("u", "alpha"),
        samples=sm.prelu_samples,
        reference="prelu",
        corners=("plain", "kinks", "empty batch"),
        tags=sm.kink_tags(sm.at_zero),
        backward="prelu_back",
        backward_args=("dz", "u", "z", "alpha"),
        grads=("u", "alpha"),
    ),
    Op(
        name="dropout",
        forward="dropout",
        inputs=("u",),
        samples=sm.dropout_samples,
        reference="dropout",
        corners=_BATCH,
        tags=sm.data_tags,
        backward="dropout_back",
        backward_args=("dz", "u", "z"),
        grads=("u",),
        defaults={"dropout_ratio": 0.9},
        notes="training mode with a given mask; F.dropout's masks: test_trainer.py",
    ),
    Op(
        name="batch_normalization",
        forward="batch_normalization",
        inputs=("u", "gamma", "beta"),
        samples=sm.batchnorm_samples(False),
        reference="batch_normalization",
        tags=sm.data_tags,
        backward="batch_normalization_back",
        backward_args=("dz", "u", "z", "gamma", "beta"),
        grads=("u", "gamma", "beta"),
        defaults={"batch_norm_node": True},
        rtol=dict(_BATCH_NORM_RTOL),
    ),
    Op(
        name="batch_normalization_inference",
        forward="batch_normalization",
        inputs=("u", "gamma", "beta"),
        samples=sm.batchnorm_samples(True),
        reference="batch_normalization",
        tags=sm.data_tags,
        rtol=dict(_BATCH_NORM_RTOL),
    ),
    Op(
        name="softmax",
        forward="softmax",
        inputs=("u",),
        samples=sm.classification_samples(False),
        reference="softmax",
    ),
    Op(
        name="softmax_cross_entropy",
        forward="cross_entropy_error",
        inputs=("u", "t"),
        samples=sm.classification_samples(True),
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
        samples=sm.classification_samples(False),
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

OPS = LAYER_OPS + TRAINER_OPS
BY_NAME = {op.name: op for op in OPS}
# The article's layers (what the adapters make): their keyword defaults.
LAYERS = {op.name: op.defaults for op in OPS if op.shape is not None and not op.shape.tuples}
DIFFERENTIABLE = tuple(op for op in OPS if op.backward)
