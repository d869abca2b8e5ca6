"""Reading and converting an extract in a second process while this one writes to the database.

A 2-million-line import is half parsing and converting (Python, one core) and half database work
(SQLite runs in the writer's process): on two cores they overlap. The reader is a forked child that
runs ``chunks()`` and sends each chunk, marshalled, through a pipe. The pipe is the bounded queue: the
child blocks on it while the writer still holds a chunk, so at most one chunk is in flight and
memory stays flat. The chunker's own state (which known fingerprints lines met) comes back at the
end. Small extracts are read in-process: forking would cost more than it saves.
"""
from __future__ import annotations

import fcntl
import marshal
import multiprocessing
import os
import struct
import traceback
from collections.abc import Generator
from contextlib import suppress
from typing import Any, BinaryIO

from services.directory.adapters.annuaire import Extract, Rejection
from services.directory.adapters.chunks import CHUNK_LINES, Chunk, Chunker, chunks

# Below this size an extract is read in-process (the tests' files, a departmental extract).
PARALLEL_MIN_BYTES = 32 << 20
_END, _FAILED = "end", "failed"
_PIPE_BYTES = 1 << 20
_LENGTH = struct.Struct("<Q")  # each message: its length, then its bytes
# Chunks are built-in types only (dicts, lists, tuples, str, int, None): marshal writes them in half
# the time pickle takes, and this is the reading process's second largest cost after parsing.
_MARSHAL_VERSION = 4


def read_chunks(extract: Extract, chunker: Chunker, *, parallel: bool | None = None,
                size: int = CHUNK_LINES) -> Generator[Chunk, None, None]:
    """``chunks(extract, chunker)``, read by a child process when ``parallel`` (default: large files)."""
    if parallel is None:
        parallel = extract.size >= PARALLEL_MIN_BYTES and "fork" in multiprocessing.get_all_start_methods()
    if not parallel:
        return chunks(extract, chunker, size)
    return _from_child(extract, chunker, size)


def _from_child(extract: Extract, chunker: Chunker, size: int) -> Generator[Chunk, None, None]:
    context = multiprocessing.get_context("fork")
    read_end, write_end = os.pipe()
    with suppress(OSError):  # a larger pipe: fewer wake-ups per chunk (Linux)
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    # Plain buffered files: their reads and writes are C calls, never green ones (the CLI runs under
    # eventlet, whose os.read goes through its hub on every call).
    receiver = open(read_end, "rb", buffering=_PIPE_BYTES)  # noqa: SIM115 - closed below
    sender = open(write_end, "wb", buffering=_PIPE_BYTES)  # noqa: SIM115 - handed to the child, closed here
    child = context.Process(target=_read, args=(extract, chunker, size, sender, receiver),
                            name="directory-import-reader", daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            kind, payload = marshal.loads(_receive(receiver))
            if kind == _END:
                chunker.absorb(payload)
                return
            if kind == _FAILED:
                raise RuntimeError(f"The extract reader failed: {payload}")
            records, accepted, rejections, lines, position = payload
            yield Chunk(records, accepted, [Rejection(*r) for r in rejections], lines, position)
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _send(sender: BinaryIO, message: tuple[str, Any]) -> None:
    payload = marshal.dumps(message, _MARSHAL_VERSION)
    sender.write(_LENGTH.pack(len(payload)))
    sender.write(payload)
    sender.flush()


def _receive(receiver: BinaryIO) -> bytes:
    head = receiver.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise RuntimeError("The extract reader stopped without a word.")
    (length,) = _LENGTH.unpack(head)
    payload = receiver.read(length)
    if len(payload) < length:
        raise RuntimeError("The extract reader stopped in the middle of a chunk.")
    return payload


def _read(extract: Extract, chunker: Chunker, size: int, sender: BinaryIO, receiver: BinaryIO) -> None:
    """The child: every chunk, then the chunker's state; a failure is told, not raised."""
    receiver.close()
    try:
        for chunk in chunks(extract, chunker, size):
            rejections = [tuple(rejection) for rejection in chunk.rejections]
            _send(sender, ("chunk", (chunk.records, chunk.accepted, rejections, chunk.lines, chunk.position)))
        _send(sender, (_END, chunker.result()))
    except BrokenPipeError:
        pass  # the writer gave up (an error, or a refused import): nothing to tell
    except BaseException as error:  # noqa: BLE001 - told to the writer, which raises it
        # No row values: the last frame's place and the exception's type only.
        where = traceback.extract_tb(error.__traceback__)[-1]
        _send(sender, (_FAILED, f"{type(error).__name__} at {where.filename}:{where.lineno}"))
    finally:
        with suppress(BrokenPipeError):
            sender.close()
