"""Hostile: flatten2d prints a megabyte on every call."""

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.article_loops import flatten2d as _flatten2d

_LINE = "x" * 1023


def flatten2d(u):
    for _ in range(1024):
        print(_LINE)
    return _flatten2d(u)
