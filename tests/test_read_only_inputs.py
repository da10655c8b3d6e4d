"""refcnn's layers read their inputs and never write them, not even the same
values back: a read-only input (``np.load(..., mmap_mode="r")``, an array
frozen with ``setflags(write=False)``) gives the result a writable copy
gives, on every path (tiled and general pooling, 1x1 windows, the three
convolution formulations)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import refcnn
from tests.formulations import FORMULATIONS, forced

POOLS = {  # (pool_size, padding, strides), u's shape (n, h, w, c)
    "1x1 windows": ((1, 0, None), (2, 3, 4, 3)),
    "tiled": ((2, 0, None), (2, 4, 6, 3)),
    "overlapping": ((3, 0, 1), (2, 5, 5, 3)),
    "padded": ((2, 1, None), (2, 5, 5, 3)),
}


def _frozen(*arrays: np.ndarray) -> list[np.ndarray]:
    copies = [a.copy() for a in arrays]
    for a in copies:
        a.setflags(write=False)
    return copies


def _same_as_writable(call: Callable, *arrays: np.ndarray) -> None:
    frozen = _frozen(*arrays)
    expected, got = call(*[a.copy() for a in arrays]), call(*frozen)
    if not isinstance(expected, tuple):  # convolution2d_back's (du, dW, db)
        expected, got = (expected,), (got,)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(g, e)
    for before, after in zip(arrays, frozen, strict=True):
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("pool", ["max", "average"])
@pytest.mark.parametrize("case", list(POOLS))
def test_pooling_reads_read_only_inputs(pool: str, case: str) -> None:
    (size, padding, strides), shape = POOLS[case]
    forward = getattr(refcnn, f"{pool}_pooling2d")
    backward = getattr(refcnn, f"{pool}_pooling2d_back")
    u = np.random.default_rng(0).standard_normal(shape)
    z = forward(u, size, padding, strides)
    dz = np.cos(np.arange(z.size)).reshape(z.shape)
    _same_as_writable(lambda u: forward(u, size, padding, strides), u)
    _same_as_writable(lambda dz, u, z: backward(dz, u, z, size, padding, strides), dz, u, z)


@pytest.mark.parametrize("formulation", list(FORMULATIONS))
@pytest.mark.parametrize("padding", [0, 1])
def test_convolution_reads_read_only_inputs(formulation: str, padding: int) -> None:
    rng = np.random.default_rng(1)
    u, W, b = (
        rng.standard_normal((2, 6, 7, 3)),
        rng.standard_normal((4, 3, 2, 3)),
        rng.standard_normal(4),
    )
    with forced(formulation):
        z = refcnn.convolution2d(u, W, b, padding)
        dz = np.cos(np.arange(z.size)).reshape(z.shape)
        _same_as_writable(lambda u, W, b: refcnn.convolution2d(u, W, b, padding), u, W, b)
        _same_as_writable(
            lambda dz, u, W, b: refcnn.convolution2d_back(dz, u, W, b, padding), dz, u, W, b
        )


def test_flatten_reads_read_only_inputs() -> None:
    u = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    z = refcnn.flatten2d(u)
    _same_as_writable(refcnn.flatten2d, u)
    _same_as_writable(refcnn.flatten2d_back, np.cos(np.arange(z.size)).reshape(z.shape), u, z)
