"""Hostile: flatten2d returns the right values as strings."""

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.article_loops import flatten2d as _flatten2d


def flatten2d(u):
    return _flatten2d(u).astype(str)
