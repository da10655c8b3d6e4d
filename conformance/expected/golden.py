"""Golden fixtures: stored torch results, so the suite runs without torch.

Two kinds of fixtures are kept apart:

* ``fixtures/article/``: the article's printed arrays, transcribed by hand.
  The ground truth; nothing here ever writes to them (``regenerate`` checks
  them against refcnn and torch and reports, but refuses to modify them);
* ``fixtures/golden/<op>.npz``: derived cases, one file per op of the op
  table. For every corner of the op, a few inputs are drawn, at a fixed
  seed, from that corner's hypothesis strategy (so they cover what the
  property tests cover, corner by corner); outputs and gradients are
  computed by torch in float64. ``MANIFEST.json`` records per file its
  SHA-256, its cases per corner and their tags (``op.tags``), and the
  versions and seed that made it.

``python scripts/regenerate_fixtures.py`` rebuilds them (``--op NAME`` for
one, ``--check`` to compare without writing). Files are written to a
temporary name and renamed, so an interrupted run leaves the old ones whole;
the bytes depend only on the inputs and the library versions, so two runs
give identical files.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import os
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..inputs import corners as cn
from ..inputs import op_table as ot
from ..inputs.strategies import Sample, without_local_constants
from . import article as fx
from . import tolerances as tol

# REFCNN_GOLDEN_DIR points the suite at another copy (the tests use it).
GOLDEN_DIR = Path(os.environ.get("REFCNN_GOLDEN_DIR") or fx.FIXTURES_DIR / "golden")
MANIFEST = "MANIFEST.json"
CASES_PER_CORNER = 4
CASES_FOR = {"empty batch": 2, "mixed": 8}  # where fewer or more are worth storing
MIN_CASES_PER_OP = 24  # ops with few corners get more plain (or mixed) cases
DRAWS_PER_DEGENERATE_CASE = 30  # drawn to find the degenerate shapes the first cases lack
SEED = 20261130  # of hypothesis when drawing the inputs, and of the gradients dz
_DATE = (1980, 1, 1, 0, 0, 0)


class IntegrityError(AssertionError):
    """A golden file does not match its manifest entry."""


@dataclass
class GoldenCase:
    sample: Sample
    dz: np.ndarray | None
    z: np.ndarray
    grads: dict[str, np.ndarray]


# --- drawing and computing ---------------------------------------------------------


def cases_per_corner(op: ot.Op) -> dict[str, int]:
    counts = {corner: CASES_FOR.get(corner, CASES_PER_CORNER) for corner in op.corners}
    top_up = "mixed" if "mixed" in counts else "plain"
    counts[top_up] += max(0, MIN_CASES_PER_OP - sum(counts.values()))
    return counts


def draw_samples(op: ot.Op, corner: str, count: int) -> list[Sample]:
    """``count`` samples of the corner's strategy, the same on every run:
    ordinary ones, and then one for each degenerate shape of the corner
    (``Corner.degenerate``: drawn on purpose, so stored on purpose).

    The generator is seeded explicitly (``hypothesis.seed``): derandomize
    would seed from a digest of this function's source text, so reformatting
    the code would change the cases; and the literals of local code are kept
    out (``without_local_constants``), or an edit to refcnn would. They still
    depend on the hypothesis version, which the manifest records.
    """
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st

    collected: list[Sample] = []
    wanted = cn.degenerate(op.shape, corner) if op.shape is not None else ()

    @seed(zlib.crc32(f"{SEED} {op.name} {corner}".encode()))
    @settings(
        parent=settings.get_profile("default"),
        max_examples=count * (DRAWS_PER_DEGENERATE_CASE if wanted else 1),
        derandomize=False,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        collected.append(data.draw(op.strategy("float64", corner)))

    with without_local_constants():
        collect()
    if not wanted:
        return collected[:count]
    # The corner's ordinary shapes, as many as asked, spread over the draws (the
    # first ones are hypothesis's simplest, often alike); then the degenerate ones.
    tags = {id(s): op.tags(s) for s in collected}
    ordinary = list({repr(s): s for s in collected if not tags[id(s)] & set(wanted)}.values())
    if len(ordinary) < count:
        raise RuntimeError(
            f"{op.name} {corner}: {len(ordinary)} ordinary cases in {len(collected)}"
        )
    chosen = [ordinary[i] for i in np.linspace(0, len(ordinary) - 1, count).round().astype(int)]
    for tag in wanted:
        if not any(tag in tags[id(sample)] for sample in chosen):
            found = [s for s in collected if tag in tags[id(s)]]
            if not found:
                raise RuntimeError(f"{op.name} {corner}: no {tag!r} in {len(collected)} draws")
            chosen.append(found[0])
    return chosen


def draw_cases(op: ot.Op) -> list[Sample]:
    """The op's inputs, corner by corner, in the order of ``op.corners``."""
    return [
        sample
        for corner, count in cases_per_corner(op).items()
        for sample in draw_samples(op, corner, count)
    ]


