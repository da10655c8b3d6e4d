"""The article's array layouts and the axis permutations to others, in one
place (refcnn and its conformance suite both use them).

* data: ``NHWC`` ``(n, h, w, c)``; torch's and most textbooks' ``NCHW``;
* filters: ``FHWC`` ``(fn, fh, fw, fc)``; torch's ``OIHW`` ``(out, in, kh,
  kw)``; Keras' ``HWIO`` ``(kh, kw, in, out)``;
* the step functions' arrays (``conv`` ... ``convpscfu``): ``(h, w)``,
  ``(h, w, c)`` or NHWC data and ``(fh, fw)``, ``(fh, fw, fc)`` or FHWC
  filters, lifted to the layer's 4-D layouts by :func:`lift` (a batch of
  one, one channel, one filter).
"""

from __future__ import annotations

from typing import Any

# article layout -> other layout: arr.transpose(PERMUTATIONS[...])
PERMUTATIONS: dict[tuple[str, str], tuple[int, int, int, int]] = {
    ("data", "NCHW"): (0, 3, 1, 2),
    ("filters", "OIHW"): (0, 3, 1, 2),
    ("filters", "HWIO"): (1, 2, 3, 0),
}
DATA_LAYOUTS = ("NHWC", "NCHW")
FILTER_LAYOUTS = ("FHWC", "OIHW", "HWIO")
NHWC_TO_NCHW = PERMUTATIONS[("data", "NCHW")]
NCHW_TO_NHWC = (0, 2, 3, 1)
FHWC_TO_OIHW = PERMUTATIONS[("filters", "OIHW")]

# Index that lifts a step function's array of that many dimensions to 4-D
# (data and filters alike: (h, w) -> (1, h, w, 1), (h, w, c) -> (1, h, w, c)).
_LIFT = {2: (None, slice(None), slice(None), None), 3: (None, Ellipsis), 4: (Ellipsis,)}


def lift(array: Any, dims: int) -> Any:
    """A step function's ``(h, w)``, ``(h, w, c)`` or 4-D array (NumPy or
    torch) as the layer's 4-D array: a view."""
    return array[_LIFT[dims]]


def unlift(z: Any, u_dims: int, f_dims: int) -> Any:
    """A 4-D layer output back to the step function's: the batch axis
    dropped for unbatched data, the filter axis for a single filter."""
    if u_dims < 4:
        z = z[0]
    return z if f_dims == 4 else z[..., 0]
