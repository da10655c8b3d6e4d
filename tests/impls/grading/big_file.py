"""Hostile: max_pooling2d writes a file of 4 GB into its folder."""

from tests.impls.article_loops import *  # noqa: F403


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    block = b"x" * 2**24
    with open("huge.bin", "wb") as handle:
        for _ in range(256):
            handle.write(block)
    raise RuntimeError("wrote 4 GB")
