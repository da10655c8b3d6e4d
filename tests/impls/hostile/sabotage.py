"""Hostile: breaks the suite's own code at import (its comparison raises
ZeroDivisionError), so that the run must report a suite error, exit 3,
and never blame the implementation."""

import sys

from tests.impls.article_loops import flatten2d, flatten2d_back  # noqa: F401


def _broken(got, expected):
    return 1 / 0


# the suite is refcnn.conformance when installed, conformance in a clone
for name, module in list(sys.modules.items()):
    if name.endswith("conformance.judging.checks"):
        module.worst_element = _broken
