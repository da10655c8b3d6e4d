"""Hostile submissions for ``refcnn grade`` (tests/test_grading.py): each
does its harm in ``max_pooling2d`` (or at import) and is otherwise the loop
implementation. None may change another submission's result."""
