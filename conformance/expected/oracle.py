"""Where expected values come from (imported as ``orc``).

* torch (``TorchOracle``) when it is installed: the article's semantics are
  written with torch ops in :mod:`conformance.expected.torch_reference`, evaluated in
  float64 whatever the dtype under test, gradients by ``torch.autograd``;
* without torch, the golden fixtures (torch's results, stored) judge the
  stored cases, and refcnn itself (``RefcnnOracle``, checked by those same
  fixtures) judges the generated inputs; the header says so. The article
  fixtures are checked in every case.
"""

from __future__ import annotations

import contextlib
import importlib.util
from typing import Any

import numpy as np

from ..inputs.op_table import Op, forward_params
from ..inputs.strategies import Sample


def torch_available() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except ImportError:  # a blocked or broken installation counts as absent
        return False


def torch_version() -> str | None:
    """torch's version without importing it (the header is printed first)."""
    if not torch_available():
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "unknown version"


def describe() -> str:
    """The oracle, for the run's header and the verdict."""
    if torch_available():
        return "torch"
    return (
        "golden fixtures made by torch (fixtures/golden) for stored cases, and refcnn for "
        "generated inputs; torch is not installed"
    )


class TorchOracle:
    name = "torch"

    def __init__(self) -> None:
        import torch

        from . import torch_reference

        self.torch = torch
        self.reference = torch_reference
        self.version = torch.__version__

    def _run(self, op: Op, sample: Sample, grad_names: tuple[str, ...]):
        torch = self.torch
        tensors = {
            name: torch.from_numpy(sample.arrays[name].astype(np.float64)).requires_grad_(
                name in grad_names
            )
            for name in op.inputs
        }
        params = {
            k: torch.from_numpy(v.astype(np.float64) if v.dtype != bool else v)
            if isinstance(v, np.ndarray)
            else v
            for k, v in forward_params(op, sample).items()
        }
        function = getattr(self.reference, op.reference)
        z = function(*(tensors[name] for name in op.inputs), **params)
        return tensors, z

    def forward(self, op: Op, sample: Sample) -> np.ndarray:
        with self.torch.no_grad():
            _, z = self._run(op, sample, ())
        return z.numpy().copy()

    def backward(self, op: Op, sample: Sample, dz: np.ndarray) -> dict[str, np.ndarray]:
        tensors, z = self._run(op, sample, op.grads)
        inputs = [tensors[name] for name in op.grads]
        grads = self.torch.autograd.grad(
            z, inputs, self.torch.from_numpy(dz.astype(np.float64)), allow_unused=True
        )
        return {
            name: (np.zeros(t.shape) if g is None else g.numpy().copy())
            for name, t, g in zip(op.grads, inputs, grads, strict=True)
        }


class RefcnnOracle:
    """refcnn judged correct by its own torch-checked suite, used as the
    reference where torch cannot be installed."""

    name = "refcnn"

    def __init__(self) -> None:
        import refcnn

        self.module = refcnn
        self.version = refcnn.__version__

    def _get(self, name: str):
        return getattr(self.module, name)

    def _arrays(self, sample: Sample) -> dict[str, np.ndarray]:
        return {n: a.astype(np.float64) if a.dtype != bool else a for n, a in sample.arrays.items()}

    def forward(self, op: Op, sample: Sample) -> np.ndarray:
        return np.asarray(
            op.call_forward(self._get, self._arrays(sample), forward_params(op, sample))
        )

    def backward(self, op: Op, sample: Sample, dz: np.ndarray) -> dict[str, np.ndarray]:
        values: dict[str, Any] = self._arrays(sample)
        values["dz"] = dz.astype(np.float64)
        values["z"] = self.forward(op, sample)
        params = {k: v for k, v in sample.params.items() if k != "calc_du_flag"}
        return op.gradients(op.call_backward(self._get, values, params))


def make_oracle() -> TorchOracle | RefcnnOracle:
    if torch_available():
        preload()
        return TorchOracle()
    return RefcnnOracle()


def preload() -> None:
    """Import the oracle's modules (torch) once, and keep torch to one
    thread: the suite's inputs are small, and the judged code's worker runs
    beside this process (torch's spinning OpenMP threads took 4 ms per small
    max_pool2d so, against 0.2 ms)."""
    if torch_available():
        import torch

        from . import torch_reference  # noqa: F401

        torch.set_num_threads(1)
        # torch imports sympy (~480 modules) at the first backward: here, once,
        # before a time limit could cut the import short
        with contextlib.suppress(ImportError):
            import torch.fx.experimental.symbolic_shapes
