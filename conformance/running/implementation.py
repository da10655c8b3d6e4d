"""The implementation under test: a module exposing any subset of the article
API under the article's names and signatures (default: ``refcnn``).

Chosen with ``--impl package.module`` or the environment variable
``REFCNN_IMPL``. A function the module lacks is *not provided*: its tests are
skipped with that reason, never failed.

What the implementation does not claim to support is declared by corner (see
``conformance.inputs.corners.CORNERS``), in the module::

    CONFORMANCE_UNSUPPORTED = {"convolution2d": ["tuple params"], "*": ["empty batch"]}

or on the command line, ``--unsupported "tuple params,empty batch"`` (every
op) or ``--unsupported "convolution2d:tuple params"`` (one op). Declared
corners are reported ``unsupported`` and not run; ``mixed`` then draws
without them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from refcnn.i18n import tr

from ..inputs import op_table as ot
from ..inputs.corners import CORNERS
from ..judging import boundary as bd
from ..verdict.record import NOT_PROVIDED, UNSUPPORTED
from .options import CHECK_CALL, DECLARATION, ENV_VAR, REFERENCE

ANY_OP = "*"


def not_provided_reason(module: str, function: str) -> str:
    # the prefix is the status, read back: never translated
    return NOT_PROVIDED + tr("{module} has no {function}", module=module, function=function)


class StatusSkip(pytest.skip.Exception):
    """A skip that carries its verdict status (``unsupported``, ``not
    provided``, ``not checked``); the plugin records it on the test's report,
    so that the verdict does not read it from the message."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(msg=reason)
        self.status = status


def skip(status: str, reason: str) -> None:
    """Skip the calling test with a verdict status (see :class:`StatusSkip`)."""
    __tracebackhide__ = True
    raise StatusSkip(status, reason)


class DeclarationError(ValueError):
    """A declaration names an op or a corner that does not exist."""


@dataclass
class Implementation:
    """``name``: what snippets import from (``<...>`` where nothing can be
    imported, see :class:`conformance.judged.loading.Loaded`); ``label``: what the
    verdict calls it; ``notes``: how it was loaded (a notebook's cells).
    Its functions run in the worker (:mod:`conformance.judging.boundary`): what
    :meth:`get` returns calls them there."""

    name: str
    boundary: bd.Boundary
    strict: bool  # also check refcnn's own policies (dtype preservation, validation)
    unsupported: dict[str, frozenset[str]] = field(default_factory=dict)  # op -> corners
    declared_by: dict[tuple[str, str], str] = field(default_factory=dict)  # -> where
    label: str = ""
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.label = self.label or self.name
        self._proxies: dict[str, Callable] = {}

    def __repr__(self) -> str:
        return f"Implementation({self.name!r})"

    @property
    def is_reference(self) -> bool:
        return self.name == REFERENCE

    @property
    def provided(self) -> dict[str, list | None]:
        loaded = self.boundary.loaded
        return loaded.provided if loaded is not None else {}

    def get(self, function: str) -> Callable | None:
        """A callable that calls the module's function of that name in the
        worker; None when it has none (or its ``__all__`` leaves it out)."""
        if function not in self.provided:
            return None
        if function not in self._proxies:
            self._proxies[function] = bd.proxy(self.boundary, function)
        return self._proxies[function]

    def require(self, function: str) -> Callable:
        """The function (see :meth:`get`), or skip the calling test as *not
        provided*."""
        value = self.get(function)
        if value is None:
            skip("not provided", not_provided_reason(self.name, function))
        return value

    def found(self) -> list[str]:
        """The article's functions the module provides, in the article's order."""
        return [name for name in article_names() if name in self.provided]

    def unsupported_corners(self, op: str) -> frozenset[str]:
        return self.unsupported.get(op, frozenset())

    def require_corner(self, op: str, corner: str) -> None:
        """Skip the calling test as *unsupported* if the corner is declared,
        or has nothing left to draw without the declared factors."""
        declared = self.unsupported_corners(op)
        if corner in declared:
            skip(
                "unsupported",
                UNSUPPORTED
                + tr(
                    "{corner} declared in {where}",
                    corner=repr(corner),
                    where=self.declared_by[(op, corner)],
                ),
            )
        reason, factor = ot.BY_NAME[op].left_out(corner, declared) if op in ot.BY_NAME else ("", "")
        if reason:
            where = self.declared_by[(op, factor)]
            skip("unsupported", UNSUPPORTED + tr("{reason} in {where}", reason=reason, where=where))


def article_names() -> list[str]:
    """Every function name the suite may look up: the op table's and
    refcnn's public API (which follows the article's names)."""
    import refcnn

    names = [f for op in ot.OPS for f in op.imports]
    names += [n for n in getattr(refcnn, "__all__", ()) if callable(getattr(refcnn, n, None))]
    return list(dict.fromkeys(names))


