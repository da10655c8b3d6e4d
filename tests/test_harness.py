"""The conformance suite judges other implementations corner by corner: it
catches every broken one in ``tests/impls/broken`` in exactly the corners
where its bug lives (and passes the others), passes the loop implementation
and the three adapted styles, reports what an implementation does not
support, hygiene failures with their kinds, and writes reports whose
reproduction snippets run with NumPy alone.

Each case runs the real command, ``python -m refcnn.conformance``, in a
subprocess, as a user would; the broken ones with ``-k`` restricted to the
ops concerned (the others are the loop implementation's, judged below)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from refcnn.conformance.expected import golden
from refcnn.conformance.inputs import corners as cn
from refcnn.conformance.inputs import op_table as ot
from refcnn.conformance.verdict import render as rd

ROOT = Path(__file__).resolve().parent.parent
BUT_EMPTY = "every corner but the empty batch"
EVERY = "every corner"


@dataclass(frozen=True)
class Bug:
    """Where a planted bug lives: per op, the corners; ``checks`` must fail in
    exactly those corners (the others pass), with ``kind`` in the first of
    them; every other check may fail only in those corners too; ``extra``:
    checks without corners (semantics, fixtures) that fail as well;
    ``by_chance``: corners that draw the bug's trigger only now and then (a
    1x1 input where sizes are drawn), which may fail too; ``hint``: the
    rule of ``conformance.verdict.hints`` that explains it (no other rule may);
    ``smaller``: whether a smaller failing example exists (a bug of one
    stored case has none)."""

    ops: dict[str, set[str] | str]
    checks: tuple[str, ...]
    kind: str = "wrong values"
    extra: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    by_chance: frozenset[str] = frozenset()
    hint: str = ""
    smaller: bool = True

    def corners(self, op: str) -> set[str]:
        corners = self.ops[op]
        if corners == EVERY:
            return set(ot.BY_NAME[op].corners)
        if corners == BUT_EMPTY:
            return set(ot.BY_NAME[op].corners) - {"empty batch"}
        return set(corners)


def _semantics(*ops: str) -> frozenset[tuple[str, str]]:
    return frozenset((op, "semantics") for op in ops)


_FIXTURES = frozenset((op, "fixtures") for op in ("conv", "convps", "convpscfu", "convolution2d"))
_LAYER_TABLE = frozenset({("article layer table", "fixtures")})
_DEFAULT_STRIDES = ("plain", "padding", "non-square", "many channels", "empty batch", "mixed")
_LARGEST_GOLDEN_POOLING_CASE = max(
    golden.load_golden("average_pooling2d"), key=lambda case: case.sample.arrays["u"].size
).sample.corner

BROKEN = {
    # the first eleven: implementations that mirror the article's API
    "max_pool_last_tie": Bug(
        {"max_pooling2d": {"ties", "mixed"}},
        ("backward", "golden"),
        extra=_semantics("max_pooling2d"),
        hint="last tie",
    ),
    "max_pool_split_ties": Bug(
        {"max_pooling2d": {"ties", "mixed"}},
        ("backward", "golden"),
        extra=_semantics("max_pooling2d"),
        hint="split ties",
    ),
    "max_pool_minus_inf_padding": Bug(
        # tuple params: the tuples there include padding, next to negative values
        {"max_pooling2d": {"padding", "negative under padding", "tuple params", "mixed"}},
        ("forward", "backward", "golden"),
        extra=_semantics("max_pooling2d"),
        hint="-inf padding",
    ),
    "avg_pool_excludes_padding": Bug(
        {"average_pooling2d": {"padding", "tuple params", "mixed"}},
        ("forward", "backward", "golden"),
        extra=_semantics("average_pooling2d"),
        hint="padding left out of the divisor",
    ),
    "output_size_ceil": Bug(
        # convolutions round only where a stride >= 2 does not divide; pooling's
        # default stride is its window, which seldom divides the input
        {"convolution2d": {"strides", "tuple params", "mixed"}, "max_pooling2d": EVERY},
        ("forward",),
        kind="wrong shape",
        extra=_semantics("max_pooling2d"),
        hint="output size rounded up",
    ),
    "flipped_filter": Bug(
        {
            "conv": BUT_EMPTY,
            "convps": BUT_EMPTY,
            "convpscfu": BUT_EMPTY,
            "convolution2d": BUT_EMPTY,
        },
        ("forward", "golden"),
        extra=_FIXTURES,
        hint="flipped filter",
    ),
    "swapped_hw_tuples": Bug(
        {"convolution2d": {"tuple params", "mixed"}},
        ("forward", "backward", "golden"),
        kind="wrong shape",
        hint="swapped tuples",
    ),
    "du_assigned_not_accumulated": Bug(
        {"convolution2d": BUT_EMPTY}, ("backward", "gradient"), hint="overlap assigned"
    ),
    "bias_gradient_averaged": Bug(
        {"convolution2d": BUT_EMPTY},
        ("backward", "gradient", "golden"),
        hint="bias gradient averaged",
    ),
    "flatten_channel_first": Bug(
        {"flatten2d": {"plain", "many channels", "mixed"}},
        ("forward", "backward", "golden"),
        extra=_semantics("flatten2d"),
        hint="flattened channel first",
    ),
    "pool_stride_defaults_to_1": Bug(
        # every corner that leaves strides at their default
        {
            "max_pooling2d": set(_DEFAULT_STRIDES) | {"ties", "negative under padding"},
            "average_pooling2d": set(_DEFAULT_STRIDES),
        },
        ("forward",),
        kind="wrong shape",
        extra=_semantics("max_pooling2d")
        | _LAYER_TABLE
        | {("max_pooling2d", "defaults"), ("average_pooling2d", "defaults")},
        hint="strides default to 1",
    ),
    # the gaps of the oracle, closed by the corners
    "layout_switch_above_4_channels": Bug(
        {"convolution2d": {"many channels", "mixed"}}, ("forward", "gradient", "golden")
    ),
    "maxout_last_tie": Bug({"maxout": {"ties"}}, ("backward", "golden"), hint="last tie"),
    "relu_kink_float32": Bug({"relu": {"kinks"}}, ("backward", "golden")),
    "golden_only": Bug(
        {"average_pooling2d": {_LARGEST_GOLDEN_POOLING_CASE}}, ("golden",), smaller=False
    ),
    "flatten_empty_batch": Bug({"flatten2d": {"empty batch"}}, ("forward", "golden"), "raised"),
    # degenerate shapes, drawn on purpose: 1x1 inputs in plain and many
    # channels (the other corners draw them now and then: padding's window as
    # large as the padded input, strides beyond the input, small sizes);
    # windows wholly in the padding in padding (tuple params and mixed draw
    # them often)
    "one_by_one_spatial": Bug(
        {"convolution2d": {"plain", "many channels"}},
        ("forward",),
        by_chance=frozenset({"padding", "strides", "non-square", "tuple params", "mixed"}),
    ),
    "avg_pool_back_window_in_padding": Bug(
        {"average_pooling2d": {"padding", "tuple params", "mixed"}},
        ("backward", "gradient", "golden"),
        kind="raised",
    ),
    # hygiene
    "cached_output_buffer": Bug({"max_pooling2d": {"plain"}}, ("hygiene",), "aliased output"),
    "torch_tensor_cached_output": Bug({"max_pooling2d": {"plain"}}, ("hygiene",), "aliased output"),
    "mutates_input": Bug(
        {"average_pooling2d": BUT_EMPTY}, ("backward", "golden"), kind="mutated input"
    ),
    # a bug in each adapted style
    "layer_classes_kernel_height_as_width": Bug(
        {"convolution2d": {"non-square", "mixed"}},
        ("forward", "golden"),
        kind="wrong shape",
        hint="kernel height for width",
    ),
    "cache_functions_max_pool_all_ties": Bug(
        {"max_pooling2d": {"ties", "mixed"}}, ("backward",), hint="all ties"
    ),
    "cache_functions_max_pool_assigned": Bug(
        {"max_pooling2d": {"overlap", "mixed"}}, ("backward", "gradient"), hint="overlap assigned"
    ),
    "param_dicts_avg_pool_excludes_padding": Bug(
        {"average_pooling2d": {"padding", "tuple params", "mixed"}},
        ("forward", "backward", "golden"),
        hint="padding left out of the divisor",
    ),
}


# Planted bugs that only the defaults check can see (every corner gives the
# argument): op -> the hint's start.
DEFAULTS_BROKEN = {
    "pool_size_default_3": (
        "max_pooling2d",
        "your default pool_size acts as pool_size=3; the article's default is pool_size=2",
    ),
    "pool_back_without_defaults": (
        "average_pooling2d",
        "with pool_size left out it raises; the article's default: pool_size=2",
    ),
}


def run_suite(
    impl: str,
    tmp_path: Path,
    *extra: str,
    pythonpath: str = str(ROOT),
    env: dict[str, str] | None = None,
) -> tuple[int, dict, str]:
    """``python -m refcnn.conformance --impl IMPL`` in a subprocess: exit code,
    the JSON verdict, and the output; ``env``: variables to set for it."""
    report = tmp_path / "verdict.json"
    report.unlink(missing_ok=True)
    env = {**os.environ, **(env or {}), "PYTHONPATH": pythonpath}
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "refcnn.conformance",
            "--impl",
            impl,
            "-n",
            "0",
            "--conformance-report",
            str(report),
            "--conformance-failures",
            str(tmp_path / "failures.txt"),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    verdict = json.loads(report.read_text()) if report.exists() else {}
    return result.returncode, verdict, result.stdout + result.stderr


def run_snippet(snippet: str) -> subprocess.CompletedProcess:
    """A failure's reproduction snippet, run as a user would, from the
    repository (its modules importable)."""
    return subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def failing(verdict: dict) -> dict[tuple[str, str], set[str | None]]:
    """(op, check) -> the corners that FAIL (None for a check without corners)."""
    found = {}
    for op, checks in verdict["ops"].items():
        for check, cell in checks.items():
            if cell["status"] != "FAIL":
                continue
            corners = cell.get("corners")
            found[(op, check)] = (
                {c for c, result in corners.items() if result["status"] == "FAIL"}
                if corners
                else {None}
            )
    return found


@pytest.mark.parametrize("name", list(BROKEN))
def test_suite_catches_the_broken_implementation_in_its_corners(name: str, tmp_path: Path) -> None:
    bug = BROKEN[name]
    selection = " or ".join(bug.ops)
    code, verdict, output = run_suite(f"tests.impls.broken.{name}", tmp_path, "-k", selection)
    assert code == 1, output[-3000:]
    assert not verdict["all_provided_pass"]
    found = failing(verdict)
    for op in bug.ops:
        for check in bug.checks:
            got = found.get((op, check), set())
            assert bug.corners(op) <= got <= bug.corners(op) | bug.by_chance, (
                op, check, found, output[-3000:],
            )  # fmt: skip
        first = verdict["ops"][op][bug.checks[0]]["corners"]
        kinds = {first[c]["failure"]["kind"] for c in bug.corners(op)}
        assert kinds == {bug.kind}, (op, kinds)
    for (op, check), corners in found.items():
        if check == "defaults":
            failure = verdict["ops"][op]["defaults"]["failures"][0]
            assert failure["hint_rule"] == "default differs", failure
        if corners == {None}:
            assert (op, check) in bug.extra, (op, check)
        else:
            allowed = bug.corners(op) | bug.by_chance if op in bug.ops else set()
            assert corners <= allowed, (op, check, corners)
    _assert_explained(bug, verdict, found)


@pytest.mark.parametrize("name", list(DEFAULTS_BROKEN))
def test_defaults_check_catches_a_default_that_differs(name: str, tmp_path: Path) -> None:
    """Only the op's defaults cell fails, with the hint that says how the
    default differs from the article's; the other checks pass."""
    op, hint = DEFAULTS_BROKEN[name]
    code, verdict, output = run_suite(f"tests.impls.broken.{name}", tmp_path, "-k", "pooling2d")
    assert code == 1, output[-3000:]
    assert failing(verdict) == {(op, "defaults"): {None}}, output[-3000:]
    failure = verdict["ops"][op]["defaults"]["failures"][0]
    assert failure["hint_rule"] == "default differs" and failure["hint"] == hint, failure
    assert " with pool_size left out (" in failure["where"]
    assert f"{op}  -  FAIL (defaults)" in output
    assert f"looks like: {hint}" in (tmp_path / "failures.txt").read_text()


