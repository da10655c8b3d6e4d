"""The README's parameter-dict recipe, run by the tests: Keras-style layer
objects (NHWC, (kh, kw, in, out) kernels, params and grads in dicts)."""

from refcnn.conformance.adapters import from_layer
from tests.impls.styles.param_dicts import Conv2D, Flatten, Pool2D

convolution2d, convolution2d_back = from_layer(
    "convolution2d",
    lambda W, b, padding, strides: Conv2D({"kernel": W, "bias": b}, strides, padding),
    filters="HWIO",
    grads=lambda layer: (layer.grads["kernel"], layer.grads["bias"]),
)
max_pooling2d, max_pooling2d_back = from_layer(
    "max_pooling2d", lambda pool_size, padding, strides: Pool2D(pool_size, strides, padding)
)
average_pooling2d, average_pooling2d_back = from_layer(
    "average_pooling2d",
    lambda pool_size, padding, strides: Pool2D(pool_size, strides, padding, kind="average"),
)
flatten2d, flatten2d_back = from_layer("flatten2d", Flatten)
