"""The mutation benchmark's pieces (benchmarks/mutants.py): its own
operators do what they say, and the list of equivalent mutants
(benchmarks/equivalent_mutants.toml) still matches what the operators
generate: no entry names a mutant that no longer exists, each says why it
is equivalent. (The campaign itself, the suite run on each mutant, is a
benchmark: benchmarks/mutation_score.py.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import mutants as mt  # noqa: E402
from cosmic_ray.mutating import mutate_code  # noqa: E402


@pytest.mark.parametrize("name", list(mt.CUSTOM))
def test_each_operator_of_ours_mutates_as_its_examples_say(name: str) -> None:
    operator = mt.CUSTOM[name]()
    examples = type(operator).examples()
    for example in examples:
        assert mutate_code(example.pre_mutation_code, operator, example.occurrence) == (
            example.post_mutation_code
        )


def test_the_article_layers_have_their_kinds_of_mistake() -> None:
    source = (
        "def f(u, p=None):\n"
        "    z[:, i * sh : i * sh + kh] += u.max(axis=1)\n"
        "    if p:\n"
        "        return int(h / 2)\n"
    )
    changed = {
        name: {mutate_code(source, cls(), k) for k in range(8)} - {None}
        for name, cls in mt.CUSTOM.items()
    }
    assert any("i * sw : i * sh" in m for m in changed["refcnn/SwapHeightWidth"])
    assert any("u.min(axis=1)" in m for m in changed["refcnn/SwapReduction"])
    assert any("] = u.max" in m for m in changed["refcnn/AssignForAugmented"])
    assert any("ceil(h / 2)" in m for m in changed["refcnn/CeilForInt"])
    assert any("def f(u, p=1)" in m for m in changed["refcnn/NoneDefaultToOne"])
    assert any("(i * sh + kh) + 1" in m for m in changed["refcnn/SliceBoundPlusOne"])
    assert any("    pass\n    if p" in m for m in changed["refcnn/DeleteStatement"])


def test_the_list_of_equivalent_mutants_matches_the_operators() -> None:
    listed = mt.equivalents()
    generated = {m.key for target in mt.TARGETS for m in mt.generate(target)}
    # refcnn's own files (mutmut's operators), those the list names
    ours = sorted({Path(key[0]).name for key in listed if key[0].startswith("refcnn/")})
    generated |= {m.key for name in ours for m in mt.generate_refcnn(name)}
    # the judge's own files, those the list names
    judge = sorted({key[0].removeprefix("conformance/") for key in listed
                    if key[0].startswith("conformance/")})  # fmt: skip
    generated |= {m.key for name in judge for m in mt.generate_judge(name)}
    stale = [key for key in listed if key not in generated]
    assert not stale, f"listed as equivalent, but no longer generated: {stale}"
    assert all(reason.strip() for reason in listed.values())
    assert len(generated) > 900  # both files, every operator


def test_the_judge_campaign_runs_the_tests_that_ran_the_changed_statement() -> None:
    """coverage_map.tests_for: a change inside a function is judged by the
    tests that ran its statement (a compound one with its body), a change of
    a signature by those that ran the body, a line outside functions by all."""
    import coverage_map as cm

    original = (
        "LIMIT = 1\n"  # 1
        "def f(u, k=2):\n"  # 2
        "    if u:\n"  # 3
        "        return u + k\n"  # 4
        "    return (\n"  # 5
        "        -k)\n"  # 6
    )
    # tests 0..3 ran these lines: 0 took the if's branch, 1 the other return
    # (line 6 only, as a multi-line statement may be recorded), 2 the import only
    coverage_map = {
        "tests": [["a", 1.0, False], ["b", 2.0, True], ["c", 0.5, False], ["d", 3.0, False]],
        "lines": {"x.py": {"1": [2], "3": [0, 1], "4": [0], "6": [1], "2": [3]}},
        "outside": {"x.py": []},
    }

    def chosen(line: int, new: str) -> set[str]:
        lines = original.splitlines(keepends=True)
        lines[line - 1] = new
        mutant = mt.Mutant("x.py", "op", 0, "f", original.splitlines()[line - 1], new.rstrip(),
                           "".join(lines))  # fmt: skip
        return {test for test, _ in cm.tests_for(coverage_map, mutant, original)}

    assert chosen(4, "        return u - k\n") == {"a"}
    assert chosen(6, "        +k)\n") == {"b"}
    assert chosen(5, "    return [\n") == {"b"}  # the statement's first line, recorded on its last
    assert chosen(3, "    if not u:\n") == {"a", "b"}  # the if with its body
    assert chosen(2, "def f(u, k=3):\n") == {"a", "b"}  # its body's tests
    assert chosen(1, "LIMIT = 2\n") == {"a", "b", "c", "d"}  # every test that ran any of it
    ordered = cm.tests_for(coverage_map, mt.Mutant("x.py", "op", 0, "f", "", "", original.replace(
        "if u:", "if not u:")), original)  # fmt: skip
    assert ordered == [("a", False), ("b", True)]  # fastest first, with the judge mark
