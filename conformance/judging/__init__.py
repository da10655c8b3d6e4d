"""Judging: calling the implementation and deciding.

:mod:`.boundary` (the trusted end of the pipe: the sandboxed worker, its
limits, the calls), :mod:`.calls` (one call as a test makes it),
:mod:`.checks` (comparisons and failure kinds), :mod:`.hygiene`,
:mod:`.defaults`, :mod:`.finite_differences`, :mod:`.explain` (the smallest
failing example). May import :mod:`conformance.inputs`,
:mod:`conformance.expected`, :mod:`conformance.verdict` and
:mod:`conformance.judged`.
"""
