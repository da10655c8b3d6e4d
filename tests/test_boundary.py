"""The trust boundary (conformance.judging.boundary, conformance.judged.worker,
conformance.judged.protocol): the judged code runs in a worker of its own, and
nothing it does there can forge a verdict. Each forger of tests/impls/forgers
hands in a max pooling that returns zeros, and tries another way to pass."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conformance.judged import protocol as pr
from conformance.judging import boundary as bd
from tests.test_harness import ROOT, run_suite

SELECTION = "max_pooling2d and test_forward and (plain or padding)"
FORGERS = ["liar", "patches_suite", "patches_numpy", "patches_oracle", "forges_replies"]


def _forward(verdict: dict) -> dict:
    return verdict["ops"]["max_pooling2d"]["forward"]


@pytest.mark.parametrize("workers", ["0", "2"])
@pytest.mark.parametrize("name", FORGERS)
def test_a_forger_never_passes(name: str, workers: str, tmp_path: Path) -> None:
    code, verdict, output = run_suite(
        f"tests.impls.forgers.{name}", tmp_path, "-n", workers, "-k", SELECTION
    )
    assert code == 1, output[-3000:]
    assert not verdict["all_provided_pass"]
    corners = _forward(verdict)["corners"]
    assert {"plain", "padding"} <= set(corners)
    for corner in ("plain", "padding"):
        cell = corners[corner]
        assert cell["status"] == "FAIL", (corner, cell)
        kind = "crashed" if name == "forges_replies" else "wrong values"
        assert cell["failure"]["kind"] == kind, cell["failure"]
        if kind == "wrong values":  # the zeros, as they are
            assert ", got 0.0, |diff|" in cell["failure"]["message"]


def _daemons(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _sandbox_missing() -> str:
    path = bd.bwrap()
    return bd.bwrap_works(path) if path else "bwrap is not installed"


needs_bwrap = pytest.mark.skipif(
    bool(_sandbox_missing()) and not os.environ.get("REFCNN_CI"), reason="needs bubblewrap"
)


def test_ci_has_the_sandbox() -> None:
    """.ci/run installs bubblewrap and sets REFCNN_CI: there, the sandbox's
    tests run (a missing bwrap fails them instead of skipping them)."""
    if not os.environ.get("REFCNN_CI"):
        pytest.skip("outside .ci/run")
    assert _sandbox_missing() == ""


@needs_bwrap
def test_a_daemon_rewriting_json_forges_nothing_and_is_gone_at_the_end(tmp_path: Path) -> None:
    """The daemon the forger starts at import would rewrite every JSON file
    for two minutes: the verdict stays FAIL, the run ends at once, and no
    process of the daemon is left."""
    mark = f"refcnn-forger-{os.getpid()}-{time.monotonic_ns()}"
    os.environ["REFCNN_FORGER_MARK"] = mark
    start = time.monotonic()
    try:
        code, verdict, output = run_suite(
            "tests.impls.forgers.rewrites_json", tmp_path, "-k", SELECTION
        )
    finally:
        del os.environ["REFCNN_FORGER_MARK"]
    seconds = time.monotonic() - start
    assert code == 1 and not verdict["all_provided_pass"], output[-2000:]
    time.sleep(1.0)  # what it would have rewritten by now
    text = (tmp_path / "verdict.json").read_text()
    assert '"all_provided_pass": false' in text and '"FAIL' in text
    assert _daemons(mark) == []
    assert seconds < 60


def listen() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    return listener


def heard(listener: socket.socket) -> list[bytes]:
    found = []
    try:
        while True:
            connection, _ = listener.accept()
            found.append(connection.recv(100))
    except OSError:  # the time-out: nobody (left) to hear
        pass
    listener.close()
    return found


@needs_bwrap
@pytest.mark.parametrize("workers", ["0", "2"])
def test_the_judged_code_reaches_no_loopback_listener(workers: str, tmp_path: Path) -> None:
    listener = listen()
    os.environ["REFCNN_FORGER_PORT"] = str(listener.getsockname()[1])
    try:
        code, verdict, _ = run_suite(
            "tests.impls.forgers.calls_home", tmp_path, "-n", workers, "-k", SELECTION
        )
    finally:
        del os.environ["REFCNN_FORGER_PORT"]
    assert heard(listener) == [] and code == 1 and not verdict["all_provided_pass"]


def test_without_the_sandbox_the_listener_hears_the_judged_code(tmp_path: Path) -> None:
    """The control of the test above: the same forger, its worker without
    bubblewrap (REFCNN_SANDBOX=none), connects."""
    listener = listen()
    os.environ.update(REFCNN_FORGER_PORT=str(listener.getsockname()[1]), REFCNN_SANDBOX="none")
    try:
        code, verdict, _ = run_suite("tests.impls.forgers.calls_home", tmp_path, "-k", SELECTION)
    finally:
        del os.environ["REFCNN_FORGER_PORT"], os.environ["REFCNN_SANDBOX"]
    assert b"hello from the judged code\n" in heard(listener)
    assert code == 1 and "the judged code ran with no sandbox" in " ".join(verdict["notes"])


def test_the_sabotage_of_the_suite_in_the_worker_changes_nothing(tmp_path: Path) -> None:
    """hostile/sabotage breaks the suite's comparison in its own process:
    that process is the worker now, where no comparison runs."""
    code, verdict, output = run_suite(
        "tests.impls.hostile.sabotage", tmp_path, "-k", "flatten2d and test_forward and plain"
    )
    assert code == 0 and verdict["all_provided_pass"], output[-2000:]


def test_an_input_retyped_in_the_worker_is_a_mutated_input(tmp_path: Path) -> None:
    """The worker hands back an input whose bytes it now reads as strings:
    each corner fails as a mutated input, naming both dtypes."""
    code, verdict, output = run_suite(
        "tests.impls.hostile.retypes_input", tmp_path, "-k", "relu and test_forward"
    )
    assert code == 1 and not verdict["all_provided_pass"], output[-2000:]
    corners = verdict["ops"]["relu"]["forward"]["corners"]
    assert corners and all(c["status"] == "FAIL" for c in corners.values()), corners
    for corner in corners.values():
        failure = corner["failure"]
        assert failure["kind"] == "mutated input", failure
        assert "dtype of its input u, float" in failure["message"], failure


# --- the protocol ----------------------------------------------------------------


def _round_trip(value):
    tree, buffers = pr.encode(value)
    return pr.decode(tree, buffers, generators=True)


def test_values_cross_as_plain_data() -> None:
    class Sub(np.ndarray):
        pass

    u = np.arange(6.0).reshape(2, 3)
    got = _round_trip((u.view(Sub), [1, 2.5, None, True], np.float32(2), 3 + 1j, {"k": u}))
    assert type(got) is tuple and type(got[0]) is np.ndarray and got[0].flags.writeable
    np.testing.assert_array_equal(got[0], u)
    assert got[1] == [1, 2.5, None, True] and type(got[1]) is list
    assert type(got[2]) is np.float32 and got[2] == 2 and got[3] == 3 + 1j
    np.testing.assert_array_equal(got[4]["k"], u)
    # decoded straight from an encoder's buffers (views of u): copies of their own
    assert not any(np.shares_memory(a, u) for a in (got[0], got[4]["k"]))
    rng = np.random.default_rng(5)
    expected = np.random.default_rng(5).standard_normal(3)
    np.testing.assert_array_equal(_round_trip(rng).standard_normal(3), expected)


def test_objects_are_named_never_rebuilt() -> None:
    class Thing:
        def __repr__(self):
            return "Thing()"

    got = _round_trip([Thing(), np.array([object()], dtype=object)])
    assert all(isinstance(v, pr.Opaque) for v in got)
    assert got[0].type_name == "Thing" and "object array" in got[0].message
    assert got[1].type_name == "ndarray"


@pytest.mark.parametrize(
    ("tree", "buffers", "says"),
    [
        ({"a": [0, "|O", [1]]}, [b"\0" * 8], "not sent as data"),
        ({"a": [0, "<f8", [2]]}, [b"\0" * 8], "in 8 bytes"),
        ({"a": [1, "<f8", [1]]}, [b"\0" * 8], "out of range"),
        ({"a": [0, "<f8", [-1]]}, [b""], "non-negative"),
        ({"x": 1}, [], "unknown value node"),
        ({"g": {"bit_generator": "PCG64"}}, [], "unknown value node"),  # not in replies
        ([1, 2], [], "bare list"),
    ],
)
def test_a_reply_that_breaks_the_protocol_is_refused(tree, buffers, says) -> None:
    with pytest.raises(pr.ProtocolError, match=says):
        pr.decode(tree, buffers)


def test_an_oversized_frame_is_refused_unread() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, pr.FRAME.pack(10, 2**30) + b"{}")
    with pytest.raises(pr.FrameTooLargeError):
        pr.read_frame(read_end, 2**20)
    os.close(read_end)
    os.close(write_end)


def test_a_frame_round_trip_rebuilds_aligned_arrays_of_their_own() -> None:
    """Through a pipe: arrays read in place are aligned and writable, odd
    sizes are padded, a buffer named twice is decoded as two arrays that
    share no memory, and the frame's declared length counts the padding."""
    rng = np.random.default_rng(0)
    values = (rng.standard_normal((3, 5, 7)), np.arange(3, dtype=np.int8), np.float32(2.5))
    encoder = pr.Encoder()
    tree = encoder.encode(values)
    read_end, write_end = os.pipe()
    try:
        pr.write_frame(write_end, {"v": tree, "twice": {"t": [tree["t"][0], tree["t"][0]]}},
                       encoder.buffers)  # fmt: skip
        header, buffers = pr.read_frame(read_end, 2**20)
    finally:
        os.close(read_end)
        os.close(write_end)
    got = pr.decode(header["v"], buffers)
    for want, have in zip(values, got, strict=True):
        np.testing.assert_array_equal(have, want)
        assert have.dtype == np.asarray(want).dtype
    assert all(a.flags.aligned and a.flags.writeable for a in got[:2])
    assert [len(b) for b in buffers] == [3 * 5 * 7 * 8, 3, 4]
    first, second = pr.decode(header["twice"], buffers)
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, second)


