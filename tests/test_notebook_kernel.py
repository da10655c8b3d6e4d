"""A real notebook in a real kernel (nbclient, ipykernel): the layers are
defined in its cells, one with a planted bug, and ``check(globals())`` shows
the verdict inline; a function that calls ``os._exit`` is reported
``crashed`` in its cell's verdict, and the kernel lives on."""

from __future__ import annotations

from html import escape as html_escape

import nbformat
from nbclient import NotebookClient

from refcnn import i18n
from tests.test_harness import ROOT

LAYERS = """
import numpy as np

def max_pooling2d(u, pool_size=2, padding=0, strides=None):
    s = pool_size if strides is None else strides
    n, h, w, c = u.shape
    zh, zw = (h - pool_size) // s + 1, (w - pool_size) // s + 1
    z = np.zeros((n, zh, zw, c))
    for i in range(zh):
        for j in range(zw):
            z[:, i, j] = u[:, i * s:i * s + pool_size, j * s:j * s + pool_size].max(axis=(1, 2))
    return z

def max_pooling2d_back(dz, u, z, pool_size=2, padding=0, strides=None):
    # the planted bug: the gradient goes to the LAST of tied maxima
    s = pool_size if strides is None else strides
    du = np.zeros(u.shape)
    n, zh, zw, c = dz.shape
    for i in range(zh):
        for j in range(zw):
            window = u[:, i * s:i * s + pool_size, j * s:j * s + pool_size]
            flat = window.reshape(n, -1, c)[:, ::-1]
            last = flat.shape[1] - 1 - flat.argmax(axis=1)
            for k in range(n):
                for m in range(c):
                    a, b = divmod(int(last[k, m]), pool_size)
                    du[k, i * s + a, j * s + b, m] += dz[k, i, j, m]
    return du
"""

CHECK = """
from refcnn.conformance import check
verdict = check(globals(), keyword="max_pooling2d and (plain or ties) and not defaults",
                workers=0, unsupported=["padding", "strides", "tuple params", "non-square"])
verdict
"""

# the same, as a Japanese learner asks for it
CHECK_JA = CHECK.replace("workers=0,", 'workers=0, lang="ja",').replace("verdict\n", "verdict_ja\n")
CHECK_JA = CHECK_JA.replace("verdict = check", "verdict_ja = check")

CRASH = """
import os
def flatten2d(u):
    os._exit(3)  # ends whatever process runs it
crashed = check({"flatten2d": flatten2d}, keyword="flatten2d and test_forward and plain",
                workers=0, progress=False)
print(crashed.cells[("flatten2d", "forward", "plain")].failure["kind"])
print(crashed.cells[("flatten2d", "forward", "plain")].failure["message"])
"""


def test_check_globals_in_a_real_kernel() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(LAYERS),
        nbformat.v4.new_code_cell(CHECK),
        nbformat.v4.new_code_cell(CRASH),
        nbformat.v4.new_code_cell(CHECK_JA),
        nbformat.v4.new_code_cell("print('still alive', 1 + 1)"),
    ]
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()
    check_outputs = notebook.cells[1].outputs
    html = [o["data"]["text/html"] for o in check_outputs if "text/html" in o.get("data", {})]
    assert len(html) == 1, check_outputs
    page = html[0]
    assert page.startswith('<div class="refcnn-verdict" lang="en">') and "<script" not in page
    assert 'data-corner="ties" data-status="FAIL"' in page  # the failing corner, named
    assert "max_pooling2d backward du: wrong values" in page
    assert "looks like: the gradient went to the last of tied maxima" in page
    printed = "".join(o.get("text", "") for o in notebook.cells[2].outputs)
    assert printed.splitlines()[:1] == ["crashed"], notebook.cells[2].outputs
    assert "exited with code 3 in flatten2d()" in printed
    alive = "".join(o.get("text", "") for o in notebook.cells[4].outputs)
    assert alive == "still alive 2\n"
    japanese = [o["data"]["text/html"] for o in notebook.cells[3].outputs
                if "text/html" in o.get("data", {})]  # fmt: skip
    assert len(japanese) == 1, notebook.cells[3].outputs
    with i18n.speaking("ja"):
        hint = i18n.tr("the gradient went to the last of tied maxima; the article sends it to the "
                       "first maximum (of a pooling window row by row, left to right; of maxout's "
                       "pieces)")  # fmt: skip
        looks = i18n.tr("looks like: {hint}", hint=hint)
    assert japanese[0].startswith('<div class="refcnn-verdict" lang="ja">')
    assert 'data-corner="ties" data-status="FAIL"' in japanese[0]
    assert html_escape(looks) in japanese[0] and "looks like" not in japanese[0]
