"""Hostile: a right ReLU that then reads its input's memory as other values
in place (``u.dtype = ...``: strings of the same size in bytes), which the
worker hands back. The hygiene check must call it a mutated input, not crash
comparing strings with numbers."""

import numpy as np


def relu(u):
    z = np.maximum(u, 0)
    u.dtype = np.dtype(f"<U{u.itemsize // 4}")
    return z
