"""refcnn's error messages name the offending argument."""

from __future__ import annotations

import re

import pytest

import refcnn
from refcnn.conformance.inputs.invalid_inputs import BAD_CALLS, BadCall


@pytest.mark.parametrize("case", BAD_CALLS, ids=lambda c: c.id)
def test_message_names_the_argument(case: BadCall) -> None:
    with pytest.raises(case.error) as info:
        getattr(refcnn, case.function)(*case.make_args(), **case.kwargs)
    message = str(info.value)
    # as a word: "u" is in "must" (a message that named None passed that way)
    assert re.search(rf"(?<!\w){re.escape(case.argument)}(?!\w)", message), message
    assert case.says in message, message


def test_messages_say_the_expected_form() -> None:
    with pytest.raises(ValueError, match=r"u must have 4 dimensions \(n, h, w, c\), got 3"):
        refcnn.convolution2d([[[1.0]]], [[[[1.0]]]], [0.0])
    with pytest.raises(ValueError, match=r"padding must be an int or an \(h, w\) pair"):
        refcnn.max_pooling2d([[[[1.0]]]], 1, (0, 0, 0))
    with pytest.raises(ValueError, match=r"W has fc=3 channels but u has c=1"):
        refcnn.convolution2d([[[[1.0]]]], [[[[1.0, 2.0, 3.0]]]], [0.0])
    with pytest.raises(ValueError, match=r"dz must have shape \(1, 1, 1, 1\)"):
        refcnn.max_pooling2d_back([[[[1.0, 2.0]]]], [[[[1.0]]]], None, 1)
