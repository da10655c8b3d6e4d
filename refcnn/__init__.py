"""refcnn: a reference NumPy implementation of the CNN layers of the article
"ディープラーニングを実装から学ぶ(9-1) CNNの実装" and of its model API.

Layouts follow the article: data NHWC ``(n, h, w, c)``, filters
``(fn, fh, fw, fc)``. See each module for the semantics that differ from torch.
This package imports NumPy only.
"""

from .convolution import (
    conv,
    convolution2d,
    convolution2d_back,
    convp,
    convps,
    convpsc,
    convpscf,
    convpscfu,
)
from .flatten import flatten2d, flatten2d_back
from .pool import (
    average_pooling2d,
    average_pooling2d_back,
    max_pooling2d,
    max_pooling2d_back,
)
from .shapes import (
    convolution2d_output_shape,
    flatten2d_output_shape,
    output_size,
    pooling2d_output_shape,
)

__version__ = "0.1.0"

__all__ = [
    "average_pooling2d",
    "average_pooling2d_back",
    "conv",
    "convolution2d",
    "convolution2d_back",
    "convolution2d_output_shape",
    "convp",
    "convps",
    "convpsc",
    "convpscf",
    "convpscfu",
    "flatten2d",
    "flatten2d_back",
    "flatten2d_output_shape",
    "max_pooling2d",
    "max_pooling2d_back",
    "output_size",
    "pooling2d_output_shape",
]
