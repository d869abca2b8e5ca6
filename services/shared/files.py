"""Files at rest: what the platform keeps on disk (databases, keys, anything under the var dir) is
readable by its own user only — files 0600, folders 0700 — whatever the process umask.

The directory's database holds phones, addresses and patients' objections (INS) in clear, and the
messaging database the mailboxes: another local account must not read them. Modes are given at
creation (``os.open(..., 0o600)``, ``mkdir`` then ``chmod``), never left to the umask, and loose
modes left by earlier versions are tightened when the file is opened again.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIRECTORY = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_directory(path: Path | str, *, tighten: bool = False) -> Path:
    """Create ``path`` and its missing parents as 0700 folders; ``tighten`` also takes group and
    other permissions away from ``path`` itself when it already exists (the platform's own var dir)."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIRECTORY)
        except FileExistsError:  # another process created it meanwhile: its modes are its own
            continue
        os.chmod(folder, PRIVATE_DIRECTORY)  # mkdir's mode is filtered by the umask
    if tighten and not missing:
        _tighten(path, PRIVATE_DIRECTORY)
    return path


def private_file(path: Path | str) -> Path:
    """Make sure ``path`` exists as a 0600 file (created empty if missing; an existing one keeps its
    content and loses any group or other permission).

    An existing file is never opened here, only chmod'ed by path: closing any descriptor of a file
    drops every POSIX lock the process holds on it, and SQLite's locks are such locks (opening and
    closing a database file beside a live connection is SQLite's documented corruption hazard).
    """
    path = Path(path)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    except FileExistsError:
        _tighten(path, PRIVATE_FILE)
        return path
    try:
        os.fchmod(descriptor, PRIVATE_FILE)  # os.open's mode is filtered by the umask
    finally:
        os.close(descriptor)  # a new, empty file: nobody holds a lock on it yet
    return path


def write_private(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to a new or existing file that only the platform's user can read."""
    path = private_file(path)
    with open(path, "wb") as file:
        file.write(data)
    return path


def private_sqlite(database: Path | str) -> None:
    """Before SQLite opens ``database``: create it 0600 (SQLite gives its -wal, -shm and -journal the
    database file's mode) and tighten companions an earlier version left readable by others."""
    database = Path(database)
    if not database.parent.exists():
        private_directory(database.parent)
    private_file(database)
    for suffix in SQLITE_COMPANIONS:
        _tighten(Path(f"{database}{suffix}"), PRIVATE_FILE)


def _tighten(path: Path, allowed: int) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & ~allowed & 0o777:
        os.chmod(path, mode & allowed)
