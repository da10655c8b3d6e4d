"""Hostile: convolution2d dereferences a null pointer (SIGSEGV) when padded."""

import ctypes

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.article_loops import convolution2d as _convolution2d


def convolution2d(u, W, b, padding=0, strides=1):
    if padding != 0:
        ctypes.string_at(0)
    return _convolution2d(u, W, b, padding, strides)