EXPLAINED_CHECKS = ("forward", "backward", "gradient", "golden")


def _assert_explained(bug: Bug, verdict: dict, found: dict) -> None:
    """No hint but the bug's own anywhere. Each failing cell of wrong values
    or shapes (but the empty batch) of an op with window geometry, a dense
    or an element-wise one has a smallest example of small integers or halves, at
    most 2 x 2 outputs and 16 inputs per channel; with the bug's hint, where
    it has one."""
    for (op, check), corners in found.items():
        entry = ot.BY_NAME[op]
        for corner in corners - {None}:
            failure = verdict["ops"][op][check]["corners"][corner]["failure"]
            where = (op, check, corner)
            assert failure.get("hint_rule", bug.hint) == bug.hint, (where, failure["hint_rule"])
            searched = entry.shape is not None or entry.elementwise or entry.dense
            explained = check in EXPLAINED_CHECKS and corner != "empty batch" and searched
            values = failure["kind"] in ("wrong values", "wrong shape")
            if not (bug.smaller and explained and values):
                continue
            minimal = failure["minimal"]
            if entry.shape is not None and entry.shape.window:  # flatten's output: no (h, w)
                output = _spatial(minimal["output_shape"])
                assert max(output) <= 2, (where, minimal["output_shape"], minimal["params"])
            u = np.array(minimal["inputs"]["u"])
            assert np.prod(_spatial(u.shape)) <= 16, (where, u.shape)
            for name, values in minimal["inputs"].items():
                array = np.array(values, dtype=float)
                top = max(9, array.size)  # 0, 1, 2, ... or small random integers
                assert np.array_equal(array * 2, np.round(array * 2)), (where, name)
                assert np.abs(array).max(initial=0) <= top, (where, name)
            if bug.hint:
                assert failure["hint_rule"] == bug.hint, (where, failure.get("hint_rule"))
                assert f"looks like: {failure['hint']}" in rd.explanation_text(failure), where


