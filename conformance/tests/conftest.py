"""Loads the suite's pytest plugin (:mod:`refcnn.conformance.plugin`).

``pytest -p refcnn.conformance.plugin --pyargs refcnn.conformance`` registers
the plugin before pytest parses the options; otherwise (``pytest
conformance`` in the repository, ``python -m refcnn.conformance``) this
conftest does. In a clone of the repository the suite's files are importable
both as ``conformance`` and as ``refcnn.conformance``: take the one already
loaded, so that its options are registered once.
"""

import sys

_INSTALLED = "refcnn.conformance.plugin"
pytest_plugins = [
    _INSTALLED if _INSTALLED in sys.modules else f"{__package__.rpartition('.')[0]}.plugin"
]
