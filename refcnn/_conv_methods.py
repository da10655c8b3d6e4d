"""The two ways refcnn computes a convolution, for one shard of the batch.

Both give the article's numbers (to rounding; the conformance suite and the
golden fixtures judge each); which one runs is fixed by the geometry alone
(:func:`banded`), never by timing, so a run is deterministic.

* **im2col** (``Columns``): every window copied into a column matrix, then
  one matrix product with the filters. Few channels (``c <= 4``) use a
  channel-major layout ``(K, M)`` (``K = fh*fw*c``, ``M = n*zh*zw``): the copy
  runs along contiguous rows; the product is taken as ``W (fn, K) @ cols``,
  the orientation OpenBLAS does fastest here (the transposed one, ``cols.T @
  W.T``, was 3x slower in float64), and transposed into the output. More
  channels use the row-major layout ``(M, K)``.
* **banded** (``Banded``): for each kernel row ``a``, the padded input rows
  ``i*sh + a`` times a banded (Toeplitz) matrix built from the filters,
  ``T[a]`` of shape ``(Wp*c, zw*fn)``; stacked over ``a`` this is one product
  ``(n*zh, kh*Wp*c) @ (kh*Wp*c, zw*fn)`` whose result is already NHWC. It
  does ``Wp/fw`` times the multiply-adds of im2col, but on fat, well-shaped
  matrices, and copies only ``kh`` rows per output row instead of
  ``fh*fw`` values per output element; the input gradient is one product
  with ``T``'s transpose and ``kh`` row additions, instead of im2col's
  ``fh*fw`` scattered additions. It wins for few channels and filters and a
  kernel not much narrower than the image (the article's MNIST layer: 28
  wide, 7x7, 1 channel, 6 filters), measured by benchmarks/bench_layers.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _windows
from ._args import Pair
from ._scratch import Buffers

# im2col layouts: channel-major up to this many channels (see module doc).
CHANNEL_MAJOR_MAX_C = 4
# The banded formulation when the padded width is at most this many kernel
# widths and channels x filters is at most BANDED_MAX_CF: its extra
# multiply-adds (Wp / fw times im2col's) are then cheaper than im2col's copies.
BANDED_MAX_WIDTH_RATIO = 4.0
BANDED_MAX_CF = 48


@dataclass(frozen=True)
class Geometry:
    window: Pair
    padding: Pair
    strides: Pair
    out_hw: Pair
    dtype: np.dtype


def banded(u_shape: tuple[int, ...], W_shape: tuple[int, ...], geometry: Geometry) -> bool:
    """Whether the banded formulation computes this convolution."""
    _, _, w, c = u_shape
    fn, _, fw, _ = W_shape
    padded_width = w + 2 * geometry.padding[1]
    return padded_width <= BANDED_MAX_WIDTH_RATIO * fw and c * fn <= BANDED_MAX_CF


def work(u_shape: tuple[int, ...], W_shape: tuple[int, ...], out_hw: Pair) -> int:
    """Multiply-adds and copies of a pass, to decide whether to split it."""
    n, _, _, c = u_shape
    fn, fh, fw, _ = W_shape
    return n * out_hw[0] * out_hw[1] * fh * fw * c * (fn + 1)


class Columns:
    """im2col of one shard ``u`` (n, h, w, c); the columns live in
    ``buffers`` (under ``"cols"``) until the next ``Columns`` there."""

    @staticmethod
    def prepare(W: np.ndarray, geometry: Geometry) -> None:
        """What the shards of one call share: nothing here."""
        return None

    def __init__(self, u: np.ndarray, geometry: Geometry, buffers: Buffers) -> None:
        n, h, w, c = u.shape
        self.shape, self.geometry, self.buffers = u.shape, geometry, buffers
        self.channel_major = c <= CHANNEL_MAJOR_MAX_C
        (fh, fw), (ph, pw), (sh, sw), (zh, zw) = (
            geometry.window,
            geometry.padding,
            geometry.strides,
            geometry.out_hw,
        )
        dtype = geometry.dtype
        if self.channel_major:
            padded = buffers.zeros("padded", (c, n, h + 2 * ph, w + 2 * pw), dtype)
            padded[:, :, ph : ph + h, pw : pw + w] = u.transpose(3, 0, 1, 2)
            s_c, s_n, s_h, s_w = padded.strides
            view = as_strided(
                padded,
                shape=(fh, fw, c, n, zh, zw),
                strides=(s_h, s_w, s_c, s_n, sh * s_h, sw * s_w),
                writeable=False,
            )
        else:
            padded = _windows.pad(u, geometry.padding, dtype, buffers=buffers, name="padded")
            view = _windows.windows(padded, geometry.window, geometry.strides, geometry.out_hw)
        cols = buffers.get("cols", view.shape, dtype)
        np.copyto(cols, view)
        k, m = fh * fw * c, n * zh * zw
        self.cols = cols.reshape(k, m) if self.channel_major else cols.reshape(m, k)

    def forward(self, W: np.ndarray, b: np.ndarray | None, z: np.ndarray, shared=None) -> None:
        """``z`` (n, zh, zw, fn), written: every window dotted with every filter."""
        fn = W.shape[0]
        rows = z.reshape(-1, fn)
        w_rows = W.reshape(fn, -1)
        if self.channel_major:
            by_filter = self.buffers.get("z_t", (fn, self.cols.shape[1]), self.geometry.dtype)
            np.matmul(w_rows, self.cols, out=by_filter)
            if b is not None:  # along the long axis: fast; along fn (6, say) it is not
                by_filter += b[:, None]
            np.copyto(rows, by_filter.T)
        else:
            np.matmul(self.cols, w_rows.T, out=rows)
            if b is not None:
                rows += b

    def filter_gradient(self, dz_rows: np.ndarray, W_shape: tuple[int, ...]) -> np.ndarray:
        """``dW`` rows (fn, K) from ``dz`` rows (M, fn)."""
        if not self.channel_major:
            return np.ascontiguousarray((self.cols.T @ dz_rows).T)
        if self.geometry.dtype == np.float64:  # the faster orientation, per dtype, measured
            return np.ascontiguousarray(dz_rows.T) @ self.cols.T
        return np.ascontiguousarray((self.cols @ dz_rows).T)

    def input_gradient(
        self, dz_rows: np.ndarray, W: np.ndarray, du: np.ndarray, shared=None
    ) -> None:
        """``du`` (n, h, w, c), written: every window's share ``dz . W`` added
        back where the window was read; overlapping windows add up."""
        n, h, w, c = self.shape
        g = self.geometry
        (fh, fw), (ph, pw), (zh, zw) = g.window, g.padding, g.out_hw
        fn, dtype, buffers = W.shape[0], g.dtype, self.buffers
        offsets = _windows.offsets(g.window, g.strides, g.out_hw)
        if self.channel_major:
            shares = buffers.get("shares", (fh * fw * c, n * zh * zw), dtype)
            np.matmul(W.reshape(fn, -1).T, dz_rows.T, out=shares)
            shares = shares.reshape(fh, fw, c, n, zh, zw)
            dpadded = buffers.zeros("dpadded", (c, n, h + 2 * ph, w + 2 * pw), dtype)
            for a, d, index in offsets:
                dpadded[:, :, index[1], index[2]] += shares[a, d]
            np.copyto(du, dpadded[:, :, ph : ph + h, pw : pw + w].transpose(1, 2, 3, 0))
            return
        # One (M, c) share per kernel offset, added while still in cache.
        share = buffers.get("shares", (n, zh, zw, c), dtype)
        dpadded = buffers.zeros("dpadded", (n, h + 2 * ph, w + 2 * pw, c), dtype)
        for a, d, index in offsets:
            np.matmul(dz_rows, W[:, a, d, :], out=share.reshape(-1, c))
            dpadded[index] += share
        np.copyto(du, _windows.crop(dpadded, g.padding))


def blocks(zw: int, fw: int, sw: int) -> list[tuple[int, int, int, int]]:
    """Output columns in blocks ``(j0, j1, x0, x1)``: outputs ``j0 .. j1-1``
    read padded input columns ``x0 .. x1-1``. About half a kernel width of
    outputs per block keeps the band's zeros few (each block reads
    ``(j1-j0-1)*sw + fw`` columns for ``j1-j0`` outputs)."""
    width = fw // (2 * sw) + 1
    return [
        (j0, min(zw, j0 + width), j0 * sw, (min(zw, j0 + width) - 1) * sw + fw)
        for j0 in range(0, zw, width)
    ]


def banded_filters(W: np.ndarray, outputs: int, sw: int) -> np.ndarray:
    """The band of a block of ``outputs`` columns, as a matrix ``((outputs-1)
    *sw + fw) * fh * c`` by ``outputs * fn``: ``T[j*sw + d, a, :, j, :] =
    W[:, a, d, :].T``, zeros elsewhere. It depends on the block's width only."""
    fn, fh, fw, c = W.shape
    T = np.zeros(((outputs - 1) * sw + fw, fh, c, outputs, fn), dtype=W.dtype)
    j = np.arange(outputs)
    for d in range(fw):
        # advanced indices on axes 0 and 3 go first: (outputs, fh, c, fn)
        T[j * sw + d, :, :, j, :] = W[:, :, d, :].transpose(1, 2, 0)[None]
    return T.reshape(-1, outputs * fn)


