"""A verdict that can be left unattended: whatever the implementation does
(crash, exit, hang, print without end, return nonsense), the run finishes,
names the culprit's (op, check, corner) cell and its kind, writes the table
and the JSON, and exits non-zero; an interrupted run is never a pass; the
article's own code (views included) passes.

Each case is a small hostile module of our own in ``tests/impls/hostile/``,
run through the real command in a subprocess, under ``-n 0`` and ``-n 2``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_harness import ROOT, run_snippet, run_suite


def _cell(verdict: dict, op: str, corner: str, check: str = "forward") -> dict:
    return verdict["ops"][op][check]["corners"][corner]


# module, selection, op, corner, kind, what the message must say
CRASHES = {
    "segfault": (
        "convolution2d and test_forward and f64 and (padding or plain)",
        "convolution2d",
        "padding",
        "crashed",
        "killed by SIGSEGV in convolution2d()",
    ),
    "os_exit": (
        "max_pooling2d and test_forward and f64 and plain",
        "max_pooling2d",
        "plain",
        "crashed",
        "exited with code 0 in max_pooling2d()",
    ),
    "sigkill": (
        "average_pooling2d and test_forward and f64 and plain",
        "average_pooling2d",
        "plain",
        "crashed",
        "killed by SIGKILL (as the OOM killer does) in average_pooling2d()",
    ),
    "sys_exit": (
        "max_pooling2d and test_forward and f64 and plain",
        "max_pooling2d",
        "plain",
        "crashed",
        "raised SystemExit(0)",
    ),
    "keyboard_interrupt": (
        "flatten2d and test_forward and f64 and plain",
        "flatten2d",
        "plain",
        "crashed",
        "raised KeyboardInterrupt()",
    ),
    "hang": (
        "average_pooling2d and test_forward and f64 and plain",
        "average_pooling2d",
        "plain",
        "timed out",
        "no result after 3 s (--timeout) in average_pooling2d()",
    ),
}
TIMEOUT = 3


@pytest.mark.parametrize("workers", ["0", "2"])
@pytest.mark.parametrize("name", list(CRASHES))
def test_crash_or_hang_is_reported_in_its_cell(name: str, workers: str, tmp_path: Path) -> None:
    selection, op, corner, kind, says = CRASHES[name]
    start = time.monotonic()
    code, verdict, output = run_suite(
        f"tests.impls.hostile.{name}",
        tmp_path,
        "-n",
        workers,
        "-k",
        selection,
        "--timeout",
        str(TIMEOUT),
    )
    seconds = time.monotonic() - start
    assert code == 1, output[-3000:]
    assert not verdict["all_provided_pass"] and not verdict["interrupted"]
    failure = _cell(verdict, op, corner)["failure"]
    assert failure["kind"] == kind and says in failure["message"], failure
    assert f"{op}  {corner}" in output and f"{kind}: " in output, output[-3000:]
    if name == "segfault":  # the run went on: the unpadded corner passed
        assert _cell(verdict, op, "plain")["status"] == "pass"
    if name == "hang":
        assert "last call: average_pooling2d(u" in failure["call"]
    assert seconds < TIMEOUT + 60


def _start(args: list[str], tmp_path: Path, cwd: Path = ROOT) -> subprocess.Popen:
    """The command in a process group of its own, with SIGINT at its default
    (a shell's background job would ignore it); the hanging module marks
    when its hang begins (see :func:`_wait_for_hang`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "refcnn.conformance", *args],
        cwd=cwd,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HANG_MARKER": str(tmp_path / "hanging"),
            "REFCNN_SANDBOX_WRITABLE": str(tmp_path),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_hang(process: subprocess.Popen, tmp_path: Path) -> None:
    deadline = time.monotonic() + 180
    while not (tmp_path / "hanging").exists():
        assert time.monotonic() < deadline and process.poll() is None, "the hang never began"
        time.sleep(0.2)


@pytest.mark.parametrize("workers", ["0", "2"])
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupted_run_is_not_a_pass(how: str, workers: str, tmp_path: Path) -> None:
    report = tmp_path / "verdict.json"
    process = _start(
        [
            "--impl",
            "tests.impls.hostile.hang",
            "-n",
            workers,
            "-k",
            "pooling2d and test_forward and f64",
            "--conformance-report",
            str(report),
            "--conformance-failures",
            str(tmp_path / "failures.txt"),
        ],
        tmp_path,
    )
    _wait_for_hang(process, tmp_path)  # max pooling passes; average pooling hangs
    time.sleep(1)
    if how == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole group
    else:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2, output[-3000:]
    assert "INTERRUPTED" in output and "tests running when it stopped" in output, output[-3000:]
    verdict = json.loads(report.read_text())
    assert verdict["interrupted"] and not verdict["all_provided_pass"]
    running = verdict["running_when_interrupted"]
    assert any("average_pooling2d" in test for test in running), running


@pytest.mark.parametrize(
    ("name", "op", "kind", "says"),
    [
        ("complex_output", "convolution2d", "wrong dtype", "returned complex128 values"),
        ("string_output", "flatten2d", "wrong dtype", "returned <U32 values"),
        ("none_output", "max_pooling2d", "wrong shape", "returned None (a missing return?)"),
    ],
)
def test_outputs_that_are_not_real_arrays_fail(
    name: str, op: str, kind: str, says: str, tmp_path: Path
) -> None:
    code, verdict, output = run_suite(
        f"tests.impls.hostile.{name}", tmp_path, "-k", f"{op} and test_forward and plain"
    )
    assert code == 1, output[-3000:]
    failure = _cell(verdict, op, "plain")["failure"]
    assert failure["kind"] == kind and says in failure["message"], failure
    assert "ComplexWarning" not in output


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("nothing", "provides none of the article's functions"),
        ("non_callable", "convolution2d = NoneType, max_pooling2d = int"),
    ],
)
def test_module_without_functions_is_a_usage_error(name: str, says: str, tmp_path: Path) -> None:
    code, verdict, output = run_suite(f"tests.impls.hostile.{name}", tmp_path)
    assert code == 4 and says in output and not verdict, output[-3000:]


