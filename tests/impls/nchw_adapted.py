"""The README's adapter example, run by the tests: NCHW layers, a dict from
the backward, a few lines of adapters."""

from refcnn.conformance.adapters import adapt
from tests.impls import nchw_layers

convolution2d = adapt("convolution2d", nchw_layers.conv_forward, data="NCHW", filters="OIHW")
convolution2d_back = adapt(
    "convolution2d_back",
    nchw_layers.conv_backward,
    data="NCHW",
    filters="OIHW",
    returns=("dx", "dw", "db"),
)
max_pooling2d = adapt(
    "max_pooling2d",
    nchw_layers.maxpool,
    data="NCHW",
    params=lambda pool_size, padding, strides: {
        "size": pool_size,
        "stride": strides,
        "pad": padding,
    },
)
