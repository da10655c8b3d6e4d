"""Forger: makes the oracle agree: torch's max_pool2d (and the suite's
torch reference, and refcnn's own max pooling) return zeros too."""

import sys

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.forgers._zeros import zeros_pooling

max_pooling2d = zeros_pooling

try:
    import torch
    import torch.nn.functional as F

    F.max_pool2d = lambda x, *a, **k: torch.zeros_like(x)[..., : a[0] if a else 1, :]
    torch.max_pool2d = F.max_pool2d
except ImportError:
    pass
import refcnn  # noqa: E402  (after the patch of torch, as a student would)

refcnn.max_pooling2d = zeros_pooling
for _name, _module in list(sys.modules.items()):
    if _name.endswith("conformance.expected.torch_reference"):
        _module.max_pooling2d = lambda *a, **k: zeros_pooling(*a, **k)
