"""Hostile: average_pooling2d is killed with SIGKILL, as the OOM killer does."""

import os
import signal

from tests.impls.article_loops import *  # noqa: F403


def average_pooling2d(u, pool_size=2, padding=0, strides=None):
    os.kill(os.getpid(), signal.SIGKILL)
