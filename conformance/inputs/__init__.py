"""Drawing the inputs: which ops there are and what they take.

:mod:`.op_table` (one declarative entry per op), :mod:`.shapes` (the limits
and geometry kinds), :mod:`.corners`, :mod:`.strategies` and :mod:`.samplers`
(hypothesis draws, corner by corner), :mod:`.invalid_inputs` (the arguments
an op must refuse). Imports nothing else of the suite.
"""
