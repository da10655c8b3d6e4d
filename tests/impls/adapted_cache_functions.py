"""The README's cache-style recipe, run by the tests: forward/backward pairs
with a cache, a params dict with int values, no padding in pooling; the
corners it does not support are declared here."""

from refcnn.conformance.adapters import from_cache_functions
from tests.impls.styles import cache_functions as cf

CONFORMANCE_UNSUPPORTED = {
    "*": ["tuple params"],
    "max_pooling2d": ["padding", "negative under padding", "non-square"],
    "average_pooling2d": ["padding", "non-square"],
}


def _pool_param(pool_size, padding, strides):
    if padding:
        raise ValueError("pooling takes no padding")
    return {"pool_height": pool_size, "pool_width": pool_size, "stride": strides}


convolution2d, convolution2d_back = from_cache_functions(
    "convolution2d",
    cf.conv_forward,
    cf.conv_backward,
    params=lambda padding, strides: {"stride": strides, "pad": padding},
    data="NCHW",
    filters="OIHW",
)
max_pooling2d, max_pooling2d_back = from_cache_functions(
    "max_pooling2d", cf.max_pool_forward, cf.max_pool_backward, params=_pool_param, data="NCHW"
)
average_pooling2d, average_pooling2d_back = from_cache_functions(
    "average_pooling2d", cf.avg_pool_forward, cf.avg_pool_backward, params=_pool_param, data="NCHW"
)
