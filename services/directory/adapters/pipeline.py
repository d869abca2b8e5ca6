"""Reading and converting an extract in a second process while this one writes to the database.

A 2-million-line import is half parsing and converting (Python, one core) and half database work
(SQLite runs in the writer's process): on two cores they overlap. The reader is a forked child that
runs ``chunks()`` and sends each chunk, pickled, through a pipe. The pipe is the bounded queue: the
child blocks on it while the writer still holds a chunk, so at most one chunk is in flight and
memory stays flat. The chunker's own state (which known fingerprints lines met) comes back at the
end. Small extracts are read in-process: forking would cost more than it saves.
"""
from __future__ import annotations

import multiprocessing
import pickle
import traceback
from collections.abc import Iterator
from typing import Any

from services.directory.adapters.annuaire import Extract
from services.directory.adapters.chunks import CHUNK_LINES, Chunk, Chunker, chunks

# Below this size an extract is read in-process (the tests' files, a departmental extract).
PARALLEL_MIN_BYTES = 32 << 20
_END, _FAILED = "end", "failed"


def read_chunks(extract: Extract, chunker: Chunker, *, parallel: bool | None = None,
                size: int = CHUNK_LINES) -> Iterator[Chunk]:
    """``chunks(extract, chunker)``, read by a child process when ``parallel`` (default: large files)."""
    if parallel is None:
        parallel = extract.size >= PARALLEL_MIN_BYTES and "fork" in multiprocessing.get_all_start_methods()
    if not parallel:
        return chunks(extract, chunker, size)
    return _from_child(extract, chunker, size)


def _from_child(extract: Extract, chunker: Chunker, size: int) -> Iterator[Chunk]:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_read, args=(extract, chunker, size, sender), name="directory-import-reader",
                            daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            kind, payload = pickle.loads(receiver.recv_bytes())
            if kind == _END:
                chunker.absorb(payload)
                return
            if kind == _FAILED:
                raise RuntimeError(f"The extract reader failed: {payload}")
            yield payload
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _read(extract: Extract, chunker: Chunker, size: int, sender: Any) -> None:
    """The child: every chunk, then the chunker's state; a failure is told, not raised."""
    dumps = pickle.dumps
    try:
        for chunk in chunks(extract, chunker, size):
            sender.send_bytes(dumps(("chunk", chunk), protocol=pickle.HIGHEST_PROTOCOL))
        sender.send_bytes(dumps((_END, chunker.result()), protocol=pickle.HIGHEST_PROTOCOL))
    except BrokenPipeError:
        pass  # the writer gave up (an error, or a refused import): nothing to tell
    except BaseException as error:  # noqa: BLE001 - told to the writer, which raises it
        # No row values: the last frame's place and the exception's type only.
        where = traceback.extract_tb(error.__traceback__)[-1]
        sender.send_bytes(dumps((_FAILED, f"{type(error).__name__} at {where.filename}:{where.lineno}")))
    finally:
        sender.close()
