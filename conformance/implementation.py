"""The implementation under test: a module exposing any subset of the article
API under the article's names and signatures (default: ``refcnn``).

Chosen with ``--impl package.module`` or the environment variable
``REFCNN_IMPL``. A function the module lacks is *not provided*: its tests are
skipped with that reason, never failed.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import pytest

REFERENCE = "refcnn"
ENV_VAR = "REFCNN_IMPL"


def not_provided_reason(module: str, function: str) -> str:
    return f"not provided: {module} has no {function}"


@dataclass
class Implementation:
    name: str
    module: ModuleType
    strict: bool  # also check refcnn's own policies (dtype preservation, validation)

    def __repr__(self) -> str:
        return f"Implementation({self.name!r})"

    @property
    def is_reference(self) -> bool:
        return self.name == REFERENCE

    def get(self, function: str) -> Callable | None:
        value = getattr(self.module, function, None)
        return value if callable(value) else None

    def require(self, function: str) -> Callable:
        """The function, or skip the calling test as *not provided*."""
        value = self.get(function)
        if value is None:
            pytest.skip(not_provided_reason(self.name, function))
        return value


def resolve_name(option: str | None) -> str:
    return option or os.environ.get(ENV_VAR) or REFERENCE


def load(name: str, strict: bool) -> Implementation:
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        raise pytest.UsageError(
            f"--impl {name}: cannot import the implementation module "
            f"({type(exc).__name__}: {exc}). Pass an importable module path, e.g. "
            f"--impl mypackage.layers, with its folder on PYTHONPATH."
        ) from exc
    return Implementation(name, module, strict or name == REFERENCE)
