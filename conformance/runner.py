"""Run the conformance suite on an implementation, without knowing pytest.

    python -m refcnn.conformance --impl mypackage.layers [--conformance-report out.json]
    refcnn conformance --impl mypackage.layers

The module named by ``--impl`` provides any subset of the article API (see
README, "Check your own implementation"); the current folder is importable.
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


def suite_dir() -> Path:
    """The folder of the suite's tests: this package's own."""
    return Path(__file__).resolve().parent


FAILURES_FILE = "refcnn-conformance-failures.txt"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="refcnn conformance", description=__doc__.splitlines()[0])
    p.add_argument("--impl", default=None, help="module under test (default: refcnn)")
    p.add_argument(
        "--strict-policies",
        action="store_true",
        help="also check dtype preservation and input validation",
    )
    p.add_argument(
        "--unsupported",
        action="append",
        default=[],
        metavar="CORNERS",
        help="corners the implementation does not claim to support, comma-separated, each "
        "'corner' (every op) or 'op:corner', e.g. 'tuple params,convolution2d:empty batch'",
    )
    p.add_argument("--xfails-file", default=None, help="expected failures with reasons")
    p.add_argument(
        "--conformance-report", default=None, metavar="PATH", help="write the verdict as JSON"
    )
    p.add_argument(
        "--conformance-coverage",
        action="store_true",
        help="print what the run drew, per op and corner",
    )
    p.add_argument(
        "--conformance-failures",
        default=FAILURES_FILE,
        metavar="PATH",
        help=f"where every failure goes in full, if there are any (default {FAILURES_FILE})",
    )
    p.add_argument(
        "--timeout",
        default=None,
        metavar="SECONDS",
        help="time limit of each test; a test still running then is reported 'timed out' "
        "(default 300; 0 for none)",
    )
    p.add_argument(
        "--no-isolation",
        action="store_true",
        help="run the tests in pytest's process, not a forked child each (for debuggers; a "
        "crash or hang of the implementation then ends the run without a verdict)",
    )
    p.add_argument(
        "--gradient-check",
        default=None,
        choices=("directional", "element-wise"),
        help="'directional' (default: along random directions, then element by element where "
        "they differ) or 'element-wise' (every element: two forward calls each)",
    )
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
    for option, name in (
        ("impl", "--refcnn-impl"),
        ("xfails_file", "--refcnn-xfails-file"),
        ("conformance_report", "--refcnn-report"),
        ("conformance_failures", "--refcnn-failures"),
        ("timeout", "--refcnn-timeout"),
        ("gradient_check", "--refcnn-gradient-check"),
        ("junitxml", "--junitxml"),
    ):
        value = getattr(args, option)
        if value:
            pytest_args.append(f"{name}={value}")
    pytest_args += [f"--refcnn-unsupported={value}" for value in args.unsupported]
    if args.strict_policies:
        pytest_args.append("--refcnn-strict-policies")
    if args.conformance_coverage:
        pytest_args.append("--refcnn-coverage")
    if args.no_isolation:
        pytest_args.append("--refcnn-no-isolation")
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.workers != "0" and importlib.util.find_spec("xdist") is not None:
        pytest_args += ["-n", args.workers]
    code = pytest.main(pytest_args)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
