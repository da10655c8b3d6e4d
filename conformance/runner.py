"""Run the conformance suite on an implementation, without knowing pytest.

    python -m refcnn.conformance --impl mypackage.layers [--conformance-report out.json]
    refcnn conformance --impl mypackage.layers

The module named by ``--impl`` provides any subset of the article API (see
docs/user-guide.md); the current folder is importable.
Prints the verdict table; exit code 0 only when everything provided passes
(1 on failures, 2 or 4 on usage errors). Needs pytest, pytest-xdist and
hypothesis (``pip install 'refcnn[conformance]'``); torch is the oracle when
installed, otherwise the stored golden fixtures and refcnn are.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from . import options as opts


def suite_dir() -> Path:
    """The folder of the suite's tests: this package's own."""
    return Path(__file__).resolve().parent


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="refcnn conformance", description=__doc__.splitlines()[0])
    for _, short, kwargs in opts.OPTIONS:
        # the defaults are the plugin's (None: not passed on), but the failures file
        runner_default = opts.FAILURES_FILE if short == "--conformance-failures" else None
        kwargs = {**kwargs, "default": [] if kwargs.get("action") == "append" else runner_default}
        if kwargs.get("action") == "store_true":
            kwargs["default"] = False
        kwargs.pop("type", None)  # a value is passed on as given; the plugin converts it
        p.add_argument(short, **kwargs)
    p.add_argument("--junitxml", default=None, metavar="PATH", help="JUnit XML report")
    p.add_argument(
        "--thorough",
        action="store_true",
        help="hypothesis profile 'thorough' (random, 1000 examples per op and check)",
    )
    p.add_argument("-k", dest="keyword", default=None, help="only tests matching (pytest -k)")
    p.add_argument(
        "-n",
        "--workers",
        default="auto",
        help="parallel workers with pytest-xdist (default auto; 0 for none)",
    )
    p.add_argument(
        "--tb",
        default="no",
        help="pytest's traceback style on the terminal (default no: the table says what "
        "failed, the failures file has the rest)",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        import pytest
    except ImportError:
        print(
            "refcnn conformance: needs pytest and hypothesis: pip install 'refcnn[conformance]'",
            file=sys.stderr,
        )
        return 2
    # The implementation is usually a module in the current folder: make it
    # importable here and in the worker processes.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [os.getcwd(), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    sys.path.insert(0, os.getcwd())
    if args.thorough:
        os.environ["REFCNN_HYPOTHESIS_PROFILE"] = "thorough"
    pytest_args = [
        str(suite_dir()),
        "-p",
        "no:cacheprovider",
        "-v" if args.verbose else "-q",
        f"--tb={args.tb}",
        "-rN",  # no short summary: the verdict table is the summary
    ]
    # The plugin's namespaced option names: they never clash with other plugins.
    pytest_args += opts.to_pytest(vars(args))
    if args.junitxml:
        pytest_args.append(f"--junitxml={args.junitxml}")
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.workers != "0" and importlib.util.find_spec("xdist") is not None:
        pytest_args += ["-n", args.workers]
    code = pytest.main(pytest_args)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
