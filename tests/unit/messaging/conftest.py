"""Fixtures of the secure-message crypto tests: a throwaway PKI and an ``openssl`` runner."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.pki import Identity, make_ca, make_identity
from tests.unit.messaging.world import World

OpenSSL = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture(scope="session")
def pki() -> dict[str, Identity]:
    """``ca`` issues everyone; alice signs (RSA), bob and dave are RSA, carol is EC P-256."""
    ca = make_ca("Maillage Test CA")
    return {
        "ca": ca,
        "alice": make_identity(ca, "Alice Martin"),
        "bob": make_identity(ca, "Bob Durand"),
        "carol": make_identity(ca, "Carol Petit", kind="ec"),
        "dave": make_identity(ca, "Dave Bernard"),
        "rogue_ca": make_ca("Rogue CA"),
    }


@pytest.fixture
def pem_dir(tmp_path: Path, pki: dict[str, Identity]) -> Path:
    """``<name>.pem`` and ``<name>.key`` for every identity, for the openssl command line."""
    for name, identity in pki.items():
        identity.write(tmp_path, name)
    return tmp_path


@pytest.fixture(scope="session")
def openssl() -> OpenSSL:
    binary = shutil.which("openssl")
    if binary is None:
        pytest.skip("the openssl binary is not installed")

    def run(
        *args: str | Path, stdin: bytes | None = None, ok: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            [binary, *map(str, args)], input=stdin, capture_output=True, check=False, timeout=120
        )
        if ok:
            assert result.returncode == 0, result.stderr.decode(errors="replace")
        return result

    return run


@pytest.fixture
def world(tmp_path: Path, pki: dict[str, Identity]) -> World:
    """A messaging database, an in-memory directory (alice, bob, carol, an ORG mailbox...) and a clock."""
    return World(tmp_path, pki)
