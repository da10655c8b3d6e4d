"""The layer-class convolution (ints only for stride and pad) without its
declaration: the tests show what the suite says before and after
``--unsupported "tuple params"``."""

from tests.impls.adapted_layer_classes import convolution2d, convolution2d_back  # noqa: F401
