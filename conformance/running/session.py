"""The suite's pytest session, in a process of its own: what
:func:`conformance.running.api.check` starts (``python -m refcnn.conformance.running.session
PYTEST_ARGS...``), with the environment and arguments that make it hermetic.

It ends with the process that started it (SIGTERM when that one dies, even
by SIGKILL, on Linux: the run then stops as interrupted), so that a killed
command or notebook kernel leaves no run behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import sys

from .options import PARENT

_PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    parent = int(os.environ.get(PARENT, "0") or 0)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent and os.getppid() != parent:  # it died before prctl took effect
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    _end_with_parent()
    import pytest

    return int(pytest.main(sys.argv[1:] if argv is None else argv))


def _exit(code: int) -> None:
    """Leave without the interpreter's teardown (torch's alone takes most of
    a second per session, a grade pays it per submission): pytest has closed
    its files; the exit handlers run and the streams are flushed first."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit(main())
