"""Pooling without padding: the loop implementation's pooling, refusing any
padding (as a port that has not written it yet would). The tests show that
declaring the padding factor unsupported keeps padding out of every corner,
and that the hint names the factor, not the corner, before it is declared."""

from tests.impls import article_loops
from tests.impls.article_loops import pair


def _refuse_padding(padding) -> None:
    if any(pair(padding)):
        raise NotImplementedError(f"padding={padding!r}: only padding=0 is implemented")


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    _refuse_padding(padding)
    return article_loops.max_pooling2d(u, pool_size, padding, strides)


def max_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    _refuse_padding(padding)
    return article_loops.max_pooling2d_back(dz, u, z, pool_size, padding, strides)
