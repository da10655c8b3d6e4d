"""Near passes: refcnn's layers, each changed to sit just inside what the
documented tolerances and policies allow (another summation order, float32
rounding of float32 input, an element off by half the tolerance, booleans
that equal the expected values). Each must pass, so that the judge is not
stricter than its docs: ``tests/test_judge.py`` (``pytest -m judge``)."""
