"""Forger: connects, at import and in max_pooling2d, to the loopback port
that REFCNN_FORGER_PORT names (a listener of tests/test_boundary.py), and
would take its answer from there."""

import os
import socket

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.forgers._zeros import zeros_pooling

KNOWN_PORT = 0  # tests/test_grading.py writes its listener's port here


def _call_home() -> str:
    port = KNOWN_PORT or int(os.environ.get("REFCNN_FORGER_PORT", "0") or 0)
    if not port:
        return "no port"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            connection.sendall(b"hello from the judged code\n")
            return "connected"
    except OSError as exc:
        return f"refused: {exc}"


_call_home()


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    _call_home()
    return zeros_pooling(u, pool_size, padding, strides)
