"""Forger: writes forged messages down every file descriptor it holds: a
pickled pytest report that says passed, and frames of the worker's protocol
that claim a result, before and instead of its own reply."""

import json
import os
import pickle
import struct

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.forgers._zeros import zeros_pooling


def _forge() -> None:
    report = pickle.dumps({"outcome": "passed", "when": "call", "nodeid": "x"})
    header = json.dumps({"result": {"o": ["passed", "pass"]}, "sizes": []}).encode()
    frames = [
        struct.pack("!cQ", b"R", len(report)) + report,
        struct.pack("!II", len(header), 0) + header,
        struct.pack("!II", 100, 2**31) + b"{",
    ]
    for fd in range(3, 64):
        for frame in frames:
            try:
                os.write(fd, frame)
            except OSError:
                pass


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    _forge()
    return zeros_pooling(u, pool_size, padding, strides)
