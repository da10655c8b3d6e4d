"""What is graded, and under which id.

A submission is a ``.py`` file, a package folder (with ``__init__.py``), an
``.ipynb`` notebook, or a folder or zip archive holding one of these (the
one ``.ipynb``, else the one ``.py``, else ``--entry NAME``). A folder given
whole that is none of these is a class: each of its entries is a
submission. Each submission has a stable id: its file's stem or its folder's
or archive's name, or the id a ``--ids`` CSV file (columns ``path,id``)
gives its path; ids are made safe as folder names and unique.

A submission is read into memory once (:class:`Submission.files`), within
limits (files, bytes; zip archives: no absolute or ``..`` paths, no links,
and their unpacked size counted, so that a zip bomb is refused), so that it
can be judged on any machine (a Dask worker) from a copy of its own files
only. Its fingerprint (of its files' names and contents) says whether a
resumed grading has graded it already.
"""

from __future__ import annotations

import csv
import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from refcnn.i18n import tr

MAX_FILES = 200
MAX_BYTES = 20 * 2**20  # a submission's files, unpacked
_SKIP = ("__pycache__", ".ipynb_checkpoints", ".git")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class SubmissionError(ValueError):
    """A submission that cannot be graded as given (reported in its row)."""


@dataclass
class Submission:
    """One submission: its ``id``, where it came from, its files (relative
    path -> bytes), the file or folder among them that is judged
    (``entry``), or why it cannot be graded (``problem``)."""

    id: str
    source: str
    files: dict[str, bytes] = field(default_factory=dict)
    entry: str = ""
    problem: str = ""
    not_judged: list[str] = field(default_factory=list)  # other candidates among its files

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        digest.update(self.entry.encode() + b"\0" + self.problem.encode())
        return digest.hexdigest()


def _candidates(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in _SKIP)


def _is_submission_folder(folder: Path) -> bool:
    """A package, or a folder that holds one candidate: one notebook or one
    module, and no folders or archives. A folder given whole that holds
    several is a class, one submission each (never one notebook's)."""
    if (folder / "__init__.py").is_file():
        return True
    entries = _candidates(folder)
    if any(p.is_dir() or p.suffix == ".zip" for p in entries):
        return False
    return len([p for p in entries if p.suffix in (".ipynb", ".py")]) == 1


def _is_submission(path: Path) -> bool:
    if path.is_file():
        return path.suffix in (".py", ".ipynb", ".zip")
    return path.is_dir()


def discover(paths: list[Path], ids: Path | None = None, entry: str = "") -> list[Submission]:
    """The submissions the command line names, in a stable order (sorted by
    id), each read into memory (or with its ``problem``)."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise SubmissionError(tr("{path}: no such file or folder", path=path))
        if path.is_dir() and not _is_submission_folder(path):
            found += [p for p in _candidates(path) if _is_submission(p)]
        elif _is_submission(path):
            found.append(path)
        else:
            raise SubmissionError(
                tr("{path}: not a .py, .ipynb or .zip file, nor a folder", path=path)
            )
    named = _read_ids(ids) if ids else {}
    submissions, used = [], set()
    for path in found:
        wanted = named.get(str(path.resolve())) or (path.stem if path.is_file() else path.name)
        identity = _unique(_SAFE.sub("_", wanted).strip("._") or "submission", used)
        submissions.append(read(path, identity, entry))
    return sorted(submissions, key=lambda s: s.id)


def _unique(identity: str, used: set[str]) -> str:
    candidate, number = identity, 2
    while candidate in used:
        candidate, number = f"{identity}-{number}", number + 1
    used.add(candidate)
    return candidate


def _read_ids(path: Path) -> dict[str, str]:
    """``--ids``: a CSV file with the columns ``path`` and ``id``."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"path", "id"} <= set(rows[0]):
        raise SubmissionError(tr("--ids {path}: give the columns 'path' and 'id'", path=path))
    folder = path.parent
    return {str((folder / row["path"]).resolve()): row["id"] for row in rows if row.get("id")}


