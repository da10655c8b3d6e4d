"""The conformance suite of refcnn (installed as ``refcnn.conformance``).

From Python::

    from refcnn.conformance import check
    verdict = check("mylayers.py")      # or a module, a notebook, globals()
    verdict.passed, verdict.causes, verdict.write_html("report.html")

From a terminal: ``refcnn conformance --impl mylayers``; with pytest: see
docs/user-guide.md.
"""

from .running.api import Interrupted, Result, UsageError, Verdict, check

__all__ = ["Interrupted", "Result", "UsageError", "Verdict", "check"]
