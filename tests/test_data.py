"""The IDX loader and the downloader, on small IDX files made here (never the
real data set), the downloader against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from refcnn import data

SHAPES = {
    "train_images": (12, 28, 28),
    "train_labels": (12,),
    "test_images": (5, 28, 28),
    "test_labels": (5,),
}


def make_set(directory: Path, compress: bool = True, seed: int = 0):
    """Four small IDX files and their specs (size and SHA-256 of the content)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    specs, arrays = {}, {}
    for key, shape in SHAPES.items():
        stem = data.MNIST_FILES[key].stem
        high = 256 if "images" in key else 10
        array = rng.integers(0, high, shape).astype(np.uint8)
        path = directory / (stem + (".gz" if compress else ""))
        data.write_idx(array, path)
        content = gzip.decompress(path.read_bytes()) if compress else path.read_bytes()
        specs[key] = data.IdxFile(stem, hashlib.sha256(content).hexdigest(), len(content), shape)
        arrays[key] = array
    return specs, arrays


@pytest.mark.parametrize("compress", [True, False])
def test_loads_scaled_images_and_labels(tmp_path: Path, compress: bool) -> None:
    specs, arrays = make_set(tmp_path, compress)
    (x, t), (_xt, tt) = data.load_mnist(tmp_path, files=specs)
    assert x.shape == (12, 28, 28, 1) and x.dtype == np.float64 and t.dtype == np.int64
    np.testing.assert_array_equal(x[..., 0] * 255, arrays["train_images"])
    np.testing.assert_array_equal(tt, arrays["test_labels"])
    assert 0 <= x.min() and x.max() <= 1


def test_truncated_file(tmp_path: Path) -> None:
    specs, _ = make_set(tmp_path, compress=False)
    path = tmp_path / specs["train_images"].stem
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(data.DataError, match=r"train-images-idx3-ubyte: .*truncated"):
        data.load_mnist(tmp_path, files=specs)
    expected = r"truncated: 9324 bytes, the header \(12, 28, 28\) needs 9424"
    with pytest.raises(data.DataError, match=expected):
        data.read_idx(path)  # structure alone, without the spec


def test_truncated_gzip(tmp_path: Path) -> None:
    specs, _ = make_set(tmp_path)
    path = tmp_path / (specs["test_labels"].stem + ".gz")
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(data.DataError, match=r"gzip stream is damaged or truncated"):
        data.load_mnist(tmp_path, files=specs)


def test_foreign_file(tmp_path: Path) -> None:
    specs, _ = make_set(tmp_path)
    (tmp_path / (specs["train_labels"].stem + ".gz")).write_bytes(
        gzip.compress(b"<html>not found</html>")
    )
    with pytest.raises(data.DataError, match=r"is truncated or is another data set"):
        data.load_mnist(tmp_path, files=specs)
    with pytest.raises(data.DataError, match=r"not an IDX file"):
        data.load_mnist(tmp_path, files=specs, verify=False)


def test_corrupted_content_fails_the_checksum(tmp_path: Path) -> None:
    specs, _arrays = make_set(tmp_path, compress=False)
    path = tmp_path / specs["test_images"].stem
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(data.DataError, match=r"SHA-256 .* is not that of t10k-images"):
        data.load_mnist(tmp_path, files=specs)


def test_real_mnist_specs_reject_small_files(tmp_path: Path) -> None:
    make_set(tmp_path)
    with pytest.raises(data.DataError, match=r"60000|47040016|train-images"):
        data.load_mnist(tmp_path)


def test_missing_files_say_where_to_put_what(tmp_path: Path) -> None:
    with pytest.raises(data.DataError) as info:
        data.load_mnist(tmp_path / "empty")
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert data.ENV_VAR in message and "empty" in message


@pytest.fixture()
def server(tmp_path: Path):
    """Serves tmp_path/www on 127.0.0.1 at a free port."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *args: None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_falls_back_from_a_corrupted_mirror(server, tmp_path: Path, capsys) -> None:
    root, url = server
    specs, arrays = make_set(root / "good")
    make_set(root / "bad")
    bad = root / "bad" / (specs["train_images"].stem + ".gz")
    bad.write_bytes(gzip.compress(gzip.decompress(bad.read_bytes())[:-5]))
    target = tmp_path / "data"
    (x, _t), _ = data.load_mnist(
        target, download=True, files=specs, mirrors=[f"{url}/bad/", f"{url}/good/"]
    )
    np.testing.assert_array_equal(x[..., 0] * 255, arrays["train_images"])
    assert sorted(p.name for p in target.iterdir()) == sorted(
        spec.stem + ".gz" for spec in specs.values()
    )  # no partial files left
    assert "[##############################] 100.0%" in capsys.readouterr().err


def test_download_with_only_bad_mirrors_fails_clearly(server, tmp_path: Path) -> None:
    root, url = server
    specs, _ = make_set(root / "bad")
    for path in (root / "bad").iterdir():
        path.write_bytes(gzip.compress(b"garbage"))
    with pytest.raises(data.DataError, match=r"could not download .* put .* there"):
        data.download_mnist(
            tmp_path / "d", [f"{url}/bad/", f"{url}/missing/"], files=specs, progress=False
        )
    assert not any((tmp_path / "d").iterdir())


def test_no_network_says_where_to_put_the_files(tmp_path: Path) -> None:
    with pytest.raises(data.DataError, match=r"could not download .* put train-images"):
        data.download_mnist(tmp_path, ["http://127.0.0.1:9/"], progress=False, timeout=2)


def test_embedded_subset() -> None:
    (x, t), (xt, tt) = data.load_embedded_mnist()
    assert x.shape == (6000, 28, 28, 1) and xt.shape == (1000, 28, 28, 1)
    assert np.bincount(t).tolist() == [600] * 10 and np.bincount(tt).tolist() == [100] * 10
    assert 0 <= x.min() and x.max() <= 1 and x.mean() > 0.1
