"""Hostile: ends its process the moment it is imported."""

import os

from tests.impls.article_loops import *  # noqa: F403

os._exit(3)
