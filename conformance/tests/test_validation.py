"""Bad input fails with a TypeError or ValueError (refcnn's policy; for
another implementation only with --strict-policies)."""

from __future__ import annotations

import pytest

from ..inputs.invalid_inputs import BAD_CALLS, BadCall
from ..running import implementation as impl_mod


@pytest.mark.parametrize("case", BAD_CALLS, ids=lambda c: c.id)
@pytest.mark.verdict(check="validation")
def test_bad_input_raises_a_clear_error(case: BadCall, impl) -> None:
    if not impl.strict:
        impl_mod.skip(
            "not checked", "input validation is refcnn's policy: pass --strict-policies to check it"
        )
    function = impl.require(case.function)
    with pytest.raises((TypeError, ValueError)) as info:
        function(*case.make_args(), **case.kwargs)
    assert isinstance(info.value, case.error), (
        f"{case.function}: expected {case.error.__name__}, got "
        f"{type(info.value).__name__}: {info.value}"
    )
