"""``refcnn grade SUBMISSION... --out DIR``: judge a class.

Each submission is judged in a sandbox of its own (:mod:`.judge`), several
at once on local cores (``--jobs N``; the default needs no server) or as
tasks of a ``dask.distributed`` cluster (``--dask ADDRESS``, with
``pip install 'refcnn[grade]'``); the files are the same whichever judges
them (:mod:`.outputs`).

Nothing is lost and a run can be resumed: each submission's files are
written as soon as it is judged, and then its record in ``DIR/.grading/``
(its fingerprint: its files, the suite's version, the options). Run again,
the command judges only what has no record with the same fingerprint. Ctrl-C
(or SIGTERM) stops the runs in progress and leaves every file whole: the
grades file and the class page list what was judged. The progress says how
many are done, the time left, and the failures so far.

Exit codes: 0 when every submission was judged (whatever its results), 2
when interrupted, 4 for a usage error, 3 for an error of the grader.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from refcnn import i18n
from refcnn.i18n import tr

from ..running import options as opts
from ..verdict.files import write_whole
from . import outputs as out
from . import rubric as rb
from .judge import Judgement, Limits, ending_text, judge, preflight
from .submissions import Submission, SubmissionError, discover

STATE = ".grading"
AUTOGRADER = Path(os.environ.get("REFCNN_AUTOGRADER_ROOT", "/autograder"))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="refcnn grade",
        description=tr("``refcnn grade SUBMISSION... --out DIR``: judge a class."),
    )
    p.add_argument(
        "submissions",
        nargs="*",
        type=Path,
        metavar="SUBMISSION",
        help=tr(
            ".py files, package folders, .ipynb notebooks, folders or zip archives "
            "of them, or a folder of such submissions"
        ),
    )
    p.add_argument("--out", type=Path, metavar="DIR", help=tr("where the grades go"))
    p.add_argument("--ids", type=Path, metavar="CSV", help=tr("student ids: columns path,id"))
    p.add_argument(
        "--entry",
        default="",
        metavar="NAME",
        help=tr("the file judged in a folder or archive with several"),
    )
    p.add_argument("--rubric", type=Path, metavar="TOML", help=tr("weights and visibility"))
    p.add_argument(
        "--jobs",
        type=int,
        default=2,
        metavar="N",
        help=tr("submissions judged at once on this machine (default 2)"),
    )
    p.add_argument("--dask", metavar="ADDRESS", help=tr("judge on a dask.distributed cluster"))
    limits = Limits()
    p.add_argument(
        "--budget",
        type=float,
        default=limits.budget,
        metavar="SECONDS",
        help=tr(
            "time for each submission's whole run (default {value})", value=f"{limits.budget:g}"
        ),
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=limits.timeout,
        metavar="SECONDS",
        help=tr("time for each test (default {value})", value=f"{limits.timeout:g}"),
    )
    p.add_argument(
        "--memory",
        type=int,
        default=limits.memory,
        metavar="MB",
        help=tr("address space per process (default {value})", value=limits.memory),
    )
    p.add_argument(
        "--file-size",
        type=int,
        default=limits.file_size,
        metavar="MB",
        help=tr("largest file a submission may write (default {value})", value=limits.file_size),
    )
    p.add_argument(
        "--processes",
        type=int,
        default=limits.processes,
        metavar="N",
        help=tr(
            "processes of a submission's user id, as root (default {value})", value=limits.processes
        ),
    )
    p.add_argument(
        "--allow",
        default="",
        metavar="MODULES",
        help=tr(
            "modules a submission may import after all, of those forbidden by default "
            "({modules}: the answer key and the oracle); comma-separated",
            modules=", ".join(limits.forbid),
        ),
    )
    p.add_argument(
        "--forbid",
        default="",
        metavar="MODULES",
        help=tr("more modules a submission may not import (e.g. jax,tensorflow); comma-separated"),
    )
    p.add_argument(
        "--weaker-sandbox",
        action="store_true",
        help=tr(
            "grade even where bubblewrap cannot make the sandbox: each submission then "
            "runs in a worker process with its limits and (as root) its own user id, but "
            "it can reach the network and loopback services and read what its user id "
            "may"
        ),
    )
    p.add_argument("-k", dest="keyword", default=None, help=tr("only the suite's tests matching"))
    p.add_argument(
        "--unsupported",
        action="append",
        default=[],
        metavar="CORNERS",
        help=tr("corners no submission is judged on (as for refcnn conformance)"),
    )
    p.add_argument(
        "--explain-budget",
        type=float,
        default=opts.DEFAULT_EXPLAIN_BUDGET,
        metavar="SECONDS",
        help=tr("search for each failing cell's smallest example"),
    )
    p.add_argument(
        "--pythonpath",
        action="append",
        default=[],
        metavar="DIR",
        help=tr("a folder every submission may import from (course helpers)"),
    )
    p.add_argument(
        "--gradescope",
        action="store_true",
        help=tr("also write each submission's results.json in the autograder format"),
    )
    p.add_argument(
        "--in-autograder",
        action="store_true",
        help=tr(
            "grade the autograder's /autograder/submission into "
            "/autograder/results/results.json (Gradescope's container)"
        ),
    )
    p.add_argument("--title", default="", help=tr("the class page's title"))
    p.add_argument("--force", action="store_true", help=tr("judge again what was judged already"))
    p.add_argument(
        "--lang",
        choices=i18n.LANGUAGES,
        default=None,
        help=tr("the language of the pages, the progress and the messages (default: the locale)"),
    )
    return i18n.localize(p)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with i18n.speaking(i18n.lang_in(argv)):  # the --help too
        args = parser().parse_args(argv)
    with i18n.speaking(args.lang) as lang:
        args.lang = lang
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    if args.in_autograder:
        args.submissions = [AUTOGRADER / "submission"]
        args.out = args.out or AUTOGRADER / "results" / "refcnn"
        args.gradescope = True
    if not args.submissions or args.out is None:
        print(tr("refcnn grade: give the submissions and --out DIR"), file=sys.stderr)
        return 4
    try:
        rubric = rb.load(args.rubric)
        submissions = discover(args.submissions, args.ids, args.entry)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / STATE).mkdir(exist_ok=True)
    except (rb.RubricError, SubmissionError, OSError) as exc:
        print(tr("refcnn grade: {error}", error=exc), file=sys.stderr)
        return 4
    if not submissions:
        print(tr("refcnn grade: no submissions found"), file=sys.stderr)
        return 4
    if os.geteuid() == 0:
        os.chmod(args.out, 0o700)  # the judged user ids read nothing of it
    grading = Grading(args, rubric, submissions)
    problem = preflight(grading.limits, args.weaker_sandbox)
    if problem:
        print(tr("refcnn grade: nothing judged: {problem}", problem=problem), file=sys.stderr)
        return 4
    code = grading.run()
    if args.in_autograder:
        only = grading.done.get(submissions[0].id)
        if only is not None:
            results = out.gradescope_results(only, rubric)
            write_whole(
                AUTOGRADER / "results" / "results.json", json.dumps(results, indent=2) + "\n"
            )
    return code


class Grading:
    """One run of the command: what is judged, what was, the files."""

    def __init__(self, args: argparse.Namespace, rubric: rb.Rubric, submissions: list[Submission]):
        self.args, self.rubric, self.submissions = args, rubric, submissions
        allowed = {n.strip() for n in args.allow.split(",")}
        more = [n.strip() for n in args.forbid.split(",") if n.strip()]
        forbid = tuple(n for n in (*Limits().forbid, *more) if n not in allowed)
        self.limits = Limits(
            args.budget, args.timeout, args.memory, args.file_size, args.processes, forbid
        )
        self.session_options = {
            "unsupported": list(args.unsupported),
            "explain_budget": args.explain_budget,
            "lang": args.lang,  # the verdicts' words, and so the pages'
        }
        self.done: dict[str, Judgement] = {}
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.failing = 0

    # --- what was judged already ------------------------------------------------------

    def key(self, submission: Submission) -> str:
        """What a record must match to stand: the submission's files, the
        suite's version and every option that changes a verdict."""
        import refcnn

        options = {
            "limits": asdict(self.limits),
            **self.session_options,
            "keyword": self.args.keyword,
            "pythonpath": self.args.pythonpath,
            "refcnn": refcnn.__version__,
            "suite": _suite_digest(),
        }
        text = json.dumps([submission.fingerprint, options], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _record(self, submission: Submission) -> Path:
        return self.args.out / STATE / f"{submission.id}.json"

    def resumed(self, submission: Submission) -> Judgement | None:
        path = self._record(submission)
        if self.args.force or not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("key") != self.key(submission):
            return None
        if not (self.args.out / submission.id / "page.html").exists():
            return None
        return Judgement(**data["judgement"])

    def keep(self, submission: Submission, judgement: Judgement) -> None:
        """The submission's files, then its record (a record stands only for
        files written whole), then the class's files."""
        out.write_submission(
            self.args.out / submission.id, judgement, self.rubric, self.args.gradescope
        )
        record = {"key": self.key(submission), "judgement": judgement.as_dict()}
        write_whole(self._record(submission), json.dumps(record) + "\n")
        with self.lock:
            self.done[submission.id] = judgement
            self.write_class()

    def write_class(self) -> None:
        judged = list(self.done.values())
        write_whole(self.args.out / "grades.csv", out.grades_csv(judged, self.rubric))
        write_whole(
            self.args.out / "index.html", out.index_html(judged, self.rubric, self.args.title)
        )

    # --- the run -----------------------------------------------------------------------

    def run(self) -> int:
        todo = []
        for submission in self.submissions:
            earlier = self.resumed(submission)
            if earlier is not None:
                self.done[submission.id] = earlier
            else:
                todo.append(submission)
        resumed = len(self.done)
        total = len(self.submissions)
        if self.args.dask:
            where = tr(" on {address}", address=self.args.dask)
        else:
            where = tr(" ({jobs} at once)", jobs=self.args.jobs)
        print(tr("refcnn grade: {total} submissions, {resumed} judged already, {todo} to judge",
                 total=total, resumed=resumed, todo=len(todo)) + where, flush=True)  # fmt: skip
        self.write_class()
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            if todo:
                (self._on_dask if self.args.dask else self._locally)(todo)
        except KeyboardInterrupt:
            print("\n" + tr("refcnn grade: interrupted; the files list what was judged ({done} of "
                            "{total}); run again to go on", done=len(self.done), total=total),
                  flush=True)  # fmt: skip
            return 2
        finally:
            signal.signal(signal.SIGTERM, previous)
            with self.lock:
                self.write_class()
        seconds = time.monotonic() - self.started
        files = f"{self.args.out / 'grades.csv'}, {self.args.out / 'index.html'}"
        print(tr("refcnn grade: {done} judged in {seconds} s; {files}", done=len(self.done),
                 seconds=f"{seconds:.0f}", files=files))  # fmt: skip
        return 0

    def _progress(self, judgement: Judgement, left: int) -> None:
        elapsed = time.monotonic() - self.started
        judged_now = max(1, len(self.done) - self._resumed_count)
        eta = elapsed / judged_now * left
        if judgement.ending != "finished" or not (judgement.verdict or {}).get("all_provided_pass"):
            self.failing += 1
        score = rb.score(judgement.verdict, self.rubric)
        line = tr("[{done}/{total}] {id}: score {score}, {ending}, {seconds} s | about {eta} s "
                  "left, {failing} not passing so far", done=len(self.done),
                  total=len(self.submissions), id=judgement.id, score=f"{score:.2f}",
                  ending=ending_text(judgement.ending), seconds=f"{judgement.seconds:.0f}",
                  eta=f"{eta:.0f}", failing=self.failing)  # fmt: skip
        print(line + (f" | {judgement.note}" if judgement.note else ""), flush=True)

    def _locally(self, todo: list[Submission]) -> None:
        self._resumed_count = len(self.done)

        def one(submission: Submission) -> tuple[Submission, Judgement]:
            return submission, judge(
                submission,
                self.limits,
                self.session_options,
                self.args.keyword,
                tuple(self.args.pythonpath),
            )

        pool = concurrent.futures.ThreadPoolExecutor(max(1, self.args.jobs))
        futures = [pool.submit(one, s) for s in todo]
        try:
            left = len(todo)
            for future in concurrent.futures.as_completed(futures):
                submission, judgement = future.result()
                left -= 1
                if _STOPPING.is_set():
                    continue
                self.keep(submission, judgement)
                self._progress(judgement, left)
        except KeyboardInterrupt:
            _STOPPING.set()
            for future in futures:
                future.cancel()
            _stop_sessions()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _on_dask(self, todo: list[Submission]) -> None:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise SystemExit(tr("refcnn grade: --dask needs pip install 'refcnn[grade]'")) from None
        self._resumed_count = len(self.done)
        with Client(self.args.dask) as client:
            futures = {
                client.submit(
                    judge_on_worker,
                    s,
                    self.limits,
                    self.session_options,
                    self.args.keyword,
                    tuple(self.args.pythonpath),
                    key=f"refcnn-grade-{s.id}-{s.fingerprint[:12]}",
                    pure=False,
                ): s
                for s in todo
            }
            left = len(todo)
            try:
                for future in as_completed(list(futures)):
                    judgement = future.result()
                    left -= 1
                    self.keep(futures[future], judgement)
                    self._progress(judgement, left)
            except KeyboardInterrupt:
                client.cancel(list(futures))
                raise


def judge_on_worker(submission, limits, session_options, keyword, pythonpath) -> Judgement:
    """:func:`.judge.judge`, as a Dask worker runs it (in the grading's
    language, not the worker's locale)."""
    with i18n.speaking(session_options.get("lang")):
        return judge(submission, limits, session_options, keyword, pythonpath)


# --- stopping ---------------------------------------------------------------------------

_STOPPING = threading.Event()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _stop_sessions() -> None:
    """Kill the sessions of the submissions being judged (their process
    groups; as root, their user ids' every process)."""
    from . import judge as jd

    for pid in list(jd.RUNNING):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def _suite_digest() -> str:
    """The suite's own code (a changed suite judges again)."""
    folder = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
