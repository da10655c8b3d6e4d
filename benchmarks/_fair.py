"""What both benchmarks share: torch's ordinary setup and the environment line.

torch gets ordinary contiguous NCHW tensors. A NumPy transpose of a
one-channel NHWC array is already "contiguous" to NumPy (the channel axis has
length 1), so ``torch.from_numpy(np.ascontiguousarray(u.transpose(0, 3, 1,
2)))`` hands torch strides ``(h*w, 1, w, 1)``: a channels-last tensor, which
sends float64 convolutions down a slower path. ``nchw`` copies into a fresh
tensor and asserts the strides.
"""

from __future__ import annotations

import os
import platform

import numpy as np


def nchw(u: np.ndarray):
    """NHWC ``u`` as an ordinary contiguous NCHW torch tensor (a copy)."""
    import torch

    t = (
        torch.from_numpy(np.ascontiguousarray(u))
        .permute(0, 3, 1, 2)
        .clone(memory_format=torch.contiguous_format)
    )
    _, c, h, w = t.shape
    assert t.stride() == (c * h * w, h * w, w, 1), t.stride()
    return t


def filters_oihw(W: np.ndarray):
    """``(fn, fh, fw, fc)`` filters as an ordinary contiguous ``(out, in, kh, kw)`` tensor."""
    return nchw(W)


def environment(torch_threads: int) -> str:
    """numpy, torch, the machine, and threadpoolctl's view of the BLAS pools."""
    import threadpoolctl
    import torch

    pools = "; ".join(
        f"{p['internal_api']} {p.get('version')} {p.get('architecture', '')} "
        f"{p['num_threads']} threads"
        for p in threadpoolctl.threadpool_info()
    )
    blas_env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}
    return (
        f"numpy {np.__version__}, torch {torch.__version__} ({torch_threads} threads), "
        f"{platform.machine()} with {os.cpu_count()} cores\n"
        f"threadpoolctl: {pools}; OPENBLAS_* environment: {blas_env or 'none'}"
    )
