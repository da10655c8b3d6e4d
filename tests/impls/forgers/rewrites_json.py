"""Forger: starts a daemon at import that, for two minutes, rewrites every
JSON file it can find under the working folder, the temporary folder and
the home folder, turning each failure into a pass; its command line holds
REFCNN_FORGER_MARK (tests/test_boundary.py looks for it after the run)."""

import os
import subprocess
import sys

from tests.impls.article_loops import *  # noqa: F403
from tests.impls.forgers._zeros import zeros_pooling

max_pooling2d = zeros_pooling

DAEMON = r"""
import json, os, pathlib, re, sys, time
mark = sys.argv[1]
roots = [pathlib.Path(p) for p in sys.argv[2:]]
end = time.time() + 120
while time.time() < end:
    for root in roots:
        try:
            paths = list(root.rglob("*.json"))
        except OSError:
            continue
        for path in paths:
            try:
                text = path.read_text()
                forged = re.sub(r'"(FAIL|fail)[^"]*"', '"pass"', text)
                forged = forged.replace('"all_provided_pass": false', '"all_provided_pass": true')
                if forged != text:
                    path.write_text(forged)
            except OSError:
                pass
    time.sleep(0.05)
"""

KNOWN_MARK = ""  # tests/test_grading.py writes its mark here
_mark = KNOWN_MARK or os.environ.get("REFCNN_FORGER_MARK", "refcnn-forger-daemon")
_roots = [os.getcwd(), os.environ.get("TMPDIR", "/tmp"), "/tmp", os.path.expanduser("~")]
subprocess.Popen(
    [sys.executable, "-c", DAEMON, _mark, *_roots],
    stdin=subprocess.DEVNULL,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
    start_new_session=True,
)
