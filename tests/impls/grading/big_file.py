"""Hostile: max_pooling2d writes a file of 4 GB into its folder, or, where
that is read-only (the sandbox), into the one folder it may write (its
TMPDIR): the file-size limit stops it there."""

import os
import tempfile

from tests.impls.article_loops import *  # noqa: F403


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    block = b"x" * 2**24
    try:
        handle = open("huge.bin", "wb")
    except OSError:
        handle = open(os.path.join(tempfile.gettempdir(), "huge.bin"), "wb")
    with handle:
        for _ in range(256):
            handle.write(block)
    raise RuntimeError("wrote 4 GB")
