"""What `maillage up` (and `maillage directory import`) leave on disk is the platform user's only."""
from __future__ import annotations

import stat
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

WRITTEN_BY_THE_TEST = {"maillage-up.log"}  # the fixture's capture of the platform's output, not the platform's


def test_databases_keys_and_folders_under_the_var_dir_are_0600_and_0700(imported: Any) -> None:
    var = imported.var
    found = {str(path.relative_to(var)): stat.S_IMODE(path.lstat().st_mode) for path in var.rglob("*")
             if path.name not in WRITTEN_BY_THE_TEST}
    expected = {"directory.db", "messaging.db", "dev-issuer/signing-key.pem", "messaging-operator/operator.key"}
    assert expected <= set(found)
    assert {name: oct(mode) for name, mode in found.items()} == {
        name: oct(0o700 if (var / name).is_dir() else 0o600) for name in found}
    assert oct(stat.S_IMODE(var.stat().st_mode)) == oct(0o700)
