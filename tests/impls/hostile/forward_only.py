"""Hostile: convolution2d is wrong (off by one) and there is no backward; its
reproduction snippet must import convolution2d alone."""

from tests.impls.article_loops import convolution2d as _convolution2d


def convolution2d(u, W, b, padding=0, strides=1):
    return _convolution2d(u, W, b, padding, strides) + 1.0
