"""Build refcnn/datasets/mnist_subset.npz, the small real-MNIST sample that
ships with refcnn so that `refcnn train` runs with no data and no network.

    python scripts/make_mnist_subset.py --data-dir ../shared/data/mnist

Takes a class-balanced sample at a fixed seed: 6000 training images (600 per
class) from MNIST's training set and 1000 test images (100 per class) from its
test set, stored as uint8 with their labels. The source files are checked
against their SHA-256 first. Running it twice gives the same file.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

from refcnn import data

TARGET = Path(__file__).resolve().parent.parent / "refcnn" / "datasets" / "mnist_subset.npz"


def balanced(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    picks = [rng.choice(np.flatnonzero(labels == k), per_class, replace=False) for k in range(10)]
    return np.sort(np.concatenate(picks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    arrays = {
        key: data.read_idx(data._find(Path(args.data_dir), spec), spec)
        for key, spec in data.MNIST_FILES.items()
    }
    rng = np.random.default_rng(20261128)
    train = balanced(arrays["train_labels"], 600, rng)
    test = balanced(arrays["test_labels"], 100, rng)
    content = {
        "x_train": arrays["train_images"][train],
        "t_train": arrays["train_labels"][train],
        "x_test": arrays["test_images"][test],
        "t_test": arrays["test_labels"][test],
        "train_index": train.astype(np.int32),
        "test_index": test.astype(np.int32),
    }
    # A zip written entry by entry with a fixed timestamp: byte-identical reruns.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, array in content.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, npy.getvalue())
    TARGET.write_bytes(buffer.getvalue())
    print(
        f"wrote {TARGET} ({TARGET.stat().st_size} bytes): {len(train)} train, "
        f"{len(test)} test images"
    )


if __name__ == "__main__":
    main()
