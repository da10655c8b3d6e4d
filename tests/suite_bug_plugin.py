"""A pytest plugin that plants a bug in the suite's own comparison (it
raises ZeroDivisionError) in the trusted process: the run must report a
suite error, exit 3, and never blame the implementation. (Judged code can no
longer do this: it runs in the worker, where no comparison runs.)"""

import sys


def _broken(*args, **kwargs):
    return 1 / 0


def pytest_runtest_setup(item) -> None:
    # At each test, not at configure: the suite's modules are imported at
    # collection, under whichever name the run gives them.
    for name, module in list(sys.modules.items()):
        if name.endswith("conformance.judging.checks"):
            module.assert_close = _broken