def _spatial(shape) -> tuple[int, int]:
    """(h, w) of NHWC, (h, w, c) or (h, w) arrays (the step-by-step convolutions')."""
    return tuple(shape[1:3]) if len(shape) == 4 else tuple(shape[:2])


def test_float32_only_bug_fails_in_float32_only(tmp_path: Path) -> None:
    _, verdict, _ = run_suite("tests.impls.broken.relu_kink_float32", tmp_path, "-k", "relu")
    failures = verdict["ops"]["relu"]["backward"]["failures"]
    assert failures and {f["dtype"] for f in failures} == {"float32"}


def test_failure_record_is_short_and_reproduces_with_numpy_alone(tmp_path: Path) -> None:
    _, verdict, output = run_suite(
        "tests.impls.broken.flatten_channel_first",
        tmp_path,
        "-k",
        "test_forward and flatten2d-plain-f64",
    )
    corner = verdict["ops"]["flatten2d"]["forward"]["corners"]["plain"]
    assert corner["status"] == "FAIL" and corner["examples"] >= 1
    failure = corner["failure"]
    assert failure["kind"] == "wrong values" and failure["exception"] == ""
    message = failure["message"]
    assert message.startswith("worst element at index") and "expected" in message
    assert len(message) < 300 and "Falsifying" not in message and "\n" not in message
    assert failure["params"] == {} and failure["dtype"] == "float64"
    assert "flatten2d  plain  FAIL (forward)  wrong values: worst element" in output
    trace = (tmp_path / "failures.txt").read_text()  # the long trace, hypothesis' notes
    assert "test_ops.py" in trace and "Sample(plain: u(" in trace
    snippet = failure["snippet"]
    assert "import torch" not in snippet and "from tests.impls.broken" in snippet
    # torch is made unimportable: the snippet needs NumPy and the module only
    blocked = "import sys; sys.modules['torch'] = None\n" + snippet
    result = run_snippet(blocked)
    assert result.returncode == 1 and "AssertionError" in result.stderr, result.stderr[-2000:]
    fixed = snippet.replace("from tests.impls.broken.flatten_channel_first", "from refcnn")
    result = run_snippet(fixed)
    assert result.returncode == 0, result.stderr[-2000:]  # the correct layer passes it


