"""What a hostile submission can learn of the grader: the paths on its
command line (``--out DIR`` and the submissions), read from /proc (in the
sandbox's own pid namespace there is no grader to see), and those it knows
(a student who read the course page: ``known_out``)."""

import os
from pathlib import Path


def grader_paths(known_out: list[str] = ()) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {"out": [Path(p) for p in known_out], "submissions": []}
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode("utf-8", "replace") for a in args if a]
        if "grade" not in words or "--out" not in words:
            continue
        try:  # relative paths are the grader's: from its folder, if it can be read
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            cwd = Path("/")
        found["out"].append(cwd / words[words.index("--out") + 1])
        start = words.index("grade") + 1
        for word in words[start:]:
            if word.startswith("-"):
                break
            found["submissions"].append(cwd / word)
    return found
