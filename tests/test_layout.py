"""conformance/ by job: which subpackage may import which, no circle among
the modules, and the judged side standing alone (the worker loads its
folder as a bare package, so an import of the trusted side would fail there
at run time; these tests say so before that)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import refcnn.conformance

SUITE = Path(refcnn.conformance.__file__).resolve().parent

# What each subpackage may import of the suite (the docstrings of their
# __init__.py say the same); the top-level modules (the public face:
# __init__, __main__, adapters, plugin) and the suite's tests may import any.
MAY_IMPORT: dict[str, set[str]] = {
    "judged": set(),
    "inputs": set(),
    "expected": {"inputs"},
    "verdict": {"inputs", "expected", "judged"},
    "judging": {"inputs", "expected", "verdict", "judged"},
    "running": {"inputs", "expected", "verdict", "judging", "judged"},
    "grading": {"inputs", "expected", "verdict", "judging", "judged", "running"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SUITE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(name: str) -> str | None:
    """A dotted name below the suite to the module it is (a name imported
    from a package may be a module of it or an attribute)."""
    parts = name.split(".")
    while parts:
        candidate = SUITE.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts)
        parts.pop()
    return None


def imports_of(path: Path) -> set[str]:
    """The suite's modules that ``path`` imports (at the top or in a
    function), by their dotted name below the suite ("" for its __init__)."""
    package = list(path.relative_to(SUITE).parts[:-1])  # the folder it is in
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".") if node.module else []
            if node.level:
                base = package[: len(package) - (node.level - 1)]
            elif module[:2] == ["refcnn", "conformance"]:
                base, module = [], module[2:]
            elif module[:1] == ["conformance"]:
                base, module = [], module[1:]
            else:
                continue
            names = [".".join([*base, *module, a.name]) for a in node.names]
            if all(_resolve(n) is None for n in names):
                names = [".".join([*base, *module])]
        elif isinstance(node, ast.Import):
            names = [
                a.name.removeprefix("refcnn.conformance.")
                for a in node.names
                if a.name.startswith("refcnn.conformance.")
            ]
        found |= {r for n in names if n and (r := _resolve(n)) is not None}
    return found


def graph() -> dict[str, set[str]]:
    return {
        _module_name(p): imports_of(p) - {_module_name(p)}
        for p in sorted(SUITE.rglob("*.py"))
        if "fixtures" not in p.relative_to(SUITE).parts
    }


def _circle(edges: dict[str, set[str]]) -> list[str]:
    """A circle of the graph, or [] (depth-first, in name order)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_graph_is_read():
    # the reader itself: a few edges known from the sources
    edges = graph()
    assert "inputs.shapes" in edges["inputs.corners"]
    assert "judged.protocol" in edges["judged.worker"]
    assert {"judging.boundary", "inputs.op_table", "verdict.snippets"} <= edges["judging.calls"]
    assert "running.api" in edges["grading.judge"]  # from .. import api, as grading writes it
    assert "running.api" in edges[""]


def test_no_circle_among_the_modules():
    circle = _circle(graph())
    assert not circle, "import circle: " + " -> ".join(circle)


def wrong_imports(edges: dict[str, set[str]]) -> list[str]:
    """Each import of one subpackage by another that MAY_IMPORT does not allow."""
    wrong = []
    for module, targets in sorted(edges.items()):
        home = module.split(".")[0]
        if home not in MAY_IMPORT:  # the public face and the suite's tests
            continue
        for target in sorted(targets):
            there = target.split(".")[0]
            if there != home and there not in MAY_IMPORT[home]:
                wrong.append(f"{module} imports {target}")
    return wrong


def test_each_subpackage_imports_only_what_it_may():
    assert not wrong_imports(graph())


def test_the_subpackages_have_no_circle():
    assert not _circle(MAY_IMPORT)


def test_the_checker_sees_a_circle_and_a_wrong_import():
    assert _circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _circle({"a": {"b"}, "b": set()}) == []
    edges = {"inputs.corners": {"verdict.record"}, "verdict.record": {"inputs.corners"}}
    assert wrong_imports(edges) == ["inputs.corners imports verdict.record"]


def test_the_judged_side_stands_alone(tmp_path: Path):
    """The worker's modules imported as the worker imports them (a bare
    package of the judged folder), with every other module of the suite
    blocked: they load, and nothing of the suite but them is imported."""
    script = textwrap.dedent(
        """
        import importlib, importlib.abc, sys, types

        class Blocked(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "conformance" or name.startswith("refcnn.conformance"):
                    raise ImportError(f"blocked: {name}")
                return None

        sys.meta_path.insert(0, Blocked())
        package = types.ModuleType("_judged")
        package.__path__ = [sys.argv[1]]
        sys.modules["_judged"] = package
        for name in ("protocol", "loading", "worker"):
            importlib.import_module(f"_judged.{name}")
        leaked = sorted(m for m in sys.modules if "conformance" in m)
        print("leaked:", leaked)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(SUITE / "judged")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "leaked: []", result.stdout


def test_the_blocker_would_catch_an_import_of_the_trusted_side(tmp_path: Path):
    """The same bare package with one module that imports the trusted side
    (as a careless edit of the worker would): it fails to load."""
    folder = tmp_path / "judged"
    folder.mkdir()
    for name in ("protocol.py", "loading.py"):
        (folder / name).write_text((SUITE / "judged" / name).read_text())
    (folder / "worker.py").write_text("from ..judging import checks\n")
    script = textwrap.dedent(
        """
        import importlib, sys, types
        package = types.ModuleType("_judged")
        package.__path__ = [sys.argv[1]]
        sys.modules["_judged"] = package
        importlib.import_module("_judged.worker")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "ImportError" in result.stderr, result.stderr
