"""Hostile: max_pooling2d forks without end (the children sleep)."""

import os
import time

from tests.impls.article_loops import *  # noqa: F403


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    while True:
        if os.fork() == 0:
            while True:
                time.sleep(1)
