from __future__ import annotations

import subprocess
import sys

import refcnn

ARTICLE_API = [
    "conv",
    "convp",
    "convps",
    "convpsc",
    "convpscf",
    "convpscfu",
    "convolution2d",
    "convolution2d_back",
    "max_pooling2d",
    "max_pooling2d_back",
    "average_pooling2d",
    "average_pooling2d_back",
    "flatten2d",
    "flatten2d_back",
]


def test_import_refcnn_does_not_import_torch() -> None:
    code = "import sys, refcnn; from refcnn import *; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_article_api_is_top_level() -> None:
    for name in ARTICLE_API:
        assert callable(getattr(refcnn, name)), name
        assert name in refcnn.__all__


def test_the_layer_modules_star_import_their_functions() -> None:
    """``from refcnn.convolution import *`` (and pool, flatten) gives that
    module's article functions, as the package's own star import does."""
    found: set[str] = set()
    for module in ("convolution", "pool", "flatten"):
        names: dict = {}
        exec(f"from refcnn.{module} import *", names)
        found |= {name for name in names if not name.startswith("__")}
    assert found >= set(ARTICLE_API), set(ARTICLE_API) - found
