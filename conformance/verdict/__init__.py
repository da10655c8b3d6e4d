"""The verdict and its renderings.

:mod:`.record` (each cell's outcome as the session records it),
:mod:`.causes` (failures grouped by cause), :mod:`.render` (terminal table,
failures text), :mod:`.page`, :mod:`.verdict_json`, :mod:`.reports` (the
report files), :mod:`.matrices` and :mod:`.hints` (the explanations),
:mod:`.snippets` (reproductions with NumPy alone), :mod:`.files`. May import
:mod:`conformance.inputs`, :mod:`conformance.expected` and
:mod:`conformance.judged`; nothing here calls the implementation.
"""
