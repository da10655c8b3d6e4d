"""Hostile: average_pooling2d never returns."""

import time

from tests.impls.article_loops import *  # noqa: F403


def average_pooling2d(u, pool_size=2, padding=0, strides=None):
    while True:
        time.sleep(1)
