"""Mutants of the article's layer code: cosmic-ray's operators, and the ones
the article's kind of mistake needs, written as cosmic-ray operators.

cosmic-ray (https://github.com/sixty-north/cosmic-ray) gives the general
operators and the machinery (parso trees, one mutation per occurrence:
``cosmic_ray.mutating.mutate_code``). Its operators do not swap a height for
its width, a maximum for a minimum, ``+=`` for ``=``, shift a slice bound,
round an output size up, or delete a statement: those are written below as
operators of its kind, so that every mutant comes from one machine.

A mutant is named by what it changes, not by where (which moves as the code
is edited): its file, its operator, the function it lies in and its line
before and after (``Mutant.key``). ``EQUIVALENT`` (equivalent_mutants.toml)
lists the survivors that compute the same thing as the original, each with
the reason; a test holds the list to what the operators generate now.
"""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import parso
from cosmic_ray import plugins
from cosmic_ray.mutating import mutate_code
from cosmic_ray.operators.operator import Example, Operator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
TARGETS = (ROOT / "tests" / "impls" / "article_loops.py",
           ROOT / "tests" / "impls" / "article_transcription.py")  # fmt: skip
EQUIVALENT = Path(__file__).resolve().parent / "equivalent_mutants.toml"

# the general operators taken from cosmic-ray: those of the mistakes a learner
# makes with these formulas (not every pair of its operator cross product)
CORE = [
    f"core/ReplaceBinaryOperator_{pair}"
    for pair in ("Add_Sub", "Sub_Add", "Mul_Add", "Mul_Div", "Div_Mul", "Div_FloorDiv",
                 "FloorDiv_Div", "Add_Mul", "Sub_Mul")
] + [
    f"core/ReplaceComparisonOperator_{pair}"
    for pair in ("Lt_LtE", "LtE_Lt", "Gt_GtE", "GtE_Gt", "Eq_NotEq", "NotEq_Eq", "Is_IsNot",
                 "IsNot_Is")
] + ["core/NumberReplacer", "core/ReplaceTrueWithFalse", "core/ReplaceFalseWithTrue",
     "core/AddNot", "core/ZeroIterationForLoop", "core/ReplaceUnaryOperator_USub_UAdd"]  # fmt: skip


class _Leaf(Operator):
    """Replaces a leaf's value by another from ``TABLE`` (each mapping a
    value to its replacements)."""

    TABLE: ClassVar[dict[str, tuple[str, ...]]] = {}
    TYPES: ClassVar[tuple[str, ...]] = ("name",)

    def mutation_positions(self, node):
        if node.type in self.TYPES and node.value in self.TABLE:
            for _ in self.TABLE[node.value]:
                yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        node.value = self.TABLE[node.value][index]
        return node

    @classmethod
    def examples(cls):
        return ()


class SwapHeightWidth(_Leaf):
    """A height's name for its width's twin, and back."""

    TABLE: ClassVar = {a: (b,) for x, y in (("fh", "fw"), ("kh", "kw"), ("ph", "pw"), ("sh", "sw"),
                                  ("zh", "zw"), ("h", "w"), ("i", "j"))
             for a, b in ((x, y), (y, x))}  # fmt: skip


class SwapReduction(_Leaf):
    """``max`` <-> ``min``, ``argmax`` -> ``argmin``, ``mean`` -> ``sum``."""

    TABLE: ClassVar = {"max": ("min",), "min": ("max",), "argmax": ("argmin",), "mean": ("sum",)}


class AssignForAugmented(_Leaf):
    """``+=`` (``-=``, ...) -> ``=``."""

    TABLE: ClassVar = {"+=": ("=",), "-=": ("=",), "*=": ("=",), "/=": ("=",)}
    TYPES: ClassVar = ("operator",)


class CeilForInt(_Leaf):
    """``int(x)`` -> ``math.ceil(x)``: an output size rounded up."""

    TABLE: ClassVar = {"int": ("__import__('math').ceil",)}

    def mutation_positions(self, node):
        following = node.get_next_sibling()
        if following is not None and following.type == "trailer" and following.children[0] == "(":
            yield from super().mutation_positions(node)


