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


@dataclass(frozen=True)
class Op:
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
    notes: str = ""

    def __str__(self) -> str:
        return self.name


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

BY_NAME = {op.name: op for op in OPS}
DIFFERENTIABLE = tuple(op for op in OPS if op.backward)


def forward_params(op: Op, sample: Sample) -> dict[str, Any]:
    return {k: v for k, v in sample.params.items() if k not in op.backward_params}
