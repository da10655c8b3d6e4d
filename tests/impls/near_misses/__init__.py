"""Near misses: refcnn's layers, each changed just past one line that the
judge draws (a tolerance, NaN, one ulp of an input, a broadcastable shape,
a dtype, a boolean, a skipped gradient, a buffer handed out again). Each
must fail in its own cell, with its kind, in every dtype where it applies:
``tests/test_judge.py`` holds the judge to them (``pytest -m judge``)."""
