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
