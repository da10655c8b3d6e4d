"""Forward calls and time per example of the gradient check, element by
element against along random directions, side by side in one run.

For each differentiable op, draws examples from the gradient check's own
strategies (every corner it judges), and runs both comparisons the check can
make on refcnn (or ``--impl``): central differences of every element (two
forward calls each) and ``checks.directions_agree`` (two per direction
per input, and the element-wise calls where the directions do not agree,
as the test does). Both also count the two forward calls the check makes first
(the output, and a second call to see it is stable). Prints the mean calls
and time per example of each (means: the large examples cost the most), and
their ratios.

    python benchmarks/gradcheck_calls.py [--examples 20] [--impl tests.impls.autodiff_torch]
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refcnn.conformance.inputs import op_table as ot
from refcnn.conformance.judging import checks as ch
from refcnn.conformance.judging import finite_differences as fd

FIRST_CALLS = 2  # the forward checked first, and called again


def samples(op: ot.Op, corner: str, count: int) -> list:
    drawn: list = []

    @settings(max_examples=count, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.data())
    def draw(data):
        drawn.append(data.draw(op.strategy("float64", corner, gradcheck=True)))

    draw()
    return drawn[:count]


def measure(op: ot.Op, module, count: int) -> dict[str, list[float]]:
    def get(name):
        return getattr(module, name)

    result: dict[str, list[float]] = {"element-wise": [], "directional": [], "te": [], "td": []}
    for corner in op.gradient_corners:
        for sample in samples(op, corner, count):
            params = ot.forward_params(op, sample)
            z = np.asarray(op.call_forward(get, dict(sample.arrays), params))
            dz = np.random.default_rng(0).standard_normal(z.shape)
            calls = [0]

            def loss(arrays, calls=calls, params=params, dz=dz):
                calls[0] += 1
                return float(np.sum(np.asarray(op.call_forward(get, arrays, params)) * dz))

            names = [n for n in op.grads if not ch.skipped_gradient(n, sample.params)]
            start = time.perf_counter()
            for name in names:
                fd.finite_difference_gradient(loss, dict(sample.arrays), name)
            result["te"].append(time.perf_counter() - start)
            result["element-wise"].append(FIRST_CALLS + calls[0])
            values = {**sample.arrays, "z": z, "dz": dz}
            grads = op.gradients(op.call_backward(get, values, sample.params))
            calls[0] = 0
            rng = np.random.default_rng(1)
            start = time.perf_counter()
            for name in names:
                if not fd.directions_agree(loss, dict(sample.arrays), name, grads[name], rng):
                    fd.finite_difference_gradient(loss, dict(sample.arrays), name)  # as the test
            result["td"].append(time.perf_counter() - start)
            result["directional"].append(FIRST_CALLS + calls[0])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20, help="per corner")
    parser.add_argument("--impl", default="refcnn")
    args = parser.parse_args()
    sys.path.insert(0, os.getcwd())  # a module in the current folder, as the command finds it
    module = importlib.import_module(args.impl)
    print(f"implementation: {args.impl}; examples per corner: {args.examples}; "
          f"directions per input: {fd.DIRECTIONS}")  # fmt: skip
    header = f"{'op':24} {'calls: element-wise':>20} {'directional':>12} {'ratio':>7}"
    print(header + f" {'time/ex. e-w':>13} {'directional':>12} {'ratio':>7}")
    for op in ot.DIFFERENTIABLE:
        if not all(hasattr(module, function) for function in op.imports):
            continue
        r = measure(op, module, args.examples)
        ce, cd = statistics.mean(r["element-wise"]), statistics.mean(r["directional"])
        te, td = statistics.mean(r["te"]), statistics.mean(r["td"])
        print(f"{op.name:24} {ce:>20.0f} {cd:>12.0f} {ce / cd:>6.1f}x "
              f"{te * 1e3:>11.2f}ms {td * 1e3:>10.2f}ms {te / td:>6.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
