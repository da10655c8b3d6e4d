"""Bug in the cache-function style: the max-pool backward gives the gradient
to every tied maximum of a window (a mask ``window == max``), not the first."""

from refcnn.conformance.adapters import from_cache_functions
from tests.impls.adapted_cache_functions import *  # noqa: F403
from tests.impls.adapted_cache_functions import _pool_param
from tests.impls.styles import cache_functions as cf


def max_pool_backward(dout, cache):
    x, windows, pool_param = cache
    mask = windows == windows.max(axis=4, keepdims=True)
    return cf._unwindow(mask * dout[..., None], x.shape, pool_param)


max_pooling2d, max_pooling2d_back = from_cache_functions(
    "max_pooling2d", cf.max_pool_forward, max_pool_backward, params=_pool_param, data="NCHW"
)
