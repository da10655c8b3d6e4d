"""Hostile: tries to read the other submissions: the grader's scratch
folders, and the class folder named on its command line."""

import os
from pathlib import Path

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.article_loops import max_pooling2d as _honest
from tests.impls.grading._reach import grader_paths


def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    here = Path.cwd()
    folders = [here.parent, *grader_paths()["submissions"]]  # the scratch folders' base
    stolen = 0
    for folder in folders:
        for name in os.listdir(folder):  # PermissionError where the grader is root
            path = folder / name
            if path != here and path.is_file():
                path.read_bytes()
                stolen += 1
    if stolen:
        raise RuntimeError(f"read {stolen} files of others in {folders}")
    return _honest(u, pool_size, padding, strides)
