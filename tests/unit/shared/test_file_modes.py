"""Files at rest: databases (and their -wal, -shm), keys and folders under the var dir are the platform
user's only (files 0600, folders 0700), whatever the umask, and loose modes left earlier are tightened."""
from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.directory.adapters.tables import BUS_TABLES as DIRECTORY_TABLES
from services.messaging.adapters.operator import dev_operator
from services.messaging.adapters.tables import BUS_TABLES as MESSAGING_TABLES
from services.shared.auth import DevIssuer
from services.shared.db.engine import drop_database, make_engine
from services.shared.db.migrations import upgrade
from services.shared.db.uow import UnitOfWork
from services.shared.files import private_directory, private_file, private_sqlite, write_private


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    """The common default: without care, files come out 0644 and folders 0755."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (itself included) and its permission bits, as octal text."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def expected(found: dict[str, str], root: Path) -> dict[str, str]:
    return {name: oct(0o700) if (root / name).is_dir() else oct(0o600) for name in found}


def write_some(engine: sa.Engine, tables: tuple[sa.Table, sa.Table], service: str) -> None:
    outbox, processed = tables
    for _ in range(3):
        with UnitOfWork(engine, service=service, outbox=outbox, processed=processed) as uow:
            assert uow.claim(str(uuid.uuid4()), "test.files")
            uow.commit()


def test_every_file_under_the_var_dir_is_private_after_migrations_writes_and_keys(tmp_path: Path) -> None:
    var = tmp_path / "var"  # missing: created by the first engine, as on a first `maillage up`
    engines = []
    for service, tables in (("directory", DIRECTORY_TABLES), ("messaging", MESSAGING_TABLES)):
        url = f"sqlite:///{var / f'{service}.db'}"
        upgrade(service, url)
        engine = make_engine(url)
        write_some(engine, tables, service)
        engines.append(engine)
    DevIssuer(var).mint(rpps="10001045367")
    dev_operator(var, "ne-pas-repondre@maillage.mssante.fr")
    held = [engine.connect() for engine in engines]  # open connections: the -wal and -shm exist now
    try:
        for connection in held:
            connection.execute(sa.text("SELECT count(*) FROM processed_events"))
        found = modes(var)
        assert {"directory.db-wal", "directory.db-shm", "messaging.db-wal", "dev-issuer/signing-key.pem",
                "messaging-operator/operator.key", "messaging-operator/ca.pem"} <= set(found)
        assert found == expected(found, var)
    finally:
        for connection in held:
            connection.close()
        for engine in engines:
            engine.dispose()
    found = modes(var)
    assert found == expected(found, var)


def test_a_database_and_its_wal_left_readable_by_an_earlier_version_are_tightened(tmp_path: Path) -> None:
    database = tmp_path / "directory.db"
    raw = sqlite3.connect(database)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("CREATE TABLE phones (number TEXT)")
    raw.execute("INSERT INTO phones VALUES ('0600000000')")
    raw.commit()
    assert stat.S_IMODE(Path(f"{database}-wal").stat().st_mode) == 0o644
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT number FROM phones")) == "0600000000"
        for name in ("directory.db", "directory.db-wal", "directory.db-shm"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    finally:
        raw.close()
        engine.dispose()


def test_a_database_deleted_while_its_engine_lives_comes_back_private(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'messaging.db'}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        engine.dispose()
        drop_database(url)
        with engine.begin() as connection:  # a new connection creates the file again
            connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
            found = modes(tmp_path)
        assert found == expected(found, tmp_path) | {".": found["."]}
    finally:
        engine.dispose()


def test_private_directory_creates_every_missing_level_0700_and_tightens_only_when_asked(tmp_path: Path) -> None:
    nested = private_directory(tmp_path / "a" / "b" / "c")
    assert [oct(stat.S_IMODE(p.stat().st_mode)) for p in (tmp_path / "a", tmp_path / "a" / "b", nested)] == [
        oct(0o700)] * 3
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    private_directory(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # a folder the platform did not create is left alone
    private_directory(shared, tighten=True)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700


def test_private_files_keep_their_content_and_lose_group_and_other_permissions(tmp_path: Path) -> None:
    loose = tmp_path / "loose.pem"
    loose.write_bytes(b"kept")
    os.chmod(loose, 0o664)
    private_file(loose)
    assert (loose.read_bytes(), stat.S_IMODE(loose.stat().st_mode)) == (b"kept", 0o600)
    written = write_private(tmp_path / "new.pem", b"certificate")
    assert (written.read_bytes(), stat.S_IMODE(written.stat().st_mode)) == (b"certificate", 0o600)


def test_making_a_database_private_keeps_the_locks_the_process_holds_on_it(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops the process's POSIX locks on it, SQLite's included: the
    modes are set by path, so a live connection's write lock still holds another process out."""
    database = tmp_path / "locked.db"
    holder = sqlite3.connect(database, timeout=0, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    try:
        private_sqlite(database)
        other = subprocess.run(
            [sys.executable, "-c",
             "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
             "try:\n    c.execute('BEGIN IMMEDIATE')\nexcept sqlite3.OperationalError as e:\n    print(e)",
             str(database)],
            capture_output=True, text=True, check=True, timeout=30,
        )
        assert other.stdout.strip() == "database is locked"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