def test_the_articles_own_code_passes_and_views_are_reported_only_when_strict(
    tmp_path: Path,
) -> None:
    code, verdict, output = run_suite("tests.impls.article_transcription", tmp_path, "-n", "2")
    assert code == 0 and verdict["all_provided_pass"], output[-3000:]
    for op in ("convolution2d", "max_pooling2d", "average_pooling2d", "flatten2d"):
        for check in ("forward", "backward", "gradient", "golden", "hygiene"):
            assert verdict["ops"][op][check]["status"] == "pass", (op, check)
    code, verdict, output = run_suite(
        "tests.impls.article_transcription",
        tmp_path,
        "-k",
        "test_hygiene and flatten2d",
        "--strict-policies",
    )
    assert code == 1
    failure = _cell(verdict, "flatten2d", "plain", "hygiene")["failure"]
    assert failure["kind"] == "aliased output" and "(a view;" in failure["message"]


def test_reused_buffer_still_fails(tmp_path: Path) -> None:
    code, verdict, _ = run_suite(
        "tests.impls.broken.cached_output_buffer", tmp_path, "-k", "test_hygiene and max_pool"
    )
    assert code == 1
    failure = _cell(verdict, "max_pooling2d", "plain", "hygiene")["failure"]
    assert failure["kind"] == "aliased output" and "a second call" in failure["message"]


# --- the run's files ---------------------------------------------------------------