def bands(W: np.ndarray, blocks: list[tuple[int, int, int, int]], sw: int) -> list[np.ndarray]:
    """The band of each block, built once per block width."""
    by_width: dict[int, np.ndarray] = {}
    for j0, j1, _, _ in blocks:
        if j1 - j0 not in by_width:
            by_width[j1 - j0] = banded_filters(W, j1 - j0, sw)
    return [by_width[j1 - j0] for j0, j1, _, _ in blocks]


class Banded:
    """The banded formulation for one shard ``u`` (n, h, w, c). The input
    rows each output row reads are stacked as ``rows[n, i, x, a, :] =
    padded[n, i*sh + a, x, :]``, so that the columns a block of outputs reads
    are one contiguous range of each row: BLAS takes them in place. They live
    in ``buffers`` (under ``"rows"``)."""

    @staticmethod
    def prepare(W: np.ndarray, geometry: Geometry) -> list[np.ndarray]:
        """What the shards of one call share: the bands of the blocks."""
        (_, fw), (_, sw), (_, zw) = geometry.window, geometry.strides, geometry.out_hw
        return bands(W, blocks(zw, fw, sw), sw)

    def __init__(self, u: np.ndarray, geometry: Geometry, buffers: Buffers) -> None:
        n, c = u.shape[0], u.shape[3]
        self.shape, self.geometry, self.buffers = u.shape, geometry, buffers
        (fh, fw), (sh, sw), (zh, zw) = geometry.window, geometry.strides, geometry.out_hw
        padded = _windows.pad(u, geometry.padding, geometry.dtype, buffers=buffers, name="padded")
        self.padded_width = padded.shape[2]
        rows = buffers.get("rows", (n, zh, self.padded_width, fh, c), geometry.dtype)
        for a in range(fh):  # one copy per kernel row
            rows[:, :, :, a, :] = padded[:, a : a + sh * (zh - 1) + 1 : sh]
        self.rows = rows.reshape(n * zh, self.padded_width * fh * c)  # not -1: n may be 0
        self.blocks = blocks(zw, fw, sw)
        self.column = fh * c  # row entries per input column

    def _rows(self, block: tuple[int, int, int, int]) -> np.ndarray:
        return self.rows[:, block[2] * self.column : block[3] * self.column]

    def forward(self, W: np.ndarray, b: np.ndarray | None, z: np.ndarray, shared=None) -> None:
        fn = W.shape[0]
        rows = z.reshape(-1, z.shape[2] * fn)
        for block, band in zip(self.blocks, shared or self.prepare(W, self.geometry), strict=True):
            np.matmul(self._rows(block), band, out=rows[:, block[0] * fn : block[1] * fn])
        if b is not None:  # b repeated along a row: an inner loop of zw*fn, not fn
            rows += np.tile(b, z.shape[2])

    def filter_gradient(self, dz_rows: np.ndarray, W_shape: tuple[int, ...]) -> np.ndarray:
        """``dW`` rows (fn, K): per block, ``rows.T @ dz`` summed along its band."""
        fn, fh, fw, c = W_shape
        zw, sw = self.geometry.out_hw[1], self.geometry.strides[1]
        dz2 = dz_rows.reshape(self.rows.shape[0], zw * fn)
        dW = np.zeros((fw, fh, c, fn), dtype=self.geometry.dtype)
        for j0, j1, x0, x1 in self.blocks:
            G = (self._rows((j0, j1, x0, x1)).T @ dz2[:, j0 * fn : j1 * fn]).reshape(
                x1 - x0, fh, c, j1 - j0, fn
            )
            j = np.arange(j1 - j0)[:, None]  # (outputs, 1) against d (fw,)
            # G[j*sw + d, :, :, j, :] for every j and d: (outputs, fw, fh, c, fn)
            dW += G[j * sw + np.arange(fw), :, :, j, :].sum(axis=0)
        return np.ascontiguousarray(dW.transpose(3, 1, 0, 2)).reshape(fn, -1)

    def input_gradient(
        self, dz_rows: np.ndarray, W: np.ndarray, du: np.ndarray, shared=None
    ) -> None:
        """``du`` (n, h, w, c), written: per block, ``dz`` times the band's
        transpose gives the shares of the input rows it read; ``fh`` row
        additions put them in place."""
        n, h, w, c = self.shape
        g = self.geometry
        (fh, _), (ph, pw), (sh, _), (zh, zw) = g.window, g.padding, g.strides, g.out_hw
        fn = W.shape[0]
        dz2 = dz_rows.reshape(n * zh, zw * fn)
        shares = self.buffers.zeros("shares", self.rows.shape, g.dtype)
        bands_ = shared or self.prepare(W, g)
        for (j0, j1, x0, x1), band in zip(self.blocks, bands_, strict=True):
            shares[:, x0 * self.column : x1 * self.column] += dz2[:, j0 * fn : j1 * fn] @ band.T
        shares = shares.reshape(n, zh, self.padded_width, fh, c)
        dpadded = self.buffers.zeros("dpadded", (n, h + 2 * ph, self.padded_width, c), g.dtype)
        for a in range(fh):
            dpadded[:, a : a + sh * (zh - 1) + 1 : sh] += shares[:, :, :, a, :]
        np.copyto(du, dpadded[:, ph : ph + h, pw : pw + w])