def test_the_judged_codes_exceptions_keep_their_builtin_kind() -> None:
    """A ValueError raised in the worker is a ValueError here (the
    validation check's pytest.raises sees it), named as it was."""
    boundary = bd.Boundary("refcnn", ["max_pooling2d"])
    try:
        with pytest.raises(ValueError) as info:
            boundary.call("max_pooling2d", (np.zeros((2, 3)),), {})
        assert bd.FROM_IMPLEMENTATION in vars(info.value)
        assert type(info.value).__name__ == "ValueError" and "u must have" in str(info.value)
        assert info.value.origin.startswith(" (at _args.py:")  # where refcnn raised it
    finally:
        boundary.close()


@needs_bwrap
def test_the_worker_runs_alone_in_its_sandbox() -> None:
    """Inside bubblewrap the worker sees its own pids, no network, and files
    it cannot write (but for its scratch folder, bound by the Boundary)."""
    probe = (
        "import os, socket\n"
        "s = socket.socket()\n"
        "try:\n    s.connect(('127.0.0.1', 22)); net = 'connected'\n"
        "except OSError as e:\n    net = type(e).__name__\n"
        f"try:\n    open(os.path.join({str(ROOT)!r}, 'x'), 'w'); wrote = True\n"
        "except OSError:\n    wrote = False\n"
        "print(os.getpid(), net, wrote, len([p for p in os.listdir('/proc') if p.isdigit()]))\n"
    )
    command = [bd.bwrap(), *bd._BWRAP_FLAGS, "--", sys.executable, "-c", probe]
    pid, net, wrote, processes = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert int(pid) < 10 and int(processes) < 10
    assert net != "connected" and wrote == "False"
