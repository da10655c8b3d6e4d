"""The suite's options, declared once (imported without pytest).

The pytest plugin registers each under its ``--refcnn-`` name and, unless
another plugin of the run took it, its short name; the command (``refcnn
conformance``, :mod:`conformance.running.runner`) offers the short names, and
:func:`conformance.running.api.check` the Python names; both pass the namespaced
ones to pytest (:func:`to_pytest`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from refcnn.i18n import LANGUAGES, N_, tr_marked

from ..judged.protocol import DECLARATION, NESTED  # noqa: F401  (the options' names, read here too)


class Option(NamedTuple):
    """One option: its pytest name, its short name, its name as a keyword
    argument of ``check()`` (``isolation`` is ``--no-isolation`` turned
    round), and argparse's / addoption's keyword arguments."""

    long: str
    short: str
    python: str
    kwargs: dict[str, Any]


REFERENCE = "refcnn"  # the implementation judged by default
ENV_VAR = "REFCNN_IMPL"
DEFAULT_TIMEOUT = 300.0  # seconds per test (see conformance.judging.boundary)
FAILURES_FILE = "refcnn-conformance-failures.txt"  # the command's default; pytest's: none
DEFAULT_EXPLAIN_BUDGET = 3.0  # seconds per failing cell (see conformance.judging.explain)
GRADIENT_CHECKS = ("directional", "element-wise")
PROFILE_VAR = "REFCNN_HYPOTHESIS_PROFILE"  # the hypothesis profile: ci (default), thorough
# Set by conformance.running.api.check for the session it starts (conformance.running.session):
SESSION = "REFCNN_CONFORMANCE_SESSION"  # in the session: check() there runs nothing
PARENT = "REFCNN_CONFORMANCE_PARENT"  # the pid of the process that started the session
TRANSPORT = "REFCNN_CONFORMANCE_TRANSPORT"  # where the session writes its verdict for check()
CHECK_CALL = "REFCNN_CONFORMANCE_CHECK"  # set by check() alone: advice in check()'s terms

OPTIONS = (
    Option(
        "--refcnn-impl",
        "--impl",
        "impl",
        {
            "default": None,
            "metavar": "IMPL",
            "help": N_(
                "implementation under test: a module name, a .py file, a package folder "
                "or an .ipynb notebook (default: ${variable} or {reference})"
            ),
        },
    ),
    Option(
        "--refcnn-strict-policies",
        "--strict-policies",
        "strict_policies",
        {
            "action": "store_true",
            "help": N_(
                "also check refcnn's own policies (dtype preservation, input validation) "
                "for a module other than refcnn"
            ),
        },
    ),
    Option(
        "--refcnn-xfails-file",
        "--xfails-file",
        "xfails_file",
        {
            "default": None,
            "metavar": "PATH",
            "help": N_(
                "expected failures: one test id per line ('*' matches any characters), "
                "then whitespace and the reason (required); '#' starts a comment"
            ),
        },
    ),
    Option(
        "--refcnn-unsupported",
        "--unsupported",
        "unsupported",
        {
            "action": "append",
            "default": [],
            "metavar": "CORNERS",
            "help": N_(
                "corners the implementation does not claim to support, comma-separated, "
                "each 'corner' (every op) or 'op:corner'; reported 'unsupported', not "
                "run (also: {declaration} in the module)"
            ),
        },
    ),
    Option(
        "--refcnn-report",
        "--conformance-report",
        "report",
        {"default": None, "metavar": "PATH", "help": N_("write the verdict as JSON to PATH")},
    ),
    Option(
        "--refcnn-html",
        "--conformance-html",
        "page",
        {
            "default": None,
            "metavar": "PATH",
            "help": N_(
                "write the verdict as one self-contained HTML page to PATH (no network, "
                "no external files): the op x check table, the op x corner matrix with each "
                "failure's message, parameters and snippet, and the coverage"
            ),
        },
    ),
    Option(
        "--refcnn-coverage",
        "--conformance-coverage",
        "coverage",
        {
            "action": "store_true",
            "help": N_(
                "print what the run drew: per op and corner, the examples and how many "
                "hit each tag (ties, kinks, non-dividing strides, ...)"
            ),
        },
    ),
    Option(
        "--refcnn-failures",
        "--conformance-failures",
        "failures",
        {
            "default": None,
            "metavar": "PATH",
            "help": N_("write every failure in full (message, parameters, snippet, trace) to PATH"),
        },
    ),
    Option(
        "--refcnn-explain",
        "--explain",
        "explain",
        {
            "action": "store_true",
            "help": N_(
                "print each failing cell's explanation after the verdict: its smallest "
                "failing example in small integers, as matrices per (sample, channel), expected "
                "beside got with the differing cells marked, and what the mistake looks like "
                "(the failures file and the report page always hold them)"
            ),
        },
    ),
    Option(
        "--refcnn-explain-budget",
        "--explain-budget",
        "explain_budget",
        {
            "default": DEFAULT_EXPLAIN_BUDGET,
            "type": float,
            "metavar": "SECONDS",
            "help": N_(
                "time to search each failing cell's smallest failing example "
                "(default {explain_budget}; 0: no search)"
            ),
        },
    ),
    Option(
        "--refcnn-timeout",
        "--timeout",
        "timeout",
        {
            "default": DEFAULT_TIMEOUT,
            "type": float,
            "metavar": "SECONDS",
            "help": N_(
                "time limit of each test of the suite; a test still running then is "
                "reported 'timed out' (default {timeout}; 0 for none)"
            ),
        },
    ),
    Option(
        "--refcnn-budget",
        "--budget",
        "budget",
        {
            "default": 0.0,
            "type": float,
            "metavar": "SECONDS",
            "help": N_(
                "time for the whole run: a test that would start after it is spent is "
                "reported 'not run', never as passing (default 0: none)"
            ),
        },
    ),
    Option(
        "--refcnn-gradient-check",
        "--gradient-check",
        "gradient_check",
        {
            "default": "directional",
            "choices": ("directional", "element-wise"),
            "help": N_(
                "how the gradient check compares the backward with finite differences: "
                "'directional' (default: along random directions, a few forward calls; element "
                "by element only where they differ) or 'element-wise' (every element, two "
                "forward calls each)"
            ),
        },
    ),
    Option(
        "--refcnn-lang",
        "--lang",
        "lang",
        {
            "default": None,
            "choices": LANGUAGES,
            "help": N_(
                "the language of the verdict's text for people: 'en' or 'ja' (default: the "
                "locale's, LC_ALL, LC_MESSAGES or LANG; English where it has no catalog). The "
                "JSON's keys, statuses and identifiers stay as they are"
            ),
        },
    ),
    Option(
        "--refcnn-no-isolation",
        "--no-isolation",
        "isolation",
        {
            "action": "store_true",
            "help": N_(
                "run the judged code's worker without bubblewrap's sandbox (it keeps "
                "its own process, its limits and --timeout; it may then reach the network "
                "and write where its user may)"
            ),
        },
    ),
)


def dest(long: str) -> str:
    """argparse's / pytest's attribute name of a namespaced option."""
    return long[2:].replace("-", "_")


def to_pytest(values: dict[str, Any]) -> list[str]:
    """Command-line arguments for pytest from options by Python name, for
    those that were given (None, False and [] are not; ``isolation=False``
    is ``--refcnn-no-isolation``)."""
    args = []
    for option in OPTIONS:
        value = values.get(option.python)
        if option.python == "isolation":
            value = value is False
        if value is None or value is False or value == [] or value == ():
            continue
        if option.kwargs.get("action") == "store_true":
            args.append(option.long)
        elif option.kwargs.get("action") == "append":
            args += [f"{option.long}={v}" for v in value]
        else:
            args.append(f"{option.long}={value}")
    return args


def by_short(short: str) -> Option:
    return next(o for o in OPTIONS if o.short == short)


def help_text(option: Option) -> str:
    """An option's help in the current language, its fields filled in."""
    return tr_marked(
        option.kwargs["help"],
        variable=ENV_VAR,
        reference=REFERENCE,
        declaration=DECLARATION,
        explain_budget=f"{DEFAULT_EXPLAIN_BUDGET:g}",
        timeout=f"{DEFAULT_TIMEOUT:g}",
    )
