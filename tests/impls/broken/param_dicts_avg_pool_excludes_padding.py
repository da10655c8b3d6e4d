"""Bug in the parameter-dict style: average pooling leaves the padded zeros
out of its divisor (it divides by the real elements of each window)."""

import numpy as np

from refcnn.conformance.adapters import from_layer
from tests.impls.adapted_param_dicts import *  # noqa: F403
from tests.impls.styles import param_dicts


class Pool2D(param_dicts.Pool2D):
    def forward(self, x):
        self.real = (
            param_dicts._Windows(self.windows.size, self.windows.strides, self.windows.padding)
            .take(np.ones(np.shape(x)))
            .sum(axis=(4, 5))
        )
        return super().forward(x) * self.patches.shape[4] * self.patches.shape[5] / self.real

    def backward(self, dout):
        cells = self.patches.shape[4] * self.patches.shape[5]
        return super().backward(dout * cells / self.real)


average_pooling2d, average_pooling2d_back = from_layer(
    "average_pooling2d",
    lambda pool_size, padding, strides: Pool2D(pool_size, strides, padding, kind="average"),
)
