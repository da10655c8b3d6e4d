"""Arrays printed the way the article prints them (imported as ``mx``): 2-D
matrices, one per (sample, channel) of NHWC data and per (filter, channel)
of ``(fn, fh, fw, c)`` filters, side by side; the implementation's output
beside the expected one, its differing cells marked ``*5*``.

Works on the JSON form of an explanation (``failure.minimal``: nested
lists), so that the terminal, the failures file and the report page show
the same text.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from refcnn.i18n import ljust, tr, width

from ..expected import tolerances as tol

GAP = "    "
WIDTH = 100  # characters of a row of matrices before it wraps
SLICES = 8  # matrices shown per array at most


def _number(x: Any) -> str:
    if isinstance(x, str):
        return x
    x = float(x)
    if np.isfinite(x) and x == round(x):
        return str(int(x))
    return f"{x:.4g}"


def _as_array(value: Any) -> np.ndarray | None:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _slices(name: str, array: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The 2-D matrices of an array, titled with their index: NHWC's (h, w)
    per (sample, channel); an array of more dimensions (a wrong output, say
    ``(1, n, h, w, c)``) by its last three axes the same way."""
    if array.ndim >= 4:
        lead = array.shape[:-3]
        return [
            (f"{name}[{','.join(map(str, index))},:,:,{j}]", array[(*index, Ellipsis, j)])
            for index in np.ndindex(*lead)
            for j in range(array.shape[-1])
        ]
    if array.ndim == 3:
        return [(f"{name}[:,:,{j}]", array[:, :, j]) for j in range(array.shape[2])]
    if array.ndim <= 1:
        return [(name, np.atleast_1d(array)[None, :])]
    return [(name, array)]


def _block(title: str, matrix: np.ndarray, marks: np.ndarray | None = None) -> list[str]:
    """A titled matrix; cells where ``marks`` is set are starred."""
    cells = [[_number(x) for x in row] for row in matrix]
    width = max((len(c) for row in cells for c in row), default=1)
    lines = [title]
    for r, row in enumerate(cells):
        parts = []
        for c, text in enumerate(row):
            marked = marks is not None and bool(marks[r, c])
            parts.append(f"*{text:>{width}}*" if marked else f" {text:>{width}} ")
        lines.append("[" + "".join(parts) + "]")
    if not cells or not cells[0]:
        lines.append(tr("(empty)"))
    return lines


def side_by_side(blocks: list[list[str]], indent: str = "  ") -> list[str]:
    """Blocks in rows, each row as wide as ``WIDTH`` allows."""
    rows: list[list[list[str]]] = [[]]
    used = 0
    for block in blocks:
        columns = max(width(line) for line in block)
        if rows[-1] and used + len(GAP) + columns > WIDTH:
            rows.append([])
            used = 0
        rows[-1].append(block)
        used += columns + len(GAP)
    out = []
    for row in rows:
        widths = [max(width(line) for line in block) for block in row]
        for i in range(max(len(block) for block in row)):
            parts = [
                ljust(block[i] if i < len(block) else "", columns)
                for block, columns in zip(row, widths, strict=True)
            ]
            out.append((indent + GAP.join(parts)).rstrip())
    return out


def _limited(slices: list[Any]) -> tuple[list[Any], str]:
    more = len(slices) - SLICES
    return slices[:SLICES], ("  " + tr("... and {n} more matrices", n=more) if more > 0 else "")


def inputs_lines(inputs: dict[str, Any], dz: Any = None) -> list[str]:
    """Each input (and ``dz``) as its matrices, side by side."""
    blocks, notes = [], []
    named = {**inputs, **({"dz": dz} if dz is not None else {})}
    for name, value in named.items():
        array = _as_array(value)
        if array is None:
            blocks.append([name, str(value)])
            continue
        shown, note = _limited(_slices(name, array))
        blocks += [_block(title, matrix) for title, matrix in shown]
        notes += [note] if note else []
    return side_by_side(blocks) + notes


def padded_lines(u: Any, params: dict[str, Any]) -> list[str]:
    """``u`` with the article's zero padding, when there is padding."""
    padding = params.get("padding", params.get("p"))
    array = _as_array(u) if padding else None
    if array is None or array.ndim < 2:
        return []
    ph, pw = (padding, padding) if isinstance(padding, int) else tuple(padding)
    if not (ph or pw):
        return []
    spatial = (1, 2) if array.ndim == 4 else (0, 1)
    widths = [(0, 0)] * array.ndim
    widths[spatial[0]], widths[spatial[1]] = (ph, ph), (pw, pw)
    shown, note = _limited(_slices(tr("u padded"), np.pad(array, widths)))
    return side_by_side([_block(title, matrix) for title, matrix in shown]) + (
        [note] if note else []
    )


def outputs_lines(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Each output: the expected matrix, the implementation's beside it with
    its differing cells starred (the matrices that agree: the first only)."""
    out = []
    if not got:  # it raised (the failure's line says what): the expected values alone
        blocks = [
            _block(tr("{title} expected", title=title), matrix)
            for name, want in expected.items()
            if (array := _as_array(want)) is not None
            for title, matrix in _slices(name, array)
        ]
        shown, note = _limited(blocks)
        return side_by_side(shown) + ([note] if note else [])
    for name, want in expected.items():
        want_array, got_value = _as_array(want), got.get(name)
        got_array = None if got_value is None else _as_array(got_value)
        if want_array is None:
            continue
        if got_array is None or got_array.shape != want_array.shape:
            what = tr("nothing") if got_value is None else (
                tr("shape {shape}", shape=got_array.shape) if got_array is not None
                else str(got_value)[:80]
            )  # fmt: skip
            out.append("  " + tr("{name}: expected shape {shape}, got {what}", name=name,
                                 shape=want_array.shape, what=what))  # fmt: skip
            blocks = [
                _block(tr("{title} expected", title=t), m) for t, m in _slices(name, want_array)
            ]
            if got_array is not None:
                blocks += [
                    _block(tr("{title} got", title=t), m) for t, m in _slices(name, got_array)
                ]
            shown, note = _limited(blocks)
            out += side_by_side(shown) + ([note] if note else [])
            continue
        scale = tol.explain_scale(want_array)
        blocks, agreeing = [], 0
        pairs = zip(_slices(name, want_array), _slices(name, got_array), strict=True)
        for (title, want_m), (_, got_m) in pairs:
            marks = tol.differing(got_m, want_m, scale)
            if not marks.any():
                agreeing += 1
                if agreeing > 1:
                    continue
            blocks.append(_block(tr("{title} expected", title=title), want_m))
            blocks.append(_block(tr("got"), got_m, marks))
        shown, note = _limited(blocks)
        out += side_by_side(shown) + ([note] if note else [])
    return out


def explanation_lines(minimal: dict[str, Any], hint: str = "") -> list[str]:
    """The smallest failing example as a person reads it: the call, the
    failure, the inputs, expected beside got, and the hint."""
    lines = [  # no seconds: the same run gives the same text, on any machine
        tr("smallest failing example found ({tried} tried): {call}",
           tried=minimal.get("tried", "?"), call=minimal["call"]),
        f"  {minimal['message']}",
    ]  # fmt: skip
    lines += inputs_lines(minimal["inputs"], minimal.get("dz"))
    lines += padded_lines(minimal["inputs"].get("u"), minimal.get("params", {}))
    lines += outputs_lines(minimal["expected"], minimal["got"])
    if hint:
        lines.append("  " + tr("looks like: {hint}", hint=hint))
    return lines
