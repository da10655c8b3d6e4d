"""The process a submission is judged in: ``python -m
refcnn.conformance.grading.jail [limits] -- COMMAND...`` sets the limits,
leaves root for the submission's own user id, and becomes ``COMMAND`` (the
suite's session).

Limits (``setrlimit``, inherited by everything the submission starts):

* ``--memory MB``: address space per process (a 50 GB allocation raises
  MemoryError);
* ``--file-size MB``: the largest file it may write (a larger write is ended
  by SIGXFSZ);
* ``--processes N``: processes and threads of its user id (a fork without
  end fails with EAGAIN); only with ``--uid``, a user id of its own, since
  the limit counts every process of the user;
* no core files.

Run as root with ``--uid U --gid G``, it gives up root (and every
supplementary group) before the suite starts: the submission can then write
nothing but its own scratch folder (its user's) and ``/tmp``, and read
nothing of another submission's (their folders are mode 0700 and owned by
other user ids). Without root, the limits still hold but the user is the
grader's.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

MB = 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="refcnn.conformance.grading.jail")
    parser.add_argument("--uid", type=int, default=None)
    parser.add_argument("--gid", type=int, default=None)
    parser.add_argument("--memory", type=int, default=0, help="MB of address space per process")
    parser.add_argument("--file-size", type=int, default=0, help="MB per file written")
    parser.add_argument("--processes", type=int, default=0, help="processes of the user id")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if args.memory:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory * MB, args.memory * MB))
    if args.file_size:
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_size * MB, args.file_size * MB))
    if args.uid is not None and os.geteuid() == 0:
        if args.processes:
            resource.setrlimit(resource.RLIMIT_NPROC, (args.processes, args.processes))
        os.setgroups([])
        os.setgid(args.gid if args.gid is not None else args.uid)
        os.setuid(args.uid)
    os.umask(0o077)
    os.execvp(command[0], command)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main())