@pytest.mark.parametrize(
    ("name", "kind"),
    [("cached_output_buffer", "aliased output"), ("mutates_input", "mutated input")],
)
def test_hygiene_snippets_reproduce(name: str, kind: str, tmp_path: Path) -> None:
    _, verdict, _ = run_suite(
        f"tests.impls.broken.{name}", tmp_path, "-k", "test_hygiene and pooling2d"
    )
    op = "max_pooling2d" if name == "cached_output_buffer" else "average_pooling2d"
    failure = verdict["ops"][op]["hygiene"]["corners"]["plain"]["failure"]
    assert failure["kind"] == kind
    for module, code in ((f"tests.impls.broken.{name}", 1), ("refcnn", 0)):
        snippet = failure["snippet"].replace(f"from tests.impls.broken.{name}", f"from {module}")
        result = run_snippet(snippet)
        assert result.returncode == code, (module, result.stderr[-2000:])


def test_loop_implementation_passes_the_default_run(tmp_path: Path) -> None:
    code, verdict, output = run_suite("tests.impls.article_loops", tmp_path)
    assert code == 0, output[-3000:]
    assert verdict["all_provided_pass"]
    core = ("conv", "convp", "convps", "convpsc", "convpscf", "convpscfu")
    for op in (*core, "convolution2d", "max_pooling2d", "average_pooling2d", "flatten2d"):
        checks = verdict["ops"][op]
        assert checks["forward"]["status"] == "pass" and checks["forward"]["examples"] >= 80
        assert set(checks["forward"]["corners"]) == set(ot.BY_NAME[op].corners)
        assert checks["golden"]["status"] == "pass" and checks["hygiene"]["status"] == "pass"
        assert checks["validation"]["status"] == "not checked"
    for op in ("convolution2d", "max_pooling2d", "average_pooling2d", "flatten2d"):
        assert verdict["ops"][op]["backward"]["status"] == "pass"
        assert verdict["ops"][op]["gradient"]["status"] == "pass"
    assert verdict["ops"]["affine"]["forward"]["status"] == "not provided"
    assert "conformance verdict: tests.impls.article_loops" in output