class NoneDefaultToOne(Operator):
    """A parameter's default ``None`` -> ``1``."""

    def mutation_positions(self, node):
        if node.type == "keyword" and node.value == "None" and node.parent.type == "param":
            yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        return parso.python.tree.Number(node.prefix + "1", node.start_pos)

    @classmethod
    def examples(cls):
        return (Example("def f(x=None): pass", "def f(x=1): pass"),)


class SliceBoundPlusOne(Operator):
    """A slice's lower or upper bound + 1 (``a:b`` -> ``a + 1:b``, ``a:b + 1``)."""

    def mutation_positions(self, node):
        if node.type == "subscript" and len(node.children) >= 3 and node.children[1] == ":":
            for bound in (node.children[0], node.children[2]):
                if bound != ":":
                    yield (bound.start_pos, bound.end_pos)

    def mutate(self, node, index):
        bound = [c for c in (node.children[0], node.children[2]) if c != ":"][index]
        code = bound.get_code(include_prefix=False)
        bound_index = node.children.index(bound)
        prefix = bound.get_first_leaf().prefix
        node.children[bound_index] = parso.python.tree.Name(
            f"({code}) + 1", bound.start_pos, prefix
        )
        return node

    @classmethod
    def examples(cls):
        return (Example("x[a:b]", "x[(a) + 1:b]"), Example("x[a:b]", "x[a:(b) + 1]", 1))


class DeleteStatement(Operator):
    """A subscript assignment (``x[...] = ...``, ``x[...] += ...``) or an
    ``if`` statement deleted (made ``pass``)."""

    def mutation_positions(self, node):
        if node.type == "if_stmt" or (
            node.type == "expr_stmt"
            and node.children[0].type == "atom_expr"
            and node.children[0].children[-1].type == "trailer"
            and node.children[0].children[-1].children[0] == "["
        ):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        ending = "\n" if node.type == "if_stmt" else ""
        return parso.python.tree.Name("pass" + ending, node.start_pos, node.get_first_leaf().prefix)

    @classmethod
    def examples(cls):
        return (Example("x[0] = 1", "pass"),)


CUSTOM: dict[str, type[Operator]] = {
    f"refcnn/{cls.__name__}": cls
    for cls in (SwapHeightWidth, SwapReduction, AssignForAugmented, CeilForInt,
                NoneDefaultToOne, SliceBoundPlusOne, DeleteStatement)
}  # fmt: skip


def operators() -> dict[str, Operator]:
    found = {name: plugins.get_operator(name)() for name in CORE}
    found.update({name: cls() for name, cls in CUSTOM.items()})
    return found


@dataclass(frozen=True)
class Mutant:
    """One mutant: its target file, operator, function, and the line it
    changes (before, after); its source."""

    target: str
    operator: str
    occurrence: int
    function: str
    before: str
    after: str
    source: str

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.target, self.operator, self.function, self.before, self.after)

    def __str__(self) -> str:
        return f"{self.target}:{self.function} [{self.operator}] {self.before} -> {self.after}"


def _functions(source: str) -> list[tuple[int, int, str]]:
    tree = ast.parse(source)
    return [(n.lineno, n.end_lineno or n.lineno, n.name) for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef)]  # fmt: skip


def _function_at(functions: list[tuple[int, int, str]], line: int) -> str:
    inside = [(end - start, name) for start, end, name in functions if start <= line <= end]
    return min(inside)[1] if inside else "<module>"


def generate(target: Path) -> list[Mutant]:
    """Every mutant of ``target`` the operators make, in a stable order;
    mutants that are not valid Python, or change nothing, left out."""
    original = target.read_text()
    lines = original.splitlines()
    functions = _functions(original)
    found = []
    for name, operator in operators().items():
        occurrence = 0
        while True:
            mutated = mutate_code(original, operator, occurrence)
            if mutated is None:
                break
            occurrence += 1
            if mutated == original:
                continue
            try:
                ast.parse(mutated)
            except SyntaxError:
                continue
            changed = mutated.splitlines()
            line = next((k for k, (a, b) in enumerate(zip(lines, changed, strict=False)) if a != b),
                        min(len(lines), len(changed)) - 1)  # fmt: skip
            after = changed[line].strip() if line < len(changed) else ""
            function = _function_at(functions, line + 1)
            found.append(Mutant(target.name, name, occurrence - 1, function,
                                lines[line].strip(), after, mutated))  # fmt: skip
    return found


