"""Run the conformance suite on an implementation, without knowing pytest.

    python -m refcnn.conformance --impl mypackage.layers [--conformance-report out.json]
    refcnn conformance --impl mypackage.layers

The module named by ``--impl`` provides any subset of the article API (see
README, "Check your own implementation"); the current folder is importable.
Prints the verdict table; exit code 0 only when everything provided passes
(1 on failures, 2 on usage errors). Needs pytest and hypothesis (the ``test``
extra); torch is used as the oracle when installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path


def suite_dir() -> Path:
    spec = importlib.util.find_spec("conformance")
    if spec is None or spec.origin is None:
        raise SystemExit(
            "refcnn conformance: the conformance suite is not installed; "
            "install refcnn from its repository with `pip install -e .[test]`"
        )
    return Path(spec.origin).parent


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="refcnn conformance", description=__doc__.splitlines()[0])
    p.add_argument("--impl", default=None, help="module under test (default: refcnn)")
    p.add_argument(
        "--strict-policies",
        action="store_true",
        help="also check dtype preservation and input validation",
    )
    p.add_argument("--xfails-file", default=None, help="expected failures with reasons")
    p.add_argument(
        "--conformance-report", default=None, metavar="PATH", help="write the verdict as JSON"
    )
    p.add_argument("--junitxml", default=None, metavar="PATH", help="JUnit XML report")
    p.add_argument(
        "--thorough",
        action="store_true",
        help="hypothesis profile 'thorough' (random, 1000 examples per test)",
    )
    p.add_argument("-k", dest="keyword", default=None, help="only tests matching (pytest -k)")
    p.add_argument(
        "-n",
        "--workers",
        default="auto",
        help="parallel workers with pytest-xdist (default auto; 0 for none)",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        import pytest
    except ImportError:
        print(
            "refcnn conformance: needs pytest and hypothesis: pip install 'refcnn[test]'",
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
        "-rfE",
    ]
    for option in ("impl", "xfails_file", "conformance_report", "junitxml"):
        value = getattr(args, option)
        if value is not None:
            pytest_args.append(f"--{option.replace('_', '-')}={value}")
    if args.strict_policies:
        pytest_args.append("--strict-policies")
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.workers != "0" and importlib.util.find_spec("xdist") is not None:
        pytest_args += ["-n", args.workers]
    code = pytest.main(pytest_args)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