@pytest.mark.parametrize(
    ("module", "unsupported"),
    [
        ("adapted_layer_classes", {"tuple params"}),
        ("adapted_cache_functions", {"tuple params", "padding", "non-square"}),
        ("adapted_param_dicts", set()),
        ("nchw_adapted", set()),
    ],
)
def test_adapted_styles_pass(module: str, unsupported: set[str], tmp_path: Path) -> None:
    code, verdict, output = run_suite(f"tests.impls.{module}", tmp_path, "-k", "2d")
    assert code == 0, output[-3000:]
    cell = verdict["ops"]["max_pooling2d"]["forward"]
    assert cell["status"] == "pass"
    declared = {c for c, r in cell["corners"].items() if r["status"] == "unsupported"}
    assert unsupported <= declared and "plain" not in declared
    for check in ("forward", "backward", "gradient", "golden", "hygiene"):
        assert verdict["ops"]["convolution2d"][check]["status"] == "pass", check


CORNER_CHECKS = ("forward", "backward", "gradient", "golden")
_LAYERS = ("convolution2d", "max_pooling2d", "average_pooling2d", "flatten2d")
_PADDING_CORNERS = {"padding", "tuple params", "negative under padding", "mixed"}


def test_layers_written_with_torch_autograd_pass(tmp_path: Path) -> None:
    code, verdict, output = run_suite("tests.impls.autodiff_torch", tmp_path, "-k", "2d")
    assert code == 0, output[-3000:]
    for op in _LAYERS:
        for check in ("forward", "backward", "gradient", "golden", "hygiene"):
            assert verdict["ops"][op][check]["status"] == "pass", (op, check)