def compute(op: ot.Op, samples: list[Sample], oracle: Any) -> list[GoldenCase]:
    cases = []
    for index, sample in enumerate(samples):
        z = np.asarray(oracle.forward(op, sample), dtype=np.float64)
        dz, grads = None, {}
        if op.backward:
            rng = np.random.default_rng([SEED, index, len(op.name)])
            dz = rng.standard_normal(z.shape)
            grads = {
                k: np.asarray(v, dtype=np.float64)
                for k, v in oracle.backward(op, sample, dz).items()
            }
        cases.append(GoldenCase(sample, dz, z, grads))
    return cases


def coverage(op: ot.Op, samples: list[Sample]) -> dict[str, dict]:
    """Per corner: how many cases, and how many of them hit each tag."""
    result: dict[str, dict] = {}
    for sample in samples:
        entry = result.setdefault(sample.corner, {"cases": 0, "tags": {}})
        entry["cases"] += 1
        for tag in sorted(op.tags(sample)):
            entry["tags"][tag] = entry["tags"].get(tag, 0) + 1
    return result


# --- the file format --------------------------------------------------------------------


def _json_params(params: dict) -> dict:
    return {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in params.items()
        if not isinstance(v, np.ndarray)
    }


def encode(cases: list[GoldenCase]) -> bytes:
    """A zip of .npy entries with fixed timestamps: the same cases give the
    same bytes."""
    entries: dict[str, np.ndarray] = {}
    meta = []
    for i, case in enumerate(cases):
        for name, array in case.sample.arrays.items():
            entries[f"{i}/in/{name}"] = array
        for name, value in case.sample.params.items():
            if isinstance(value, np.ndarray):
                entries[f"{i}/param/{name}"] = value
        entries[f"{i}/out/z"] = case.z
        if case.dz is not None:
            entries[f"{i}/dz"] = case.dz
        for name, grad in case.grads.items():
            entries[f"{i}/grad/{name}"] = grad
        meta.append(
            {
                "params": _json_params(case.sample.params),
                "tuples": sorted(k for k, v in case.sample.params.items() if isinstance(v, tuple)),
                "origin": case.sample.origin,
                "corner": case.sample.corner,
            }
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("cases.json", date_time=_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, json.dumps(meta, sort_keys=True, indent=0))
        for name in sorted(entries, key=lambda n: (int(n.split("/")[0]), n)):
            npy = io.BytesIO()
            np.lib.format.write_array(
                npy,
                np.array(entries[name], order="C"),  # keeps 0-d
                allow_pickle=False,
            )
            info = zipfile.ZipInfo(name + ".npy", date_time=_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, npy.getvalue())
    return buffer.getvalue()


def decode(content: bytes) -> list[GoldenCase]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        meta = json.loads(archive.read("cases.json"))
        arrays = {
            name[:-4]: np.lib.format.read_array(io.BytesIO(archive.read(name)), allow_pickle=False)
            for name in archive.namelist()
            if name.endswith(".npy")
        }
    cases = []
    for i, entry in enumerate(meta):

        def part(kind: str, i: int = i) -> dict[str, np.ndarray]:
            prefix = f"{i}/{kind}/"
            return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

        params = {k: tuple(v) if k in entry["tuples"] else v for k, v in entry["params"].items()}
        params.update(part("param"))
        sample = Sample(part("in"), params, entry["origin"], entry["corner"])
        cases.append(GoldenCase(sample, arrays.get(f"{i}/dz"), arrays[f"{i}/out/z"], part("grad")))
    return cases


# --- reading with integrity checks -----------------------------------------------------


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def read_manifest(directory: Path = GOLDEN_DIR) -> dict:
    path = directory / MANIFEST
    if not path.exists():
        raise IntegrityError(f"{path} is missing; run scripts/regenerate_fixtures.py")
    return json.loads(path.read_text(encoding="utf-8"))


def load_golden(op_name: str, directory: Path = GOLDEN_DIR) -> list[GoldenCase]:
    """The cases of one op, after checking the file against the manifest
    (read once per process: the tests of every corner share them)."""
    return list(_load_golden(op_name, Path(directory)))


@functools.cache
def _load_golden(op_name: str, directory: Path) -> tuple[GoldenCase, ...]:
    manifest = read_manifest(directory)
    filename = f"{op_name}.npz"
    entry = manifest["files"].get(filename)
    path = directory / filename
    if entry is None:
        raise IntegrityError(f"{path}: not in {MANIFEST}")
    if not path.exists():
        raise IntegrityError(f"{path}: listed in {MANIFEST} but missing")
    content = path.read_bytes()
    digest = sha256(content)
    if digest != entry["sha256"]:
        raise IntegrityError(
            f"{path}: SHA-256 {digest} does not match {MANIFEST} ({entry['sha256']}): the file "
            f"was edited or corrupted; restore it from git or run "
            f"scripts/regenerate_fixtures.py --op {op_name}"
        )
    return tuple(decode(content))


def golden_ops(directory: Path = GOLDEN_DIR) -> list[str]:
    try:
        return sorted(name[:-4] for name in read_manifest(directory)["files"])
    except IntegrityError:
        return []


def golden_corners(op_name: str, directory: Path = GOLDEN_DIR) -> list[str]:
    """The corners the op's stored cases were drawn for (from the manifest)."""
    try:
        entry = read_manifest(directory)["files"].get(f"{op_name}.npz", {})
    except IntegrityError:
        return []
    return list(entry.get("coverage", {}))


# --- regenerate / check ---------------------------------------------------------------------


def _versions() -> dict[str, str]:
    import hypothesis
    import torch

    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "hypothesis": hypothesis.__version__,
    }


