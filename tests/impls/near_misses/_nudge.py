"""Moving one element of a correct result by a multiple of the judge's
documented tolerance (docs/reference.md, "Tolerances"): ``|got - expected|
<= rtol * max(1, max|expected|)``, rtol 1e-10 for float64 and 1e-4 for
float32. Shared by the near misses and the near passes."""

import numpy as np

RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}


def nudged(z: np.ndarray, times: float) -> np.ndarray:
    """A copy of ``z`` whose last element is moved by ``times`` the tolerance
    of its dtype (the last: a judge that looks at the first elements only,
    or the worst one wrongly, misses it)."""
    z = np.array(z, copy=True)
    if z.size:
        scale = max(1.0, float(np.abs(z).max()))
        z.flat[-1] += z.dtype.type(times * RTOL[z.dtype] * scale)
    return z


def moved(z: np.ndarray, amounts: dict) -> np.ndarray:
    """A copy of ``z`` whose last element is moved by ``amounts[dtype]``
    times ``max(1, max|z|)``."""
    z = np.array(z, copy=True)
    if z.size:
        scale = max(1.0, float(np.abs(z).max()))
        z.flat[-1] += z.dtype.type(amounts[z.dtype.name] * scale)
    return z