def test_torch_native_max_pooling_fails_where_its_padding_differs(tmp_path: Path) -> None:
    """torch's max_pool2d pads with -inf (and refuses padding over half the
    window): it fails in exactly the corners that draw padding."""
    code, verdict, output = run_suite(
        "tests.impls.autodiff_torch_native_pool", tmp_path, "-k", "2d"
    )
    assert code == 1
    expected = {("max_pooling2d", c): _PADDING_CORNERS for c in CORNER_CHECKS}
    assert failing(verdict) == expected, output[-3000:]
    for op in _LAYERS[::2]:
        assert verdict["ops"][op]["forward"]["status"] == "pass"


def test_int_only_implementation_fails_tuples_until_it_declares_them(tmp_path: Path) -> None:
    code, verdict, output = run_suite("tests.impls.int_only", tmp_path, "-k", "convolution2d")
    assert code == 1
    corners = verdict["ops"]["convolution2d"]["forward"]["corners"]
    passing = {c for c, r in corners.items() if r["status"] == "pass"}
    assert {"plain", "padding", "strides", "non-square", "many channels", "empty batch"} == passing
    tuples = corners["tuple params"]["failure"]
    assert tuples["kind"] == "raised" and tuples["exception"] == "TypeError"
    assert corners["mixed"]["status"] == "FAIL"  # mixed draws tuples too
    assert 'declare it if intended: --unsupported "convolution2d:tuple params"' in output
    code, verdict, output = run_suite(
        "tests.impls.int_only", tmp_path, "-k", "convolution2d", "--unsupported", "tuple params"
    )
    assert code == 0, output[-3000:]
    corners = verdict["ops"]["convolution2d"]["forward"]["corners"]
    assert corners["tuple params"]["status"] == "unsupported"
    assert corners["mixed"]["status"] == "pass"  # drawn without tuples now
    assert re.search(
        r"convolution2d\s+tuple params\s+unsupported\s+'tuple params' declared", output
    )


def test_declared_factor_is_drawn_in_no_corner(tmp_path: Path) -> None:
    """Pooling that raises on any padding: before the declaration, the hint of
    the corners that draw padding among other things names the factor; after
    it, no corner draws padding, and the corner that needs it is reported
    unsupported with the reason."""
    impl = "tests.impls.pool_without_padding"
    code, verdict, output = run_suite(impl, tmp_path, "-k", "max_pooling2d")
    assert code == 1
    padded = {"padding", "tuple params", "negative under padding", "mixed"}
    assert failing(verdict)[("max_pooling2d", "forward")] == padded
    hint = 'it has padding, which raises on its own: --unsupported "max_pooling2d:padding"'
    assert re.search(rf"max_pooling2d\s+tuple params\s+FAIL.*{re.escape(hint)}", output), output
    assert '--unsupported "max_pooling2d:tuple params"' not in output
    code, verdict, output = run_suite(
        impl, tmp_path, "-k", "max_pooling2d", "--unsupported", "max_pooling2d:padding"
    )
    assert code == 0, output[-3000:]
    for check in ("forward", "backward", "gradient"):
        corners = verdict["ops"]["max_pooling2d"][check]["corners"]
        assert corners["tuple params"]["status"] == corners["mixed"]["status"] == "pass"
        unsupported = {c for c, r in corners.items() if r["status"] == "unsupported"}
        assert unsupported == {"padding", "negative under padding"}, check
    assert re.search(
        r"negative under padding\s+unsupported\s+'negative under padding' needs 'padding', "
        r"declared unsupported in --unsupported",
        output,
    ), output


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("tuple parameters", "unknown corner 'tuple parameters'; the corners are 'plain',"),
        ("convolution2d:ties", "convolution2d has no corner 'ties'; its corners are 'plain',"),
        ("conv2d:padding", "unknown op 'conv2d'; the ops are conv, convp,"),
        ("mixed", "unknown corner 'mixed'"),
    ],
)
def test_bad_declaration_is_a_usage_error(declaration: str, message: str, tmp_path: Path) -> None:
    code, _, output = run_suite(
        "tests.impls.article_loops", tmp_path, "-k", "flatten2d", "--unsupported", declaration
    )
    assert code == 4 and message in output, output[-2000:]


