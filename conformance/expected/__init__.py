"""The expected values: what a right implementation returns.

:mod:`.torch_reference` (the article's semantics with torch ops),
:mod:`.oracle` (torch, or refcnn and the golden fixtures without it),
:mod:`.golden` and :mod:`.article` (the stored and the printed arrays),
:mod:`.tolerances` (how close is right, each with its reason). May import
:mod:`conformance.inputs`.
"""
