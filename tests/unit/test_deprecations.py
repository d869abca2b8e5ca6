"""Unit tests run with deprecation warnings as errors (tests/conftest.py), third-party ones listed there aside."""
from __future__ import annotations

import warnings

import pytest


def test_a_deprecation_warning_fails_a_unit_test() -> None:
    with pytest.raises(DeprecationWarning):
        warnings.warn("gone in the next version", DeprecationWarning, stacklevel=1)
    with pytest.raises(PendingDeprecationWarning):
        warnings.warn("going in a later version", PendingDeprecationWarning, stacklevel=1)


@pytest.mark.parametrize("message", [
    "Eventlet is deprecated. It is currently being maintained in bugfix mode.",
    "Using fork() is a bad idea, and there is no guarantee eventlet will work.",
])
def test_the_listed_third_party_warnings_are_not_errors(message: str) -> None:
    warnings.warn(message, DeprecationWarning, stacklevel=1)  # raises if THIRD_PARTY_DEPRECATIONS misses it