def equivalents() -> dict[tuple[str, str, str, str, str], str]:
    """The mutants reviewed as equivalent: key -> the reason."""
    data = tomllib.loads(EQUIVALENT.read_text(encoding="utf-8"))
    return {
        (e["target"], e["operator"], e["function"], e["before"], e["after"]): e["reason"]
        for e in data.get("mutant", [])
    }


# --- refcnn's own layer code: mutmut's operators ---------------------------------------

REFCNN_FILES = ("convolution.py", "pool.py", "flatten.py", "_windows.py", "_conv_methods.py")
# what each file's mutants are judged on: the ops that use it
REFCNN_OPS = {
    "convolution.py": ("conv", "convolution2d"),
    "_conv_methods.py": ("conv", "convolution2d"),
    "pool.py": ("max_pooling2d", "average_pooling2d"),
    "flatten.py": ("flatten2d",),
    "_windows.py": ("conv", "convolution2d", "max_pooling2d", "average_pooling2d"),
}
# mutmut also rewrites string literals (messages, docstrings); the messages are
# checked for their substance by tests/test_validation_messages.py, not letter
# by letter, so those mutants are left out of the campaign
_STRINGS = ("SimpleString", "ConcatenatedString", "FormattedString", "FormattedStringText")


def generate_refcnn(name: str) -> list[Mutant]:
    """Every mutant mutmut's operators make of ``refcnn/<name>`` (but the
    string literals'), one per mutation, in a stable order."""
    return generate_mutmut(Path("refcnn") / name)


# --- the judge: the suite's own judging code, mutmut's operators too ------------------

JUDGE_FILES = (
    "judging/checks.py",  # the comparisons
    "expected/tolerances.py",
    "judging/hygiene.py",
    "judging/defaults.py",
    "judging/finite_differences.py",
    "judging/calls.py",  # calling the implementation
    "verdict/causes.py",
    "expected/oracle.py",
    "expected/torch_reference.py",
    "expected/golden.py",  # the golden fixtures' loading
    "expected/article.py",  # the article's printed arrays' loading
)


def generate_judge(name: str) -> list[Mutant]:
    """Every mutant mutmut's operators make of ``conformance/<name>``."""
    return generate_mutmut(Path("conformance") / name)


def generate_mutmut(relative: Path) -> list[Mutant]:
    """Every mutant mutmut's operators make of the repository's file
    ``relative`` (but the string literals'), one per mutation, in a stable
    order; its target is ``relative`` as a POSIX path."""
    import libcst as cst
    from mutmut.mutation import file_mutation as fm

    path = ROOT / relative
    name = relative.as_posix()
    original = path.read_text()
    lines = original.splitlines()
    here = Path.cwd()
    os.chdir(ROOT)  # mutmut reads its configuration (pyproject.toml) from there
    try:
        module, mutations, _, _ = fm.create_mutations(str(path), original)
    finally:
        os.chdir(here)
    found = []
    for number, mutation in enumerate(mutations):
        kind = type(mutation.original_node).__name__
        if kind in _STRINGS or isinstance(mutation.original_node, cst.Expr):
            continue
        source = fm.deep_replace(module, mutation.original_node, mutation.mutated_node).code
        if source == original:
            continue
        changed = source.splitlines()
        line = next((k for k, (a, b) in enumerate(zip(lines, changed, strict=False)) if a != b),
                    min(len(lines), len(changed)) - 1)  # fmt: skip
        # the top-level function (or class) it lies in; a module-level line: none
        function = getattr(getattr(mutation.contained_by_top_level_function, "name", None),
                           "value", None)  # fmt: skip
        after = type(mutation.mutated_node).__name__
        found.append(Mutant(name, f"mutmut/{kind}->{after}", number,
                            function or "<module>",
                            lines[line].strip(), changed[line].strip() if line < len(changed)
                            else "", source))  # fmt: skip
    return found
