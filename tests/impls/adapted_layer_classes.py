"""The README's layer-class recipe, run by the tests: textbook layer classes
(NCHW, (out, in, kh, kw) filters, int stride and pad) seen through the
article's API."""

from refcnn.conformance.adapters import from_layer
from tests.impls.styles.layer_classes import Convolution, Flatten, Pooling

# stride and pad are ints only: no (h, w) tuples, and no non-square pooling
# window (its default stride is the window, a tuple)
CONFORMANCE_UNSUPPORTED = {
    "*": ["tuple params"],
    "max_pooling2d": ["non-square"],
    "average_pooling2d": ["non-square"],
}


def _pair(value):
    return (value, value) if isinstance(value, int) else value


def adapt_convolution(layer_class: type) -> tuple:
    """``from_layer`` for a convolution class of this style (the planted bug
    in tests/impls/broken/ swaps in its own class)."""
    return from_layer(
        "convolution2d",
        lambda W, b, padding, strides: layer_class(W, b, stride=strides, pad=padding),
        data="NCHW",
        filters="OIHW",
        grads={"W": "dW", "b": "db"},
    )


convolution2d, convolution2d_back = adapt_convolution(Convolution)
max_pooling2d, max_pooling2d_back = from_layer(
    "max_pooling2d",
    lambda pool_size, padding, strides: Pooling(*_pair(pool_size), stride=strides, pad=padding),
    data="NCHW",
)
average_pooling2d, average_pooling2d_back = from_layer(
    "average_pooling2d",
    lambda pool_size, padding, strides: Pooling(
        *_pair(pool_size), stride=strides, pad=padding, mode="average"
    ),
    data="NCHW",
)
flatten2d, flatten2d_back = from_layer("flatten2d", Flatten, data="NCHW")