def _atomic_write(path: Path, content: bytes) -> None:
    from refcnn.checkpoint import atomic_write

    atomic_write(path, lambda f: f.write(content))


def _compare(stored: list[GoldenCase], fresh: list[GoldenCase]) -> list[str]:
    problems = []
    if len(stored) != len(fresh):
        return [f"{len(stored)} stored cases, {len(fresh)} recomputed"]
    for i, (old, new) in enumerate(zip(stored, fresh, strict=True)):
        pairs = [("z", old.z, new.z)] + [
            (f"d{k}", old.grads[k], new.grads.get(k)) for k in old.grads
        ]
        for label, a, b in pairs:
            if b is None or a.shape != b.shape:
                problems.append(f"case {i} {label}: shape changed")
                continue
            scale = max(1.0, float(np.abs(a).max(initial=0.0)))
            diff = float(np.abs(a - b).max(initial=0.0))
            limit = tol.GOLDEN_RECHECK_RTOL * scale
            if not diff <= limit:
                problems.append(f"case {i} {label}: max |diff| {diff:.3g} > {limit:.3g}")
    return problems


def check_article_fixtures(oracle: Any) -> list[str]:
    """Compare the transcribed article arrays with refcnn and torch; never
    writes. Returns the problems found."""
    import refcnn

    problems = []
    for example in fx.article_examples():
        arrays = [example.inputs[n] for n in example.args]
        got = getattr(refcnn, example.function)(*arrays, **example.kwargs)
        op = ot.BY_NAME[example.function]
        sample = Sample(
            dict(zip(op.inputs, (a.astype(float) for a in arrays), strict=True)),
            dict(example.kwargs),
        )
        for source, value in (("refcnn", got), ("torch", oracle.forward(op, sample))):
            if not np.array_equal(np.asarray(value), example.expected):
                problems.append(f"fixtures/article/{example.id}.json differs from {source}")
    return problems