def test_golden_failure_shows_in_the_printed_table(tmp_path: Path) -> None:
    code, _, output = run_suite(
        "tests.impls.broken.golden_only", tmp_path, "-k", "average_pooling2d"
    )
    assert code == 1
    lines = output.splitlines()
    header = next(line for line in lines if line.startswith("op ") and "golden" in line)
    row = next(line for line in lines if line.startswith("average_pooling2d "))
    columns = dict(zip(re.split(r"\s{2,}", header), re.split(r"\s{2,}", row), strict=True))
    assert columns["golden"].startswith("FAIL (1/"), columns
    assert columns["forward"].startswith("pass") and columns["backward"].startswith("pass")


def test_partial_module(tmp_path: Path) -> None:
    code, verdict, output = run_suite("tests.impls.partial", tmp_path, "-k", "pooling or flatten")
    assert code == 0, output[-3000:]
    assert verdict["ops"]["max_pooling2d"]["forward"]["status"] == "pass"
    assert verdict["ops"]["max_pooling2d"]["backward"]["status"] == "not provided"
    assert verdict["ops"]["average_pooling2d"]["forward"]["status"] == "not provided"


def test_xfails_file(tmp_path: Path) -> None:
    entries = tmp_path / "xfails.txt"
    entries.write_text(
        "# known divergences of this implementation\n"
        "test_forward[flatten2d-*]  flattens channel-first, like torch\n"
        "test_backward[nothing-plain-f64]  an id that matches no test\n"
    )
    code, verdict, output = run_suite(
        "tests.impls.broken.flatten_channel_first",
        tmp_path,
        "-k",
        "test_forward and flatten2d",
        "--xfails-file",
        str(entries),
    )
    assert code == 0, output[-3000:]
    assert verdict["ops"]["flatten2d"]["forward"]["status"] in ("xfail", "pass+xfail")
    assert "test_backward[nothing-plain-f64] matches no test" in output
    entries.write_text("test_forward[flatten2d-plain-f64]\n")
    code, _, output = run_suite(
        "tests.impls.broken.flatten_channel_first", tmp_path, "--xfails-file", str(entries)
    )
    assert code == 4 and "give a reason" in output


def test_unknown_module_is_a_usage_error(tmp_path: Path) -> None:
    code, _, output = run_suite("no_such_module_here", tmp_path, "-k", "flatten2d")
    assert code != 0 and "cannot import the implementation module" in output


def test_junit_xml_through_pytest(tmp_path: Path) -> None:
    xml = tmp_path / "junit.xml"
    code, _, output = run_suite("refcnn", tmp_path, "-k", "flatten2d", "--junitxml", str(xml))
    assert code == 0, output[-2000:]
    assert "<testsuite" in xml.read_text()


# --- what the ci profile draws (refcnn, the default run) ---------------------------