def _runner(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "refcnn.conformance", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    ("option", "path", "says"),
    [
        ("--conformance-report", "missing/verdict.json", "does not exist"),
        ("--conformance-failures", ".", "is a folder"),
        ("--conformance-report", "/proc/verdict.json", "cannot write in the folder"),
    ],
)
def test_unwritable_paths_are_usage_errors_before_the_run(
    option: str, path: str, says: str, tmp_path: Path
) -> None:
    start = time.monotonic()
    result = _runner("--impl", "refcnn", option, path, cwd=tmp_path)
    seconds = time.monotonic() - start
    assert result.returncode == 4 and says in result.stderr + result.stdout, result.stderr
    assert "passed" not in result.stdout and seconds < 20  # nothing ran


def test_passing_run_removes_a_stale_failures_file(tmp_path: Path) -> None:
    stale = tmp_path / "refcnn-conformance-failures.txt"
    stale.write_text("failures of an earlier run\n")
    result = _runner("--impl", "refcnn", "-n", "0", "-k", "flatten2d and plain", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert not stale.exists() and "removed the earlier" in result.stdout
    assert not list(tmp_path.glob(".refcnn-conformance-failures.txt.*"))  # no temporary left


def test_concurrent_runs_never_claim_each_others_files(tmp_path: Path) -> None:
    first = _start(
        [
            "--impl",
            "tests.impls.hostile.hang",
            "-n",
            "0",
            "-k",
            "average_pooling2d and test_forward and plain and f64",
            "--conformance-report",
            "verdict.json",
            "--timeout",
            "60",
        ],
        tmp_path,
        cwd=tmp_path,
    )
    try:
        _wait_for_hang(first, tmp_path)  # the first run holds its paths and hangs
        second = _runner(
            "--impl",
            "refcnn",
            "-n",
            "0",
            "-k",
            "flatten2d and plain and test_forward",
            "--conformance-report",
            "verdict.json",
            cwd=tmp_path,
        )
        assert second.returncode == 0, second.stdout[-2000:]
        assert "another run in progress writes verdict.json" in second.stdout
        mine = list(tmp_path.glob("verdict-*.json"))
        assert len(mine) == 1 and json.loads(mine[0].read_text())["implementation"] == "refcnn"
        assert f"verdict written to {mine[0].name}" in second.stdout
        assert not (tmp_path / "verdict.json").exists()  # the first run's, not written yet
    finally:
        first.kill()  # SIGKILL: its test's child process must end with it
        first.communicate(timeout=30)


def test_unmatched_xfails_are_warned_about_under_xdist(tmp_path: Path) -> None:
    entries = tmp_path / "xfails.txt"
    entries.write_text("test_backward[nothing-plain-f64]  an id that matches no test\n")
    code, _, output = run_suite(
        "refcnn",
        tmp_path,
        "-n",
        "2",
        "-k",
        "flatten2d and plain and test_forward",
        "--xfails-file",
        str(entries),
    )
    assert code == 0 and "test_backward[nothing-plain-f64] matches no test" in output


BOUNDED = """
import os, sys
from refcnn.conformance.judged.worker import BoundedOutput
saved = os.dup(1)
output = BoundedOutput(limit=65536)
for _ in range(2048):
    print("x" * 1023)
os.write(2, b"tail from stderr\\n")
text = output.take()
os.write(saved, f"{len(text)}\\n{text.splitlines()[0]}\\n{text.splitlines()[-1]}\\n".encode())
"""


def test_captured_output_is_bounded() -> None:
    """A test phase keeps the last 64 KB of what it printed (2 MB here), and
    says how much it dropped."""
    result = subprocess.run(
        [sys.executable, "-c", BOUNDED],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    length, first, last = result.stdout.splitlines()
    printed = 2048 * 1024 + len("tail from stderr\n")
    assert first == f"[{printed - 65536} earlier bytes of output dropped]"
    assert last == "tail from stderr"
    assert int(length) == len(first) + 1 + 65536


def test_snippet_imports_only_the_functions_its_check_calls(tmp_path: Path) -> None:
    _, verdict, _ = run_suite(
        "tests.impls.hostile.forward_only",
        tmp_path,
        "-k",
        "convolution2d and test_forward and plain",
    )
    failure = _cell(verdict, "convolution2d", "plain")["failure"]
    snippet = failure["snippet"]
    assert "from tests.impls.hostile.forward_only import convolution2d\n" in snippet
    result = run_snippet(snippet)
    assert result.returncode == 1 and "AssertionError" in result.stderr, result.stderr[-2000:]


def test_an_error_of_the_suite_is_the_suites(tmp_path: Path) -> None:
    """A bug of the suite's own comparison (planted by a pytest plugin in
    the trusted process, the suite run under pytest as the README shows)."""
    report = tmp_path / "verdict.json"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "refcnn.conformance.plugin", "-p",
         "tests.suite_bug_plugin", "--pyargs", "refcnn.conformance", "--impl",
         "tests.impls.article_loops", "-n", "0", "-k", "flatten2d and test_forward and plain",
         "--conformance-report", str(report), "--conformance-failures",
         str(tmp_path / "failures.txt"), "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    code, output = result.returncode, result.stdout + result.stderr
    verdict = json.loads(report.read_text())
    assert code == 3, output[-3000:]
    assert "SUITE ERROR" in output and "please report it" in output.lower()
    failure = _cell(verdict, "flatten2d", "plain")["failure"]
    assert failure["kind"] == "suite error" and "ZeroDivisionError" in failure["message"]
    assert not verdict["all_provided_pass"] and verdict["suite_errors"]


def test_a_wrong_forward_is_not_blamed_on_the_backward(tmp_path: Path) -> None:
    """flipped_filter's backward is right; its forward is not. The gradient
    check (finite differences of the implementation's own forward) says so."""
    code, verdict, _ = run_suite(
        "tests.impls.broken.flipped_filter",
        tmp_path,
        "-k",
        "convolution2d and test_gradient and plain",
    )
    assert code == 1
    failure = _cell(verdict, "convolution2d", "plain", "gradient")["failure"]
    assert failure["message"].startswith("wrong forward on the gradient check's inputs: "), failure


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_hang_costs_one_time_limit_per_op_and_corner(workers: str, tmp_path: Path) -> None:
    """After a time-out, the other tests of that op and corner are reported
    as not run, naming the time-out, never as passing."""
    start = time.monotonic()
    code, verdict, output = run_suite(
        "tests.impls.hostile.hang", tmp_path, "-n", workers,
        "-k", "average_pooling2d and (plain or padding) and not defaults", "--timeout", "2",
    )  # fmt: skip
    seconds = time.monotonic() - start
    assert code == 1 and not verdict["all_provided_pass"], output[-3000:]
    checks = verdict["ops"]["average_pooling2d"]
    timed_out = [
        (check, corner)
        for check, cell in checks.items()
        for corner, result in cell.get("corners", {}).items()
        if result["status"] == "FAIL"
    ]
    assert len(timed_out) <= 2 * max(1, int(workers))  # one per corner (and pytest process)
    kinds = {f["kind"] for cell in checks.values() for f in cell.get("failures", [])}
    assert kinds == {"timed out"}, kinds
    not_run = [
        (check, corner, result.get("skip_reason", ""))
        for check, cell in checks.items()
        for corner, result in cell.get("corners", {}).items()
        if result["status"] == "not run"
    ]
    assert all("timed out in average_pooling2d [" in r for *_, r in not_run)
    passed = [
        (check, corner)
        for check, cell in checks.items()
        for corner, result in cell.get("corners", {}).items()
        if result["status"] == "pass"
    ]
    if workers == "0":  # one process: the first test of each corner times out, the rest wait
        assert len(timed_out) == 2 and len(not_run) == 7 and not passed, (timed_out, not_run)
    else:
        # The other process may have run a backward check before its own
        # time-out there: that pass is true (the check hands the article's
        # correct average_pooling2d_back the oracle's z, never the hanging
        # forward). Every check that calls average_pooling2d never passes.
        assert all(check == "backward" for check, _ in passed), passed
        assert len(timed_out) + len(not_run) + len(passed) == 9
        assert len(not_run) >= 9 - 2 * 2 - 2, not_run
    assert seconds < 2 * 2 * max(1, int(workers)) + 60


def test_a_test_after_one_not_run_starts_clean(tmp_path: Path) -> None:
    """The child keeps the setup of the test it was told comes next; when
    the parent reports that one as not run (its op and corner timed out),
    the next test it sends, from another module, must not inherit that
    setup. (It did: pytest's "previous item was not torn down properly",
    blamed on a correct flatten2d as wrong values.)"""
    # test_hygiene[max_pooling2d-plain] runs, told its successor is
    # average_pooling2d's, which is not run; then test_flatten_order_is_nhwc
    keyword = "(max_pooling2d or average_pooling2d) and plain and not defaults"
    code, verdict, output = run_suite(
        "tests.impls.hostile.hang", tmp_path,
        "-k", f"{keyword} or test_flatten_order", "--timeout", "2",
    )  # fmt: skip
    assert code == 1, output[-3000:]
    failures = [
        (op, check, f["kind"])
        for op, checks in verdict["ops"].items()
        for check, cell in checks.items()
        for f in cell.get("failures", [])
    ]
    assert failures == [("average_pooling2d", "golden", "timed out")], failures
    hygiene = verdict["ops"]["max_pooling2d"]["hygiene"]["corners"]["plain"]["status"]
    assert hygiene == "pass"  # its successor, average_pooling2d's, was not run
    assert verdict["ops"]["flatten2d"]["semantics"]["status"] == "pass"
    assert not verdict["suite_errors"]


def test_an_assertion_in_a_setup_is_the_suites() -> None:
    """The implementation is not called in a test's setup: an AssertionError
    there (pytest's own) is a suite error, never wrong values."""
    from refcnn.conformance.plugin import failure_of

    setup = failure_of(AssertionError("previous item was not torn down properly"), "setup")
    assert setup["kind"] == "suite error" and "suite's own code" in setup["message"]
    assert failure_of(AssertionError("values differ"), "call")["kind"] == "wrong values"


def test_a_spent_budget_is_never_a_pass(tmp_path: Path) -> None:
    code, verdict, output = run_suite(
        "refcnn", tmp_path, "-k", "convolution2d and test_forward", "--budget", "0.5"
    )
    assert code == 1 and not verdict["all_provided_pass"], output[-3000:]
    cell = verdict["ops"]["convolution2d"]["forward"]
    assert cell["not_run"] >= 1 and cell["status"] in ("not run", "FAIL")
    reasons = {c.get("skip_reason", "") for c in cell["corners"].values()}
    assert "not run: the run's budget (0.5 s, --budget) was spent" in reasons


def test_an_exit_of_the_implementation_reads_the_same_wherever_it_escapes() -> None:
    """A KeyboardInterrupt of the implementation's own that escapes a test
    (a semantics test calls it unwrapped) gets the words a wrapped call
    gets: what it raised, where, and that it would end the run."""
    from refcnn.conformance.judging import boundary as bd
    from refcnn.conformance.judging import calls as cl
    from refcnn.conformance.plugin import failure_of

    info = {"type": "KeyboardInterrupt", "message": "", "origin": " (at s.py:7 in flatten2d)"}
    escaped = failure_of(bd.ImplementationExit(info))
    expected = "the implementation raised KeyboardInterrupt() (at s.py:7 in flatten2d), which "
    assert escaped == {
        "kind": "crashed",
        "exception": "KeyboardInterrupt",
        "message": expected + "would end the test run",
    }
    try:
        cl.call_implementation(lambda: (_ for _ in ()).throw(bd.ImplementationExit(info)),
                               "flatten2d forward", lambda: "", {})  # fmt: skip
    except Exception as wrapped:
        assert wrapped.as_dict()["message"] == escaped["message"]
    else:
        raise AssertionError("call_implementation let the exit through")
