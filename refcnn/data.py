"""MNIST in the standard IDX format: reading, checking, downloading.

``load_mnist(data_dir)`` reads the four files (gzip-compressed or not) from
``data_dir`` (or ``$REFCNN_DATA_DIR``), checks each file's magic number, its
sizes and the SHA-256 of its uncompressed bytes, and returns float images
``(n, 28, 28, 1)`` scaled to [0, 1] and integer labels ``(n,)``. A truncated
or foreign file is reported with what is wrong with it. ``download_mnist``
fetches missing files from the usual public mirrors, with a progress bar and
the same checks; with no network it says where to put which files.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "MNIST_FILES",
    "MIRRORS",
    "DataError",
    "read_idx",
    "load_mnist",
    "download_mnist",
    "default_data_dir",
    "load_embedded_mnist",
    "EMBEDDED",
    "write_idx",
]

ENV_VAR = "REFCNN_DATA_DIR"
EMBEDDED = Path(__file__).resolve().parent / "datasets" / "mnist_subset.npz"


class DataError(ValueError):
    """A data file is missing, truncated, corrupted or not what it claims."""


@dataclass(frozen=True)
class IdxFile:
    stem: str  # file name without .gz
    sha256: str  # of the uncompressed bytes
    size: int  # uncompressed bytes
    shape: tuple[int, ...]


# MNIST by Y. LeCun, C. Cortes and C. J. C. Burges, CC BY-SA 3.0.
MNIST_FILES: dict[str, IdxFile] = {
    "train_images": IdxFile(
        "train-images-idx3-ubyte",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        47040016,
        (60000, 28, 28),
    ),
    "train_labels": IdxFile(
        "train-labels-idx1-ubyte",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        60008,
        (60000,),
    ),
    "test_images": IdxFile(
        "t10k-images-idx3-ubyte",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        7840016,
        (10000, 28, 28),
    ),
    "test_labels": IdxFile(
        "t10k-labels-idx1-ubyte",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        10008,
        (10000,),
    ),
}

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def default_data_dir() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path.home() / ".cache" / "refcnn" / "mnist"


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip, whatever the file is called
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: the gzip stream is damaged or truncated ({exc})") from None
    return raw


def parse_idx(content: bytes, name: str = "data") -> np.ndarray:
    """Decode IDX bytes: magic ``00 00 type ndim``, ``ndim`` big-endian sizes, data."""
    if len(content) < 4 or content[:2] != b"\x00\x00" or content[2] not in _IDX_DTYPES:
        raise DataError(
            f"{name}: not an IDX file (it starts with {content[:4].hex(' ')}, "
            f"expected 00 00 08 01 for labels or 00 00 08 03 for images)"
        )
    ndim = content[3]
    header = 4 + 4 * ndim
    if len(content) < header:
        raise DataError(f"{name}: truncated inside the IDX header")
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[content[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(content) != expected:
        what = "truncated" if len(content) < expected else "longer than its header says"
        raise DataError(
            f"{name}: {what}: {len(content)} bytes, the header {shape} needs {expected}"
        )
    return np.frombuffer(content, dtype=dtype, offset=header).reshape(shape)


def write_idx(array: np.ndarray, path: Path, compress: bool | None = None) -> None:
    """Write ``uint8`` data as IDX (gzip-compressed when the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    content = (
        bytes([0, 0, 0x08, array.ndim])
        + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
        + array.tobytes()
    )
    path = Path(path)
    if compress if compress is not None else path.suffix == ".gz":
        content = gzip.compress(content, mtime=0)
    path.write_bytes(content)


def _find(data_dir: Path, spec: IdxFile) -> Path | None:
    for name in (spec.stem + ".gz", spec.stem, spec.stem.replace("-idx", ".idx")):
        if (data_dir / name).is_file():
            return data_dir / name
    return None


def read_idx(path: Path, spec: IdxFile | None = None) -> np.ndarray:
    """Read one IDX file; with ``spec``, also check its size and SHA-256."""
    path = Path(path)
    content = _read_bytes(path)
    if spec is not None:
        if len(content) != spec.size:
            raise DataError(
                f"{path}: {len(content)} bytes uncompressed, {spec.stem} has "
                f"{spec.size}; the file is truncated or is another data set"
            )
        digest = hashlib.sha256(content).hexdigest()
        if digest != spec.sha256:
            raise DataError(
                f"{path}: SHA-256 {digest} is not that of {spec.stem} "
                f"({spec.sha256}); the file is corrupted or is another data set"
            )
    array = parse_idx(content, str(path))
    if spec is not None and array.shape != spec.shape:
        raise DataError(f"{path}: shape {array.shape}, expected {spec.shape}")
    return array


def _missing_message(
    data_dir: Path, missing: Sequence[str], files: dict[str, IdxFile] = MNIST_FILES
) -> str:
    names = ", ".join(files[key].stem + ".gz" for key in missing)
    return (
        f"MNIST is not in {data_dir}: put {names} there (gzip-compressed or not), or set "
        f"{ENV_VAR} to the folder that holds them, or run `refcnn download` with network "
        f"access."
    )


def load_mnist(
    data_dir: str | Path | None = None,
    verify: bool = True,
    download: bool = False,
    progress: bool = True,
    mirrors: Sequence[str] = MIRRORS,
    files: dict[str, IdxFile] = MNIST_FILES,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, t_train), (x_test, t_test))``: images float64
    ``(n, 28, 28, 1)`` in [0, 1], labels int64 ``(n,)``.

    ``verify`` checks sizes and SHA-256 (the structure is always checked);
    ``download`` fetches missing files first. ``files`` describes the four
    files (MNIST's by default; the tests pass their own).
    """
    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    missing = [key for key, spec in files.items() if _find(data_dir, spec) is None]
    if missing and download:
        download_mnist(data_dir, mirrors, keys=missing, progress=progress, files=files)
        missing = []
    if missing:
        raise DataError(_missing_message(data_dir, missing, files))
    arrays = {
        key: read_idx(_find(data_dir, spec), spec if verify else None)
        for key, spec in files.items()
    }
    for part in ("train", "test"):
        if len(arrays[f"{part}_images"]) != len(arrays[f"{part}_labels"]):
            raise DataError(f"{data_dir}: {part} images and labels differ in number")
    return tuple(
        (
            arrays[f"{part}_images"].reshape(-1, 28, 28, 1) / 255.0,
            arrays[f"{part}_labels"].astype(np.int64),
        )
        for part in ("train", "test")
    )


def _progress_bar(label: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        if total > 0:
            filled = int(30 * done / total)
            text = f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done / total:6.1%}"
        else:
            text = f"\r{label} {done / 1e6:.1f} MB"
        print(text, end="", file=sys.stderr, flush=True)

    return show


def download_mnist(
    data_dir: str | Path | None = None,
    mirrors: Sequence[str] = MIRRORS,
    keys: Sequence[str] | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    files: dict[str, IdxFile] = MNIST_FILES,
) -> Path:
    """Fetch the (missing) MNIST files into ``data_dir``, trying each mirror;
    every file is checked before it is moved into place (atomically)."""
    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for key in keys or list(files):
        spec = files[key]
        if _find(data_dir, spec) is not None:
            continue
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + spec.stem + ".gz"
            try:
                _fetch(url, data_dir / (spec.stem + ".gz"), spec, progress, timeout)
                break
            except (urllib.error.URLError, OSError, DataError) as exc:
                errors.append(f"{url}: {exc}")
        else:
            detail = "; ".join(errors[-len(mirrors) :])
            raise DataError(
                f"could not download {spec.stem}.gz ({detail}). "
                + _missing_message(data_dir, [key])
            )
    return data_dir


def _fetch(url: str, target: Path, spec: IdxFile, progress: bool, timeout: float) -> None:
    show = _progress_bar(spec.stem) if progress else None
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".part-") as part:
            done = 0
            while chunk := response.read(1 << 16):
                part.write(chunk)
                done += len(chunk)
                if show:
                    show(done, total)
    if show:
        print(file=sys.stderr)
    try:
        read_idx(Path(part.name), spec)  # size, SHA-256 and structure, before it counts
    except DataError:
        os.unlink(part.name)
        raise
    shutil.move(part.name, target)


def load_embedded_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The real-MNIST sample shipped with refcnn (6000 training, 1000 test
    images, class-balanced; see ``refcnn/datasets/README.md``), in the form
    of :func:`load_mnist`."""
    with np.load(EMBEDDED, allow_pickle=False) as archive:
        return tuple(
            (
                archive[f"x_{part}"].reshape(-1, 28, 28, 1) / 255.0,
                archive[f"t_{part}"].astype(np.int64),
            )
            for part in ("train", "test")
        )
