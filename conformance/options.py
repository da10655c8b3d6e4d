"""The suite's options, declared once (imported without pytest).

The pytest plugin registers each under its ``--refcnn-`` name and, unless
another plugin of the run took it, its short name; the command (``refcnn
conformance``, :mod:`conformance.runner`) offers the short names and passes
the namespaced ones to pytest.
"""

from __future__ import annotations

from typing import Any

REFERENCE = "refcnn"  # the implementation judged by default
ENV_VAR = "REFCNN_IMPL"
DECLARATION = "CONFORMANCE_UNSUPPORTED"
DEFAULT_TIMEOUT = 300.0  # seconds per test (see conformance.isolation)
FAILURES_FILE = "refcnn-conformance-failures.txt"  # the command's default; pytest's: none
DEFAULT_EXPLAIN_BUDGET = 3.0  # seconds per failing cell (see conformance.explain)
GRADIENT_CHECKS = ("directional", "element-wise")

# (namespaced name, short name, keyword arguments of argparse / addoption)
OPTIONS = (
    (
        "--refcnn-impl",
        "--impl",
        {
            "default": None,
            "metavar": "MODULE",
            "help": f"module under test (default: ${ENV_VAR} or {REFERENCE})",
        },
    ),
    (
        "--refcnn-strict-policies",
        "--strict-policies",
        {
            "action": "store_true",
            "help": "also check refcnn's own policies (dtype preservation, input validation) "
            "for a module other than refcnn",
        },
    ),
    (
        "--refcnn-xfails-file",
        "--xfails-file",
        {
            "default": None,
            "metavar": "PATH",
            "help": "expected failures: one test id per line ('*' matches any characters), "
            "then whitespace and the reason (required); '#' starts a comment",
        },
    ),
    (
        "--refcnn-unsupported",
        "--unsupported",
        {
            "action": "append",
            "default": [],
            "metavar": "CORNERS",
            "help": "corners the implementation does not claim to support, comma-separated, "
            "each 'corner' (every op) or 'op:corner'; reported 'unsupported', not run "
            f"(also: {DECLARATION} in the module)",
        },
    ),
    (
        "--refcnn-report",
        "--conformance-report",
        {"default": None, "metavar": "PATH", "help": "write the verdict as JSON to PATH"},
    ),
    (
        "--refcnn-html",
        "--conformance-html",
        {
            "default": None,
            "metavar": "PATH",
            "help": "write the verdict as one self-contained HTML page to PATH (no network, "
            "no external files): the op x check table, the op x corner matrix with each "
            "failure's message, parameters and snippet, and the coverage",
        },
    ),
    (
        "--refcnn-coverage",
        "--conformance-coverage",
        {
            "action": "store_true",
            "help": "print what the run drew: per op and corner, the examples and how many "
            "hit each tag (ties, kinks, non-dividing strides, ...)",
        },
    ),
    (
        "--refcnn-failures",
        "--conformance-failures",
        {
            "default": None,
            "metavar": "PATH",
            "help": "write every failure in full (message, parameters, snippet, trace) to PATH",
        },
    ),
    (
        "--refcnn-explain",
        "--explain",
        {
            "action": "store_true",
            "help": "print each failing cell's explanation after the verdict: its smallest "
            "failing example in small integers, as matrices per (sample, channel), expected "
            "beside got with the differing cells marked, and what the mistake looks like "
            "(the failures file and the report page always hold them)",
        },
    ),
    (
        "--refcnn-explain-budget",
        "--explain-budget",
        {
            "default": DEFAULT_EXPLAIN_BUDGET,
            "type": float,
            "metavar": "SECONDS",
            "help": "time to search each failing cell's smallest failing example "
            f"(default {DEFAULT_EXPLAIN_BUDGET:g}; 0: no search)",
        },
    ),
    (
        "--refcnn-timeout",
        "--timeout",
        {
            "default": DEFAULT_TIMEOUT,
            "type": float,
            "metavar": "SECONDS",
            "help": "time limit of each test of the suite; a test still running then is "
            f"reported 'timed out' (default {DEFAULT_TIMEOUT:g}; 0 for none)",
        },
    ),
    (
        "--refcnn-gradient-check",
        "--gradient-check",
        {
            "default": "directional",
            "choices": ("directional", "element-wise"),
            "help": "how the gradient check compares the backward with finite differences: "
            "'directional' (default: along random directions, a few forward calls; element "
            "by element only where they differ) or 'element-wise' (every element, two "
            "forward calls each)",
        },
    ),
    (
        "--refcnn-no-isolation",
        "--no-isolation",
        {
            "action": "store_true",
            "help": "run the tests in pytest's own process, not in a forked child each "
            "(for debuggers; a crash or a hang of the implementation then ends the run "
            "without a verdict, and --timeout does not apply)",
        },
    ),
)


def dest(long: str) -> str:
    """argparse's / pytest's attribute name of a namespaced option."""
    return long[2:].replace("-", "_")


def to_pytest(values: dict[str, Any]) -> list[str]:
    """Command-line arguments for pytest from the command's values (by short
    name's dest), for the options that were given."""
    args = []
    for long, short, kwargs in OPTIONS:
        value = values.get(short[2:].replace("-", "_"))
        if value is None or value is False or value == []:
            continue
        if kwargs.get("action") == "store_true":
            args.append(long)
        elif kwargs.get("action") == "append":
            args += [f"{long}={v}" for v in value]
        else:
            args.append(f"{long}={value}")
    return args
