"""Forgers: each hands in a wrong max_pooling2d (zeros) and tries to make the
verdict say pass by another way than computing the right values. None may
ever pass (tests/test_boundary.py)."""
