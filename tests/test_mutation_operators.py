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
