"""Run the conformance suite on an implementation, without knowing pytest.

    python -m refcnn.conformance --impl mypackage.layers [--conformance-report out.json]
    refcnn conformance --impl mypackage.layers
    refcnn conformance --impl ~/course/layers.py
    refcnn conformance --impl work.ipynb

``--impl`` names a module (the current folder is importable), a ``.py``
file, a package folder or an ``.ipynb`` notebook providing any subset of
the article API (see docs/user-guide.md). A thin layer over
:func:`refcnn.conformance.check`: the same run, sandbox and verdict.
Prints the verdict table; exit code 0 only when everything provided passes
(1 on failures, 2 when interrupted, 3 for an error of the suite or a run
that ended without its verdict, 4 on usage errors). Needs pytest,
pytest-xdist and hypothesis (``pip install 'refcnn[conformance]'``); torch
is the oracle when installed, otherwise the stored golden fixtures and
refcnn are.
"""

from __future__ import annotations

import argparse
import sys

from refcnn import i18n
from refcnn.i18n import tr

from . import options as opts


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="refcnn conformance",
        description=tr("Run the conformance suite on an implementation, without knowing pytest."),
    )
    for option in opts.OPTIONS:
        # the defaults are the plugin's (None: not passed on), but the failures file
        default = opts.FAILURES_FILE if option.python == "failures" else None
        kwargs = {**option.kwargs, "default": default, "dest": option.python,
                  "help": opts.help_text(option)}  # fmt: skip
        if kwargs.get("action") == "append":
            kwargs["default"] = []
        if option.python == "isolation":  # --no-isolation
            kwargs.update(action="store_false", default=True)
        elif kwargs.get("action") == "store_true":
            kwargs["default"] = False
        kwargs.pop("type", None)  # a value is passed on as given; the plugin converts it
        p.add_argument(option.short, **kwargs)
    p.add_argument("--junitxml", default=None, metavar="PATH", help=tr("JUnit XML report"))
    p.add_argument(
        "--thorough",
        action="store_true",
        help=tr("hypothesis profile 'thorough' (random, 1000 examples per op and check)"),
    )
    p.add_argument("-k", dest="keyword", default=None, help=tr("only tests matching (pytest -k)"))
    p.add_argument(
        "-x",
        "--exitfirst",
        action="store_true",
        help=tr("stop at the first failing test (the verdict is then of the tests run)"),
    )
    p.add_argument(
        "-n",
        "--workers",
        default="auto",
        help=tr("parallel workers with pytest-xdist (default auto; 0 for none)"),
    )
    p.add_argument(
        "--tb",
        default="no",
        help=tr(
            "pytest's traceback style on the terminal (default no: the table says what "
            "failed, the failures file has the rest)"
        ),
    )
    p.add_argument("-v", "--verbose", action="store_true", help=tr("pytest's verbose output"))
    return i18n.localize(p)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with i18n.speaking(i18n.lang_in(argv)):
        args = vars(parser().parse_args(argv))
    with i18n.speaking(args["lang"]):
        return _run(args)


def _run(args: dict) -> int:
    try:
        import hypothesis  # noqa: F401
        import pytest  # noqa: F401
    except ImportError:
        print(
            tr("refcnn conformance: needs pytest and hypothesis: pip install "
               "'refcnn[conformance]'"),
            file=sys.stderr,
        )  # fmt: skip
        return 2
    from .api import Interrupted, UsageError, check

    options = {option.python: args[option.python] for option in opts.OPTIONS}
    try:
        verdict = check(
            options.pop("impl"),
            **options,
            workers=args["workers"],
            profile="thorough" if args["thorough"] else "ci",
            keyword=args["keyword"],
            exitfirst=args["exitfirst"],
            junitxml=args["junitxml"],
            verbose=args["verbose"],
            tb=args["tb"],
            echo=True,
        )
    except UsageError as exc:
        if str(exc) != "usage error":  # else the session said it already
            print(tr("refcnn conformance: {error}", error=exc), file=sys.stderr)
        return 4
    except Interrupted as stopped:
        return stopped.verdict.exit_code or 2
    if not verdict.complete:
        for line in verdict.record.status_lines():  # the session could not say it
            print(tr("refcnn conformance: {error}", error=line), file=sys.stderr)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
