"""Hygiene for outputs that are not NumPy arrays: compared by the memory
they expose (here torch tensors, by DLPack)."""

from __future__ import annotations

import numpy as np
import pytest

from refcnn import i18n
from refcnn.conformance.judged import worker as wk
from refcnn.conformance.judging import hygiene as hy
from refcnn.conformance.judging.checks import ConformanceError
from refcnn.conformance.verdict import render as rd
from refcnn.conformance.verdict.record import VIEW

torch = pytest.importorskip("torch")


def _snippet() -> str:
    return "snippet"


def test_a_tensor_viewing_an_input_is_a_view_under_strict_policies() -> None:
    """What the worker observes of a tensor output (conformance.judged.worker: the
    memory it exposes shares the input's), as the trusted side judges it."""
    u = np.arange(24.0).reshape(2, 3, 2, 2)
    out = torch.from_numpy(u).reshape(2, -1)  # the article's flatten, in torch
    ((path, same, shares, kind),) = wk.Worker._facts(None, out, {"0": u})
    assert (path, same, shares, kind) == ([], None, "0", "Tensor")

    def facts(output):
        return (None, u if shares else None, kind) if output is out else None

    hy.assert_owns_memory({"z": out}, {"u": u}, "flatten2d", _snippet, {}, facts=facts)
    with pytest.raises(ConformanceError, match=r"the output z \(Tensor\) shares memory with") as e:
        hy.assert_owns_memory(
            {"z": out}, {"u": u}, "flatten2d", _snippet, {}, facts=facts, views=True
        )
    # the table tells a view by the failure's detail, whatever its language
    assert e.value.as_dict()["detail"] == VIEW
    with i18n.speaking("en"):
        assert "views are allowed without --strict-policies" in rd._reason(
            "flatten2d", "plain", e.value.as_dict()
        )
    with i18n.speaking("ja"):  # its words translated, the detail the same
        hy.assert_owns_memory({"z": out}, {"u": u}, "flatten2d", _snippet, {}, facts=facts)
        with pytest.raises(ConformanceError) as ja:
            hy.assert_owns_memory(
                {"z": out}, {"u": u}, "flatten2d", _snippet, {}, facts=facts, views=True
            )
        assert "(a view;" not in ja.value.message and ja.value.detail == VIEW
        assert i18n.tr("; views are allowed without --strict-policies") in rd._reason(
            "flatten2d", "plain", ja.value.as_dict()
        )
    with pytest.raises(ConformanceError, match="is the input u itself") as itself:
        hy.assert_owns_memory(
            {"z": u}, {"u": u}, "flatten2d", _snippet, {}, facts=lambda o: (u, u, "")
        )
    assert "detail" not in itself.value.as_dict()
    with i18n.speaking("en"):
        assert "views are allowed" not in rd._reason("flatten2d", "plain", itself.value.as_dict())


def test_a_tensor_buffer_refilled_by_a_second_call_is_caught() -> None:
    buffer = torch.zeros(3, dtype=torch.float64)
    kept = {"z": hy.snapshot(buffer)}
    buffer.add_(1.0)  # the second call refills it
    with pytest.raises(ConformanceError, match="outputs share a buffer across calls"):
        hy.assert_kept({"z": buffer}, kept, "max_pooling2d", _snippet, {})


def test_a_tensor_that_needs_grad_is_read_too() -> None:
    t = torch.ones(2, requires_grad=True) * 3
    assert hy.memory_of(t) is not None and hy.snapshot(t).tolist() == [3.0, 3.0]
    assert hy.memory_of(None) is None and hy.memory_of(2.0) is None