def read(path: Path, identity: str, entry: str = "") -> Submission:
    """One submission read into memory; its problem, if it has one."""
    submission = Submission(identity, str(path))
    try:
        if path.suffix == ".zip":
            submission.files = _unzip(path)
        elif path.is_dir():
            submission.files = _folder(path, path.name if (path / "__init__.py").is_file() else "")
        else:
            submission.files = {path.name: _bytes(path)}
        submission.entry = _entry(submission.files, entry)
        submission.not_judged = _not_judged(submission.files, submission.entry)
    except (SubmissionError, OSError, zipfile.BadZipFile) as exc:
        submission.files, submission.problem = {}, str(exc)
    return submission


def _bytes(path: Path) -> bytes:
    if path.stat().st_size > MAX_BYTES:
        raise SubmissionError(
            tr("{name} is larger than {mb} MB", name=path.name, mb=MAX_BYTES // 2**20)
        )
    return path.read_bytes()


def _folder(folder: Path, prefix: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(p in _SKIP or p.startswith(".") for p in parts) or path.is_symlink():
            continue
        if path.is_file():
            data = _bytes(path)
            total += len(data)
            files[str(Path(prefix, *parts))] = data
            if len(files) > MAX_FILES or total > MAX_BYTES:
                raise SubmissionError(
                    tr("more than {files} files or {mb} MB: not graded", files=MAX_FILES,
                       mb=MAX_BYTES // 2**20)
                )  # fmt: skip
    return files


def _unzip(path: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = Path(info.filename)
            if (
                name.is_absolute()
                or ".." in name.parts
                or (info.external_attr >> 16) & 0o170000 == 0o120000
            ):
                raise SubmissionError(
                    tr("{archive}: {name} leaves the archive", archive=path.name,
                       name=repr(info.filename))
                )  # fmt: skip
            if info.is_dir() or any(p in _SKIP or p.startswith(".") for p in name.parts):
                continue
            total += info.file_size
            if len(files) >= MAX_FILES or total > MAX_BYTES:
                raise SubmissionError(
                    tr("{archive} unpacks to more than {files} files or {mb} MB: not graded",
                       archive=path.name, files=MAX_FILES, mb=MAX_BYTES // 2**20)
                )  # fmt: skip
            with archive.open(info) as member:
                data = member.read(MAX_BYTES + 1)
            if len(data) != info.file_size:
                raise SubmissionError(
                    tr("{archive}: {name} is not what it claims", archive=path.name,
                       name=repr(info.filename))
                )  # fmt: skip
            files[str(name)] = data
    return _strip_common_folder(files)


def _strip_common_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """An archive of one folder (``alice/layers.py``) as its content, unless
    that folder is a package (which must keep its name)."""
    tops = {Path(name).parts[0] for name in files}
    if len(tops) != 1 or all(len(Path(n).parts) == 1 for n in files):
        return files
    top = tops.pop()
    if f"{top}/__init__.py" in files:
        return files
    return {str(Path(*Path(name).parts[1:])): data for name, data in files.items()}


def _not_judged(files: dict[str, bytes], entry: str) -> list[str]:
    """The notebooks and modules at the top of a submission besides the one
    judged (a helper module it imports is one too: the row names it)."""
    return sorted(
        n for n in files
        if len(Path(n).parts) == 1 and n != entry and n.endswith((".py", ".ipynb"))
    )  # fmt: skip


def _entry(files: dict[str, bytes], wanted: str) -> str:
    """What is judged among the files: a package's folder, ``wanted``, the
    one notebook, or the one module at the top."""
    if not files:
        raise SubmissionError(tr("no files"))
    tops = {Path(name).parts[0] for name in files}
    packages = sorted(t for t in tops if f"{t}/__init__.py" in files)
    if wanted:
        if wanted not in files and wanted not in packages:
            raise SubmissionError(tr("no {entry} in the submission (--entry)", entry=wanted))
        return wanted
    if len(packages) == 1 and not any(len(Path(n).parts) == 1 for n in files if n.endswith(".py")):
        return packages[0]
    top_files = [n for n in files if len(Path(n).parts) == 1]
    notebooks = [n for n in top_files if n.endswith(".ipynb")]
    modules = [n for n in top_files if n.endswith(".py")]
    for choice in (notebooks, modules):
        if len(choice) == 1:
            return choice[0]
        if len(choice) > 1:
            raise SubmissionError(
                tr("several candidates ({names}): say which with --entry",
                   names=", ".join(sorted(choice)))
            )  # fmt: skip
    raise SubmissionError(tr("no .py file, package or notebook to judge"))
