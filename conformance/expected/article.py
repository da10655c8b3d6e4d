"""Loading the article's transcribed arrays (``fixtures/article/*.json``),
imported as ``fx``.

Each file holds one printed example: the call, its inputs (with the rule the
article builds them by), the printed output and where the article prints it.
Outputs printed slice by slice (``z[:, :, i]``) are stored as printed and
reassembled here, so the files can be read side by side with the article.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Installed, the fixtures sit inside the suite's package (refcnn/conformance/fixtures);
# in a clone of the repository, beside it (fixtures/).
_SUITE = Path(__file__).resolve().parents[1]
FIXTURES_DIR = next(
    (d for d in (_SUITE / "fixtures", _SUITE.parent / "fixtures") if d.is_dir()),
    _SUITE / "fixtures",
)
ARTICLE_DIR = FIXTURES_DIR / "article"


@dataclass(frozen=True)
class ArticleExample:
    id: str
    function: str
    call: str
    args: tuple[str, ...]
    kwargs: dict[str, Any]
    inputs: dict[str, np.ndarray]
    rules: dict[str, str]
    expected: np.ndarray
    source: str


def index_digits(shape: tuple[int, ...]) -> np.ndarray:
    """The article's input rule: each value spells its 1-based indices as
    decimal digits, e.g. ``u553[i][j][k] = 100*(i+1) + 10*(j+1) + (k+1)``."""
    value = np.zeros(shape, dtype=np.int64)
    for axis, size in enumerate(shape):
        digit = np.arange(1, size + 1).reshape([-1 if a == axis else 1 for a in range(len(shape))])
        value = value + digit * 10 ** (len(shape) - 1 - axis)
    return value


RULES = {"index_digits": index_digits}


def assemble(expected: dict[str, Any]) -> np.ndarray:
    """Rebuild the output from the slices the article printed: the leading
    axes of the stacked slices are moved to ``slice_axes``."""
    slices = np.array(expected["slices"], dtype=np.float64)
    axes = expected["slice_axes"]
    if not axes:
        return slices[0]
    loops = len(axes)
    # The article's print loops run over the axes in order, outer first.
    stacked = slices.reshape(*_loop_sizes(slices.shape[0], loops, expected), *slices.shape[1:])
    return np.moveaxis(stacked, list(range(loops)), axes)


def _loop_sizes(count: int, loops: int, expected: dict[str, Any]) -> tuple[int, ...]:
    if loops == 1:
        return (count,)
    sizes = tuple(expected["loop_sizes"])
    if int(np.prod(sizes)) != count:
        raise ValueError(f"loop_sizes {sizes} do not match {count} printed slices")
    return sizes


def load_article_example(path: Path) -> ArticleExample:
    data = json.loads(path.read_text(encoding="utf-8"))
    inputs = {name: np.array(spec["values"]) for name, spec in data["inputs"].items()}
    rules = {name: spec["rule"] for name, spec in data["inputs"].items()}
    return ArticleExample(
        id=data["id"],
        function=data["function"],
        call=data["call"],
        args=tuple(data["args"]),
        kwargs={k: tuple(v) if isinstance(v, list) else v for k, v in data["kwargs"].items()},
        inputs=inputs,
        rules=rules,
        expected=assemble(data["expected"]),
        source=data["source"],
    )


def article_examples() -> list[ArticleExample]:
    """Every printed convolution example, sorted by file name."""
    return [load_article_example(path) for path in sorted(ARTICLE_DIR.glob("conv*.json"))]


def layer_table() -> dict[str, Any]:
    return json.loads((ARTICLE_DIR / "mnist_model_layer_table.json").read_text(encoding="utf-8"))
