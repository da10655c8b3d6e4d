"""Training curves: accuracy and loss per epoch, train and test.

With matplotlib installed (``pip install refcnn[plot]``) the plot is a PNG;
refcnn itself needs only NumPy, so without matplotlib an equivalent SVG is
written by hand instead.
"""

from __future__ import annotations

import importlib.util
import io
import math
from pathlib import Path

from .checkpoint import atomic_write

SERIES = (("train_acc", "test_acc", "accuracy"), ("train_loss", "test_loss", "loss"))


def have_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def prepare() -> None:
    """Import the plotting backend now (a second or so), so that it does not
    happen, and cannot be interrupted half-way, in the middle of training."""
    if have_matplotlib():
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot


def write_curves(learn_info: dict, png_path: Path, title: str = "") -> Path:
    """Write ``png_path`` (matplotlib) or the same name with ``.svg``; returns
    the path written."""
    if have_matplotlib():
        atomic_write(png_path, lambda f: f.write(_png(learn_info, title)))
        return png_path
    svg_path = Path(png_path).with_suffix(".svg")
    atomic_write(svg_path, lambda f: f.write(_svg(learn_info, title)), mode="w")
    return svg_path


def _png(info: dict, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, (train, test, label) in zip(axes, SERIES, strict=True):
        axis.plot(info["epoch"], info[train], "o-", label="train", markersize=3)
        if not all(math.isnan(v) for v in info[test]):
            axis.plot(info["epoch"], info[test], "s-", label="test", markersize=3)
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend()
    axes[1].set_yscale("log")
    accuracies = [v for v in info["train_acc"][1:] + info["test_acc"][1:] if not math.isnan(v)]
    if accuracies:  # zoom on the trained epochs; epoch 0 (chance) would squash them
        axes[0].set_ylim(max(0.0, min(accuracies) - 0.01), 1.0005)
        start = ", ".join(
            f"{k.split('_')[0]} {info[k][0]:.3f}"
            for k in ("train_acc", "test_acc")
            if not math.isnan(info[k][0])
        )
        axes[0].set_title(f"accuracy (epoch 0: {start})", fontsize=10)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def _svg(info: dict, title: str) -> str:
    width, height, pad = 420, 300, 45
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" '
        f'height="{height + 30}" font-family="sans-serif" font-size="11">',
        f'<text x="10" y="16">{title}</text>',
    ]
    epochs = info["epoch"]
    for panel, (train, test, label) in enumerate(SERIES):
        x0 = panel * width
        values = [v for v in info[train] + info[test] if not math.isnan(v)]
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        high = high if high > low else low + 1.0
        last = max(epochs[-1], 1) if epochs else 1

        def point(e, v, x0=x0, low=low, high=high, last=last):
            x = x0 + pad + (width - 2 * pad) * e / last
            y = 30 + (height - pad) * (1 - (v - low) / (high - low))
            return f"{x:.1f},{y:.1f}"

        parts.append(
            f'<rect x="{x0 + pad}" y="30" width="{width - 2 * pad}" '
            f'height="{height - pad}" fill="none" stroke="#999"/>'
        )
        parts.append(
            f'<text x="{x0 + pad}" y="{height + 25}">{label} vs epoch '
            f"(0..{last}); range {low:.4g}..{high:.4g}</text>"
        )
        for key, colour in ((train, "#1f77b4"), (test, "#d62728")):
            points = [
                point(e, v) for e, v in zip(epochs, info[key], strict=True) if not math.isnan(v)
            ]
            if points:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" '
                    f'points="{" ".join(points)}"><title>{key}</title></polyline>'
                )
    parts.append("</svg>")
    return "\n".join(parts)
