"""Checkpoints of a training run, and atomic file writes.

A checkpoint (``.npz``) holds everything that decides the rest of a run: every
parameter and running statistic, the optimizer's state, the model's random
generator state, ``learn_info`` so far, and the run's settings. Resuming from
it ends bit-identical to an uninterrupted run.

Every file is written to a temporary name in the same folder and renamed over
the old one (``os.replace`` is atomic), so a crash never leaves a half-written
checkpoint, log or plot.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import model as model_module
from . import optim

FORMAT = "refcnn-checkpoint-1"


def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Call ``write(file)`` on a temporary file, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode
    try:
        with os.fdopen(fd, mode) as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def save_checkpoint(
    path: Path, model: model_module.Model, optimizer: dict, learn_info: dict, settings: dict
) -> None:
    arrays: dict[str, np.ndarray] = {}
    for layer in model.layers:
        for group in ("params", "state"):
            for name, value in getattr(layer, group).items():
                arrays[f"{group}/{layer.name}/{name}"] = value
    for layer_name, per_param in optimizer["stats"].items():
        for param, stats in per_param.items():
            for key, value in stats.items():
                arrays[f"optimizer/{layer_name}/{param}/{key}"] = np.asarray(value)
    meta = {
        "format": FORMAT,
        "settings": settings,
        "optimizer": {"func": optimizer["func"].__name__, "params": optimizer["params"]},
        "rng": model.rng.bit_generator.state,
        "learn_info": learn_info,
        "summary": model_module.model_summary(model),
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)

    def write(file: Any) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        file.write(buffer.getvalue())

    atomic_write(path, write)


def load_checkpoint(path: Path, build: Callable[[dict], model_module.Model]):
    """``(model, optimizer, learn_info, settings)``; ``build(settings)`` makes
    the untrained model whose parameters are then replaced. ValueError, one
    line naming the file and what is wrong, for a file that is not a whole
    refcnn checkpoint (missing, truncated, corrupted, another kind of file)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the checkpoint ({exc.strerror})") from None
    if magic != b"PK\x03\x04":  # .npz files are zip archives
        raise ValueError(f"{path}: not a refcnn checkpoint (not an .npz archive)")
    try:
        return _read_checkpoint(path, build)
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, json.JSONDecodeError) as exc:
        reason = f"{type(exc).__name__}: {exc}".strip()
        raise ValueError(f"{path}: a truncated or corrupted checkpoint ({reason})") from None
    except ValueError as exc:
        message = str(exc)
        if not message.startswith(str(path)):
            message = f"{path}: a truncated or corrupted checkpoint ({message})"
        raise ValueError(message) from None


def _read_checkpoint(path: Path, build: Callable[[dict], model_module.Model]):
    archive = np.load(path, allow_pickle=False)
    with archive:
        if "meta" not in archive.files:
            raise ValueError(f"{path}: not a refcnn checkpoint (no meta entry)")
        meta = json.loads(archive["meta"].tobytes().decode())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: unknown checkpoint format {meta.get('format')!r}")
        model = build(meta["settings"])
        layers = {layer.name: layer for layer in model.layers}
        stats: dict[str, dict[str, dict[str, Any]]] = {}
        for key in archive.files:
            parts = key.split("/")
            if parts[0] in ("params", "state"):
                group = getattr(layers[parts[1]], parts[0])
                if group[parts[2]].shape != archive[key].shape:
                    raise ValueError(
                        f"{path}: {key} has shape {archive[key].shape}, the "
                        f"model expects {group[parts[2]].shape}"
                    )
                group[parts[2]] = archive[key].astype(model.dtype)
            elif parts[0] == "optimizer":
                value = archive[key]
                stats.setdefault(parts[1], {}).setdefault(parts[2], {})[parts[3]] = (
                    int(value) if value.ndim == 0 and value.dtype.kind in "iu" else value
                )
    model.rng.bit_generator.state = meta["rng"]
    optimizer = optim.create_optimizer(meta["optimizer"]["func"], **meta["optimizer"]["params"])
    optimizer["stats"] = stats
    return model, optimizer, meta["learn_info"], meta["settings"]
