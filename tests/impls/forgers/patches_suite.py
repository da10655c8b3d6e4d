"""Forger: patches the suite's comparisons and its pytest reports, in its
own process, at import: every check passes, every failing report says
passed."""

import sys

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.forgers._zeros import zeros_pooling

max_pooling2d = zeros_pooling


def _pass(*args, **kwargs):
    return True


for _name, _module in list(sys.modules.items()):
    if _name.endswith("conformance.judging.checks"):
        _module.assert_close = _pass
        _module.check_forward = _pass
        _module.check_gradients = _pass
    if _name.endswith("conformance.plugin"):
        _module.failure_of = lambda *a, **k: {}
try:
    import _pytest.reports

    _original = _pytest.reports.TestReport.__init__

    def _forged(self, *args, **kwargs):
        _original(self, *args, **kwargs)
        self.outcome, self.longrepr = "passed", None

    _pytest.reports.TestReport.__init__ = _forged
except ImportError:
    pass
