"""The run's files: the JSON verdict, the failures file and the report page.

Their paths are checked when the run starts (a usage error, exit 4, at once;
not a traceback after the whole run). Each path is claimed for the run with
a lock (a file in the temporary folder, keyed by the path, so that nothing
is left beside the user's files): a second run started in the same folder
while the first still holds a path writes to its own name instead
(``name-<pid>.ext``) and says so, so that neither claims the other's file.
Files are written whole or not at all (a temporary file, then a rename), and
a run without failures removes the failures file an earlier run left.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

from refcnn.i18n import tr

from . import page as pg
from . import render as rd
from . import verdict_json as vj
from .files import write_whole

if TYPE_CHECKING:
    from .record import Record

try:
    import fcntl
except ImportError:  # Windows: no locks; runs in one folder may then overwrite each other
    fcntl = None  # type: ignore[assignment]


class Claim:
    """One output path, checked and locked for this run."""

    def __init__(self, path: str, option: str) -> None:
        self.option = option
        self.requested = Path(path)
        self.path = self.requested
        self.lock: IO | None = None
        self.note = ""
        self._check(self.path)
        if not self._lock(self.path):
            other = self.path.with_name(f"{self.path.stem}-{os.getpid()}{self.path.suffix}")
            self.note = tr(
                "another run in progress writes {path}; this run's {option} goes to {other}",
                path=self.path,
                option=option,
                other=other,
            )
            self.path = other
            self._lock(other)

    def _check(self, path: Path) -> None:
        if path.is_dir():
            raise pytest.UsageError(
                tr(
                    "{option} {path}: is a folder; give a file's path",
                    option=self.option,
                    path=path,
                )
            )
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise pytest.UsageError(
                tr("{option} {path}: the folder {folder} does not exist", option=self.option,
                   path=path, folder=folder)
            )  # fmt: skip
        try:  # as root, os.access says yes to folders such as /proc: try it
            fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise pytest.UsageError(
                f"{self.option} {path}: cannot write in the folder {folder} ({exc.strerror})"
            ) from None
        if path.exists() and not os.access(path, os.W_OK):
            raise pytest.UsageError(
                tr("{option} {path}: the file is not writable", option=self.option, path=path)
            )

    def _lock(self, path: Path) -> bool:
        if fcntl is None:
            return True
        key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
        folder = Path(tempfile.gettempdir()) / "refcnn-conformance-locks"
        folder.mkdir(exist_ok=True)
        handle = open(folder / f"{key}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.lock = handle
        return True

    def write(self, text: str) -> None:
        write_whole(self.path, text)

    def remove(self) -> bool:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    def release(self) -> None:
        if self.lock is not None:
            self.lock.close()
            self.lock = None


class Outputs:
    """The run's report, failures file and report page (any may be None)."""

    def __init__(self, report: str | None, failures: str | None, html: str | None = None) -> None:
        self.report = Claim(report, "--conformance-report") if report else None
        self.failures = Claim(failures, "--conformance-failures") if failures else None
        self.html = Claim(html, "--conformance-html") if html else None
        self.error: str | None = None  # why writing them failed, if it did

    def _claims(self) -> list[Claim]:
        return [c for c in (self.report, self.failures, self.html) if c is not None]

    def notes(self) -> list[str]:
        return [c.note for c in self._claims() if c.note]

    def write(self, verdict: Record) -> list[str]:
        """Write both files; the lines that say where they went."""
        lines = self.notes()
        try:
            if self.failures is not None:
                if verdict.failed:
                    count = len(verdict.failures())
                    self.failures.write(rd.failures_text(verdict))
                    lines.append(
                        tr(
                            "{n} failures in full (snippets, traces): {path}",
                            n=count,
                            path=self.failures.path,
                        )
                    )
                elif self.failures.remove():
                    lines.append(
                        tr("no failures: removed the earlier {path}", path=self.failures.path)
                    )
            if self.report is not None:
                self.report.write(vj.json_text(verdict))
                lines.append(tr("verdict written to {path}", path=self.report.path))
            if self.html is not None:
                self.html.write(pg.html_text(verdict))
                lines.append(tr("report page written to {path}", path=self.html.path))
        except OSError as exc:
            self.error = str(exc)
            lines.append(tr("error: could not write the run's files: {error}", error=exc))
        finally:
            self.close()
        return lines

    def close(self) -> None:
        for claim in self._claims():
            claim.release()
