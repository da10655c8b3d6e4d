"""The verdict's identifiers as its text for people says them: statuses
(``pass``, ``FAIL``, ``not provided``), checks (``forward``, ``gradient``)
and failure kinds (``wrong values``, ``raised``), in the current language
(refcnn.i18n). The JSON keeps the identifiers themselves.
"""

from __future__ import annotations

from refcnn.i18n import N_, tr_marked

_STATUS = {
    "pass": N_("pass"),
    "FAIL": N_("FAIL"),
    "not run": N_("not run"),
    "pass+xfail": N_("pass+xfail"),
    "xfail": N_("xfail"),
    "unsupported": N_("unsupported"),
    "not provided": N_("not provided"),
    "not checked": N_("not checked"),
    "skipped": N_("skipped"),
}
_CHECK = {
    "forward": N_("forward"),
    "backward": N_("backward"),
    "gradient": N_("gradient"),
    "golden": N_("golden"),
    "hygiene": N_("hygiene"),
    "defaults": N_("defaults"),
    "fixtures": N_("fixtures"),
    "validation": N_("validation"),
    "semantics": N_("semantics"),
    "trajectory": N_("trajectory"),
    "distribution": N_("distribution"),
    "call": N_("call"),  # a failing function that is neither forward nor backward
}

_KIND = {
    "wrong values": N_("wrong values"),
    "wrong shape": N_("wrong shape"),
    "raised": N_("raised"),
    "mutated input": N_("mutated input"),
    "aliased output": N_("aliased output"),
    "wrong dtype": N_("wrong dtype"),
    "crashed": N_("crashed"),
    "timed out": N_("timed out"),
    "suite error": N_("suite error"),
}


def kind_text(kind: str) -> str:
    """A failure's kind (``wrong values``, ``raised``, ...) in the current language."""
    return tr_marked(_KIND[kind]) if kind in _KIND else kind


def status_text(status: str) -> str:
    """A status (``pass``, ``FAIL``, ``not provided``, ...) in the current language."""
    return tr_marked(_STATUS[status]) if status in _STATUS else status


def check_text(check: str) -> str:
    """A check's name (``forward``, ``gradient``, ...) in the current language."""
    return tr_marked(_CHECK[check]) if check in _CHECK else check
