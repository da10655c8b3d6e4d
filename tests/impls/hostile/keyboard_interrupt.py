"""Hostile: flatten2d raises KeyboardInterrupt itself."""

from tests.impls.article_loops import *  # noqa: F403


def flatten2d(u):
    raise KeyboardInterrupt
