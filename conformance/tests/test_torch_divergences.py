"""Where the article's semantics differ from torch's native ops.

Each test pins one documented difference with a concrete input: the
implementation under test must follow the article, the torch formulation of
:mod:`conformance.expected.torch_reference` must agree with it, and torch's native op
must give something else (so the table of docs/reference.md stays true).
"""

from __future__ import annotations

import numpy as np
import pytest

from refcnn import layouts

from ..expected import oracle as orc

pytestmark = pytest.mark.skipif(not orc.torch_available(), reason="needs torch")


def _torch():
    import torch
    import torch.nn.functional as F

    return torch, F


def nchw(u: np.ndarray):
    torch, _ = _torch()
    return torch.from_numpy(np.ascontiguousarray(u.transpose(layouts.NHWC_TO_NCHW)))


def nhwc(t) -> np.ndarray:
    return t.permute(*layouts.NCHW_TO_NHWC).numpy()


@pytest.mark.verdict(op="max_pooling2d", check="semantics")
def test_max_pooling_pads_with_zeros_not_minus_infinity(impl) -> None:
    from ..expected import torch_reference as tr

    u = -np.arange(1.0, 17.0).reshape(1, 4, 4, 1)  # all negative
    impl.require_corner("max_pooling2d", "negative under padding")
    got = np.asarray(impl.require("max_pooling2d")(u, pool_size=2, padding=1, strides=2))
    _, F = _torch()
    native = nhwc(F.max_pool2d(nchw(u), 2, stride=2, padding=1))
    article = tr.max_pooling2d(torch_from(u), 2, 1, 2).numpy()
    np.testing.assert_array_equal(got, article)
    assert got[0, 0, 0, 0] == 0.0  # a corner window holds padded zeros and -1
    assert native[0, 0, 0, 0] == -1.0  # torch pads with -inf
    assert not np.array_equal(got, native)


@pytest.mark.verdict(op="max_pooling2d", check="semantics")
def test_padding_may_exceed_half_the_window(impl) -> None:
    from ..expected import torch_reference as tr

    u = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    for corner in ("padding", "overlap"):
        impl.require_corner("max_pooling2d", corner)
    got = np.asarray(impl.require("max_pooling2d")(u, pool_size=2, padding=2, strides=1))
    np.testing.assert_array_equal(got, tr.max_pooling2d(torch_from(u), 2, 2, 1).numpy())
    _, F = _torch()
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(nchw(u), 2, stride=1, padding=2)


@pytest.mark.verdict(op="max_pooling2d", check="semantics")
def test_output_size_rounds_down(impl) -> None:
    u = np.ones((1, 5, 5, 1))
    got = np.asarray(impl.require("max_pooling2d")(u, pool_size=2))
    assert got.shape == (1, 2, 2, 1)  # floor((5 - 2) / 2) + 1
    _, F = _torch()
    assert F.max_pool2d(nchw(u), 2, ceil_mode=True).shape[-2:] == (3, 3)


@pytest.mark.verdict(op="average_pooling2d", check="semantics")
def test_average_pooling_counts_padded_zeros(impl) -> None:
    u = np.full((1, 2, 2, 1), 4.0)
    impl.require_corner("average_pooling2d", "padding")
    got = np.asarray(impl.require("average_pooling2d")(u, pool_size=2, padding=1, strides=2))
    # each window: one 4 and three padded zeros, divided by 4 (the whole
    # array compared: a wrong shape that broadcasts must not pass)
    np.testing.assert_array_equal(got, np.full((1, 2, 2, 1), 1.0))
    _, F = _torch()
    excluded = nhwc(F.avg_pool2d(nchw(u), 2, stride=2, padding=1, count_include_pad=False))
    assert excluded[0, 0, 0, 0] == 4.0


@pytest.mark.verdict(op="flatten2d", check="semantics")
def test_flatten_order_is_nhwc(impl) -> None:
    u = np.arange(8.0).reshape(1, 2, 2, 2)
    got = np.asarray(impl.require("flatten2d")(u))
    np.testing.assert_array_equal(got, np.arange(8.0)[None])  # (h, w, c) row-major
    torch, _ = _torch()
    assert not np.array_equal(torch.flatten(nchw(u), 1).numpy()[0], got[0])


@pytest.mark.verdict(op="max_pooling2d", check="semantics")
def test_ties_go_to_the_first_maximum(impl) -> None:
    u = np.ones((1, 2, 2, 1))  # one window, four equal maxima
    impl.require_corner("max_pooling2d", "ties")
    du = np.asarray(
        impl.require("max_pooling2d_back")(
            np.array([[[[1.0]]]]), u, np.array([[[[1.0]]]]), pool_size=2
        )
    )
    np.testing.assert_array_equal(du, np.array([[1.0, 0.0], [0.0, 0.0]]).reshape(1, 2, 2, 1))


def torch_from(u: np.ndarray):
    torch, _ = _torch()
    return torch.from_numpy(u)
