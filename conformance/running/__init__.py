"""Running the suite: :mod:`.api` (``check()``, ``Verdict``), :mod:`.session`
(the pytest process it starts), :mod:`.runner` (the command),
:mod:`.implementation` (which implementation is judged and what it
provides), :mod:`.options`. May import every subpackage but
:mod:`conformance.grading`.
"""
