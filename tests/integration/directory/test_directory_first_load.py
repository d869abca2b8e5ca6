"""A first SQLite load runs with a rollback journal (adapters/stores.rollback_journal): atomic, durable, then WAL."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from services.directory.adapters.stores import rollback_journal
from services.directory.adapters.tables import activity
from services.directory.synth import write_extract
from services.shared.db import make_engine
from services.shared.db.migrations import upgrade
from tests.unit.directory.annuaire_fixtures import RPPS_A, mailbox_header, mailbox_line, write

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]

# Imports an extract in this child process; CRASH names where it kills itself (SIGKILL: no clean-up).
_CHILD = """
import os, signal, sys
from pathlib import Path
from services.directory import importer
from services.directory.adapters import stores
from services.directory.adapters.tables import BUS_TABLES
from services.shared.db import UnitOfWork, make_engine

url, extract, crash = sys.argv[1:4]
stores._SQLITE_CACHE_KIB = 64  # a small cache: the load spills its pages into the file before it commits
die = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
if crash == "before-commit":
    importer._record = die
elif crash == "after-commit":
    stores._back_to_wal = die
engine = make_engine(url, pool_size=1)
importer.import_extract(Path(extract), parallel=False, uow=lambda: UnitOfWork(
    engine, service="directory", outbox=BUS_TABLES[0], processed=BUS_TABLES[1]))
"""


def _import_in_child(url: str, extract: Path, crash: str) -> int:
    done = subprocess.run([sys.executable, "-c", _CHILD, url, str(extract), crash], cwd=ROOT,
                          capture_output=True, timeout=120, check=False)
    return done.returncode


def _state(url: str) -> tuple[int, int, str, str, list[str]]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            activities = raw.execute("SELECT count(*) FROM activity").fetchone()[0]
            mailboxes = raw.execute("SELECT count(*) FROM mailbox").fetchone()[0]
            integrity = raw.execute("PRAGMA integrity_check").fetchone()[0]
            journal = raw.execute("PRAGMA journal_mode").fetchone()[0]
            indexes = sorted(row[1] for row in raw.execute("PRAGMA index_list(activity)"))
        return activities, mailboxes, integrity, journal, indexes
    finally:
        engine.dispose()


@pytest.fixture
def database(tmp_path: Path) -> str:
    """A migrated SQLite directory holding some mailboxes (the state a failed first load must keep)."""
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    upgrade("directory", url)
    extract = write(tmp_path / "mss.txt", mailbox_line("PER", "a@x.mssante.fr", RPPS_A), header=mailbox_header())
    assert _import_in_child(url, extract, "none") == 0
    return url


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    path = tmp_path / "activities.txt"
    write_extract(path, 3_000, seed=7)
    return path


def test_a_first_load_switches_to_a_rollback_journal_and_back(database: str) -> None:
    engine = make_engine(database, pool_size=1)
    try:
        with rollback_journal(engine, activity) as switched:
            assert switched
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_another_connection_keeps_the_import_in_wal(database: str) -> None:
    engine, other = make_engine(database, pool_size=1), make_engine(database, pool_size=1)
    try:
        with other.connect() as held:
            held.exec_driver_sql("SELECT 1").scalar()
            with rollback_journal(engine, activity) as switched:
                assert not switched
            assert held.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
        other.dispose()


def test_a_crashed_first_load_leaves_the_previous_state(database: str, extract: Path) -> None:
    assert _import_in_child(database, extract, "before-commit") == -signal.SIGKILL
    assert Path(database.removeprefix("sqlite:///") + "-journal").exists()  # hot: rolled back on opening
    activities, mailboxes, integrity, journal, indexes = _state(database)
    assert (activities, mailboxes, integrity, journal) == (0, 1, "ok", "wal")
    assert indexes == sorted(str(index.name) for index in activity.indexes)  # the dropped ones are back
    assert _import_in_child(database, extract, "none") == 0  # and the next import goes through
    assert _state(database)[0] > 0


def test_a_committed_first_load_survives_a_crash(database: str, extract: Path) -> None:
    assert _import_in_child(database, extract, "after-commit") == -signal.SIGKILL
    activities, mailboxes, integrity, journal, indexes = _state(database)
    assert activities > 2_000 and (mailboxes, integrity, journal) == (1, "ok", "wal")
    assert indexes == sorted(str(index.name) for index in activity.indexes)
    assert not os.path.exists(database.removeprefix("sqlite:///") + "-journal")