ARGMAX_OPS = ("max_pooling2d", "maxout")
KINK_OPS = ("relu", "leaky_relu", "relun", "srelu", "elu", "rrelu", "step", "prelu")
MIN_TAGGED = 5  # examples per dtype that must hit a corner's defining tag


@pytest.fixture(scope="module")
def refcnn_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str]:
    return run_suite(
        "refcnn", tmp_path_factory.mktemp("refcnn"), "-k", "test_", "--conformance-coverage"
    )


def test_refcnn_passes_its_own_suite(refcnn_run) -> None:
    code, verdict, output = refcnn_run
    assert code == 0 and verdict["all_provided_pass"], output[-3000:]
    assert "conformance coverage: what the run drew" in output


def test_every_corner_is_drawn_and_tagged(refcnn_run) -> None:
    """Each corner of each op draws examples in both dtypes, and (but plain
    and mixed) they hold what the corner is about: a strategy change that
    stops drawing a corner fails here."""
    _, verdict, _ = refcnn_run
    coverage = verdict["coverage"]
    for op in ot.OPS:
        assert set(coverage[op.name]) == set(op.corners), op.name
        for corner, drawn in coverage[op.name].items():
            for dtype in ("float64", "float32"):
                got = drawn["by_dtype"][dtype]
                assert got["compared"] + got["shape_only"] >= 5, (op.name, corner, dtype)
                if cn.CORNERS[corner].tagged:
                    assert got["tags"].get(corner, 0) >= MIN_TAGGED, (op.name, corner, dtype, got)


def test_ties_kinks_and_many_channels_are_drawn_in_both_dtypes(refcnn_run) -> None:
    _, verdict, _ = refcnn_run
    coverage = verdict["coverage"]
    for op in ARGMAX_OPS:
        for dtype in ("float64", "float32"):
            assert coverage[op]["ties"]["by_dtype"][dtype]["tags"]["ties"] >= MIN_TAGGED, op
    assert coverage["maxout"]["ties"]["tags"]["all-zero rows"] >= 1
    for op in KINK_OPS:
        for dtype in ("float64", "float32"):
            assert coverage[op]["kinks"]["by_dtype"][dtype]["tags"]["kinks"] >= MIN_TAGGED, op
    for op in ("convolution2d", "max_pooling2d", "average_pooling2d", "convpscfu"):
        tags = coverage[op]["strides"]["tags"]
        assert tags.get("non-dividing strides", 0) >= 1, op
        assert coverage[op]["mixed"]["tags"].get("many channels", 0) >= 1, op
    assert coverage["max_pooling2d"]["padding"]["tags"]["negative under padding"] >= 1


MIN_DEGENERATE = 1  # examples per dtype of each degenerate shape in the corners that draw it


def test_degenerate_shapes_are_drawn_in_their_corners(refcnn_run) -> None:
    """1x1 inputs with c > 1, windows as large as the padded input, strides
    beyond the input, windows wholly in the padding, a batch of one image of
    one channel: drawn on purpose (Corner.degenerate) in both dtypes."""
    _, verdict, _ = refcnn_run
    coverage = verdict["coverage"]
    checked, low = 0, []
    for op in ot.OPS:
        for corner in op.corners if op.shape is not None else ():
            for tag in cn.degenerate(op.shape, corner):
                for dtype in ("float64", "float32"):
                    got = coverage[op.name][corner]["by_dtype"][dtype]["tags"].get(tag, 0)
                    if got < MIN_DEGENERATE:
                        low.append((op.name, corner, tag, dtype, got))
                    checked += 1
    assert not low
    assert checked >= 100  # every window op: 4 corners, 1 to 3 shapes each, 2 dtypes


def test_values_are_compared_outside_the_empty_batch(refcnn_run) -> None:
    """Only the empty batch compares shapes alone; every other example
    compares at least one value."""
    _, verdict, _ = refcnn_run
    for op, checks in verdict["ops"].items():
        for check, cell in checks.items():
            for corner, result in cell.get("corners", {}).items():
                if corner != "empty batch":
                    assert result["shape_only"] == 0, (op, check, corner)
