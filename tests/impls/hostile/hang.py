"""Hostile: average_pooling2d never returns. (It touches the file named by
$HANG_MARKER first, if set, so that a test knows the hang has begun.)"""

import os
import time
from pathlib import Path

from tests.impls.article_loops import *  # noqa: F403


def average_pooling2d(u, pool_size=2, padding=0, strides=None):
    if os.environ.get("HANG_MARKER"):
        Path(os.environ["HANG_MARKER"]).touch()
    while True:
        time.sleep(1)