def check_provides(name: str, loaded: bd.Loaded) -> None:
    """UsageError for a module that binds an article name to something that
    is not callable, or that provides none of the article's functions (with
    the notes of its loading: a notebook's cell that raised)."""
    if loaded.not_callable:
        found = ", ".join(f"{n} = {t}" for n, t in list(loaded.not_callable.items())[:8])
        raise pytest.UsageError(
            tr("--impl {name}: binds article names to values that are not functions ({found}); "
               "bind each to the function that implements it, or remove it", name=name,
               found=found)
        )  # fmt: skip
    if not loaded.provided:
        public = loaded.public
        listed = ", ".join(public[:12]) + (", ..." if len(public) > 12 else "") or tr("nothing")
        if loaded.has_all:
            message = tr(
                "--impl {name}: provides none of the article's functions (its __all__ lists "
                "none of them) (convolution2d, max_pooling2d, ...); it has: {listed}",
                name=name, listed=listed,
            )  # fmt: skip
        else:
            message = tr("--impl {name}: provides none of the article's functions "
                         "(convolution2d, max_pooling2d, ...); it has: {listed}", name=name,
                         listed=listed)  # fmt: skip
        raise pytest.UsageError(message + "".join(f"; {note}" for note in loaded.notes))


def resolve_name(option: str | None) -> str:
    return option or os.environ.get(ENV_VAR) or REFERENCE


def parse_option(values: Iterable[str]) -> dict[str, list[str]]:
    """``--unsupported`` values (``"corner, op:corner, ..."``) as a
    declaration: op (or ``*``) -> corners."""
    declared: dict[str, list[str]] = {}
    for value in values:
        for entry in filter(None, (part.strip() for part in value.split(","))):
            op, _, corner = entry.rpartition(":")
            declared.setdefault(op.strip() or ANY_OP, []).append(corner.strip())
    return declared


def resolve(declarations: Iterable[tuple[str, Any]]) -> tuple[dict, dict]:
    """``(op -> corners, (op, corner) -> where declared)`` from ``(where,
    declaration)`` pairs; ``*`` applies a corner to every op that has it.
    DeclarationError, listing the valid names, for an unknown op or corner."""
    unsupported: dict[str, set[str]] = {}
    where: dict[tuple[str, str], str] = {}
    valid_corners = [c for c in CORNERS if c != "mixed"]
    for source, declaration in declarations:
        if not isinstance(declaration, Mapping):
            got = getattr(declaration, "type_name", type(declaration).__name__)
            raise DeclarationError(
                tr("{source}: expected a dict of op name -> list of corners, got {got}",
                   source=source, got=got)
            )  # fmt: skip
        for op, corners in declaration.items():
            if op != ANY_OP and op not in ot.BY_NAME:
                raise DeclarationError(
                    tr("{source}: unknown op {op}; the ops are {ops} (or {any} for all)",
                       source=source, op=repr(op), ops=", ".join(ot.BY_NAME), any=repr(ANY_OP))
                )  # fmt: skip
            if isinstance(corners, str):
                corners = [corners]
            for corner in corners:
                if corner not in valid_corners:
                    raise DeclarationError(
                        tr("{source}: unknown corner {corner}; the corners are {corners}",
                           source=source, corner=repr(corner),
                           corners=", ".join(repr(c) for c in valid_corners))
                    )  # fmt: skip
                targets = (
                    [o for o in ot.OPS if corner in o.corners] if op == ANY_OP else [ot.BY_NAME[op]]
                )
                if op != ANY_OP and corner not in targets[0].corners:
                    its = ", ".join(repr(c) for c in targets[0].corners if c != "mixed")
                    raise DeclarationError(
                        tr("{source}: {op} has no corner {corner}; its corners are {corners}",
                           source=source, op=op, corner=repr(corner), corners=its)
                    )  # fmt: skip
                for target in targets:
                    unsupported.setdefault(target.name, set()).add(corner)
                    where.setdefault((target.name, corner), source)
    return {op: frozenset(corners) for op, corners in unsupported.items()}, where


def load(
    spec: str, strict: bool, unsupported_option: Iterable[str] = (), sandbox: bool = True
) -> Implementation:
    """Load the implementation in a worker (a module name, a ``.py`` file, a
    package folder, a notebook, pickled functions: :mod:`conformance.judged.loading`)
    and read what it and ``--unsupported`` declare; pytest.UsageError for one
    that does not load or a bad declaration."""
    boundary = bd.Boundary(spec, article_names(), sandbox)
    try:
        loaded = boundary.ensure()
    except bd.LoadFailedError as exc:
        message = str(exc)
        if exc.not_importable and os.environ.get(CHECK_CALL):
            message += tr(". Give check() the module itself, globals(), a dict of the functions, "
                          "an importable module's name, or the path of a .py file, a package "
                          "folder or an .ipynb notebook.")  # fmt: skip
        elif exc.not_importable:
            message += tr(". Pass an importable module path, e.g. --impl mypackage.layers, with "
                          "its folder on PYTHONPATH, or the path of a .py file, a package folder "
                          "or an .ipynb notebook.")  # fmt: skip
        raise pytest.UsageError(f"--impl {message}") from None
    check_provides(loaded.label, loaded)
    declarations = []
    if loaded.declaration is not None:
        where = f"{loaded.label}.{DECLARATION}"
        value = loaded.declaration.get("value")
        if value is None:  # not a dict: resolve() names its type
            value = _Named(str(loaded.declaration.get("type", "object")))
        declarations.append((where, value))
    option = parse_option(unsupported_option)
    if option:
        declarations.append(("--unsupported", option))
    try:
        unsupported, where = resolve(declarations)
    except DeclarationError as exc:
        boundary.close()
        raise pytest.UsageError(str(exc)) from None
    return Implementation(
        loaded.name, boundary, strict or loaded.name == REFERENCE, unsupported, where,
        loaded.label, loaded.notes,
    )  # fmt: skip


class _Named:
    """Stands for a declaration of a type that is not a dict (named in the
    error)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
