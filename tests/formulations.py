"""refcnn's convolution picks one of three formulations by shape; tests that
must run each force it (``forced``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from refcnn import _conv_methods
from refcnn import convolution as conv_module

FORMULATIONS = {  # (banded, channel-major im2col up to this many channels)
    "banded": (True, 4),
    "im2col, channel-major": (False, 100),
    "im2col, row-major": (False, 0),
}


@contextlib.contextmanager
def forced(name: str) -> Iterator[None]:
    """Every convolution in the block takes the formulation ``name``."""
    banded, channel_major_max_c = FORMULATIONS[name]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_module, "banded", lambda *args: banded)
        patch.setattr(_conv_methods, "CHANNEL_MAJOR_MAX_C", channel_major_max_c)
        yield