def regenerate(
    ops: list[str] | None = None,
    check: bool = False,
    directory: Path = GOLDEN_DIR,
    out: Any = sys.stdout,
) -> int:
    """Rebuild (or with ``check`` compare) the golden files; 0 when all is well."""
    from .oracle import TorchOracle

    oracle = TorchOracle()
    status = 0
    for problem in check_article_fixtures(oracle):
        print(
            f"ARTICLE FIXTURE: {problem} (not modified: the article's numbers are "
            f"transcribed by hand)",
            file=out,
        )
        status = 1
    selected = [op for op in ot.OPS if ops is None or op.name in ops]
    unknown = set(ops or ()) - {op.name for op in ot.OPS}
    if unknown:
        print(f"unknown op(s): {', '.join(sorted(unknown))}", file=out)
        return 2
    try:
        manifest = read_manifest(directory)
    except IntegrityError:
        if check:
            raise
        manifest = {"files": {}}
    files = dict(manifest.get("files", {}))
    for op in selected:
        samples = draw_cases(op)
        cases = compute(op, samples, oracle)
        filename = f"{op.name}.npz"
        if check:
            try:
                stored = load_golden(op.name, directory)
            except IntegrityError as exc:
                print(f"{filename}: {exc}", file=out)
                status = 1
                continue
            problems = _compare(stored, compute(op, [c.sample for c in stored], oracle))
            print(
                f"{filename}: {'ok' if not problems else 'DRIFT'} ({len(stored)} cases)", file=out
            )
            for problem in problems[:10]:
                print(f"    {problem}", file=out)
            status = status or (1 if problems else 0)
            continue
        content = encode(cases)
        _atomic_write(directory / filename, content)
        files[filename] = {
            "sha256": sha256(content),
            "cases": len(cases),
            "bytes": len(content),
            "coverage": coverage(op, samples),
        }
        print(f"{filename}: {len(cases)} cases, {len(content)} bytes", file=out)
    if not check:
        manifest = {
            "about": "derived golden cases; see conformance/expected/golden.py. The article's "
            "transcribed arrays are in ../article and are never generated.",
            "generator": {
                "script": "scripts/regenerate_fixtures.py",
                "cases_per_corner": CASES_PER_CORNER,
                "cases_for": CASES_FOR,
                "min_cases_per_op": MIN_CASES_PER_OP,
                "seed": SEED,
                "inputs": "hypothesis draws of each corner's strategy "
                "(conformance/inputs/op_table.py) "
                "under hypothesis.seed(crc32(f'{seed} {op} {corner}'))",
                "computed_in": "float64",
            },
            "versions": _versions(),
            "files": dict(sorted(files.items())),
        }
        _atomic_write(
            directory / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        )
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="regenerate_fixtures",
        description="Rebuild or check the golden fixtures (fixtures/golden) from torch.",
    )
    parser.add_argument(
        "--check", action="store_true", help="recompute and compare within tolerance; write nothing"
    )
    parser.add_argument(
        "--op", action="append", dest="ops", metavar="NAME", help="only this op (repeatable)"
    )
    parser.add_argument("--dir", default=str(GOLDEN_DIR), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("regenerate_fixtures needs torch (pip install torch==2.13.0)", file=sys.stderr)
        return 2
    try:
        return regenerate(args.ops, args.check, Path(args.dir))
    except IntegrityError as exc:
        print(exc, file=sys.stderr)
        return 1
