"""Hostile: max_pooling2d ends the process with exit code 0 (os._exit)."""

import os

from tests.impls.article_loops import *  # noqa: F403


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    os._exit(0)
