"""What the user points the suite at, made a module of functions (imported as
``ld``).

An implementation is given as (see :func:`conformance.running.api.check`):

* a module name (``mypackage.layers``), imported from the current folder or
  ``PYTHONPATH``;
* a ``.py`` file, loaded under its stem (``layers.py``: ``layers``) with its
  folder importable, so that it may import its neighbours;
* a package folder (with ``__init__.py``), imported by its name with its
  parent folder importable;
* an ``.ipynb`` notebook: its code cells run top to bottom in a fresh module,
  as "Run All" would. IPython magics (``%...``, ``%%...``) and shell escapes
  (``!...``) are skipped, and said so. The first cell that raises stops the
  run, as in Jupyter; it is reported with its number (counting every cell,
  as the notebook shows them) and message, and the functions defined before
  it are judged. What the cells print is not shown;
* ``functions:PATH``: a mapping of names to functions that
  :func:`conformance.running.api.check` pickled (with cloudpickle) from the
  caller's process, e.g. a notebook's ``globals()``.

Each is loaded in the suite's own processes; a failure to load is a
:class:`LoadError` with a message that says what to do.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from .protocol import NESTED

FUNCTIONS = "functions:"  # a pickled mapping of names to functions
NOTEBOOK_NAME = "notebook"  # the module a notebook's cells run in
FUNCTIONS_NAME = "functions"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class LoadError(Exception):
    """The implementation could not be loaded; the message says why."""


@dataclass
class Loaded:
    """A loaded implementation: the ``module``; ``name``, what a reproduction
    snippet imports from (a module name, or ``<...>`` where there is none to
    import: a notebook, functions given in memory); ``label``, what the
    verdict calls it; ``notes`` on how it was loaded."""

    module: types.ModuleType
    name: str
    label: str
    notes: list[str] = field(default_factory=list)


def importable(name: str) -> bool:
    """A dotted module name (a snippet can ``from name import ...``)."""
    return bool(_IDENTIFIER.fullmatch(name))


def kind(spec: str) -> str:
    """``module``, ``file``, ``package``, ``notebook`` or ``functions``."""
    if spec.startswith(FUNCTIONS):
        return "functions"
    if spec.endswith(".ipynb"):
        return "notebook"
    if spec.endswith(".py"):
        return "file"
    if "/" in spec or "\\" in spec or (Path(spec).is_dir() and not importable(spec)):
        return "package"
    return "module"


def load(spec: str) -> Loaded:
    """Load what ``spec`` names (see the module doc)."""
    how = kind(spec)
    if how == "module":
        return Loaded(importlib.import_module(spec), spec, spec)
    if how == "functions":
        return _functions(Path(spec[len(FUNCTIONS) :]))
    path = Path(spec).expanduser()
    if not path.exists():
        raise LoadError(f"{spec}: no such {'folder' if how == 'package' else 'file'}")
    path = path.resolve()
    if how == "notebook":
        return _notebook(path, spec)
    if how == "file":
        return Loaded(_file(path), path.stem, spec)
    if not (path / "__init__.py").is_file():
        raise LoadError(
            f"{spec}: a folder without __init__.py is not a package; give the .py file "
            "that defines the functions"
        )
    _importable_from(path.parent)
    return Loaded(importlib.import_module(path.name), path.name, spec)


def _importable_from(folder: Path) -> None:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def _file(path: Path) -> types.ModuleType:
    """A ``.py`` file as the module of its stem, its folder importable."""
    _importable_from(path.parent)
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path:
        return loaded
    specification = importlib.util.spec_from_file_location(name, path)
    if specification is None or specification.loader is None:
        raise LoadError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(specification)
    sys.modules[name] = module
    try:
        specification.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _functions(path: Path) -> Loaded:
    import pickle

    import cloudpickle  # noqa: F401  (registers what pickle needs to load by value)

    with open(path, "rb") as handle:
        label, functions = pickle.load(handle)
    module = types.ModuleType(FUNCTIONS_NAME)
    module.__dict__.update(functions)
    return Loaded(module, f"<{label}>", label)


# --- notebooks ----------------------------------------------------------------------

_MAGIC = re.compile(r"\s*[%!]")


def ipython_free(source: str) -> tuple[str, list[str]]:
    """A cell's source without IPython's syntax, and the lines taken out: a
    cell magic (``%%...``) takes the whole cell; a line magic (``%...``), a
    shell escape (``!...``) and a help request (``name?``) their line
    (replaced by ``pass``, so that a block around them stays a block)."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return "", [lines[0].strip()]
    kept, skipped = [], []
    for line in lines:
        if _MAGIC.match(line) or (
            line.rstrip().endswith("?") and not line.lstrip().startswith("#")
        ):
            skipped.append(line.strip())
            kept.append(line[: len(line) - len(line.lstrip())] + "pass")
        else:
            kept.append(line)
    return "\n".join(kept), skipped


def _nested() -> int:
    """check() calls the notebook made (they run nothing inside the suite)."""
    return int(os.environ.get(NESTED, "0"))


def _first_line(source: str) -> str:
    line = next((x.strip() for x in source.splitlines() if x.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


def _notebook(path: Path, spec: str) -> Loaded:
    try:
        import nbformat
    except ImportError:
        raise LoadError(
            f"{spec}: reading a notebook needs nbformat: pip install 'refcnn[conformance]'"
        ) from None
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:
        raise LoadError(f"{spec}: not a notebook nbformat can read ({exc})") from None
    module = types.ModuleType(NOTEBOOK_NAME)
    module.__file__ = str(path)
    module.__dict__["display"] = lambda *args, **kwargs: None  # IPython's, in a cell
    sys.modules[NOTEBOOK_NAME] = module
    _importable_from(path.parent)
    notes: list[str] = []
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type != "code":
            continue
        source, skipped = ipython_free(cell.source)
        notes += [f"cell {number}: skipped {line!r} (IPython syntax)" for line in skipped]
        before = _nested()
        try:
            code = compile(source, f"<{path.name}, cell {number}>", "exec")
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                exec(code, module.__dict__)
        except (Exception, SystemExit) as exc:  # sys.exit() in a cell: Jupyter shows it too
            message = (str(exc).strip().splitlines() or [""])[0][:200]
            notes.append(
                f"cell {number} ({_first_line(cell.source)}) raised {type(exc).__name__}: "
                f"{message}; the cells after it were not run, the functions defined "
                "before it are judged"
            )
            break
        if _nested() > before:
            notes.append(f"cell {number}: its check() is not run inside the suite")
    return Loaded(module, f"<{path.name}>", spec, notes)
