"""Recorder: what ``Engine(record=PATH)`` writes while it runs (docs/recording.md).

The listener appends every received message to ``Recorder.buffer`` (compiled, inline);
the engine tells the recorder about everything else: the books and streams it declares,
the operations it performs on them (``op``), its connections, the REST bodies it used and
what happened (``event``). All of it runs on the event loop thread, into the one buffer,
so the file holds them in the order they happened.

A chunk is sealed when the buffer is full or ``chunk_seconds`` after its first record
(one timer per recorder, never per book) and handed to the ``ChunkWriter`` thread. A
sealed chunk the writer's queue cannot take is dropped and counted, and the next chunk
opens with a ``dropped`` event (and the declarations again), so a replay knows exactly
where the recording is incomplete.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

from fastfeed._record import DECLARE, EVENT, OP, RecordBuffer
from fastfeed.logsafe import RateLimitedLog
from fastfeed.recording import ChunkWriter

__all__ = ["DEFAULT_CHUNK_BYTES", "DEFAULT_CHUNK_SECONDS", "Recorder"]

#: A chunk is sealed at this many bytes of records (small enough that the buffer being
#: filled stays in the CPU's L2 cache: the listener's copy is cheapest there)...
DEFAULT_CHUNK_BYTES = 256 << 10
#: ... or this many seconds after its first record: what a crash can lose at most
#: (plus what waits in the writer's queue).
DEFAULT_CHUNK_SECONDS = 1.0

rlog = RateLimitedLog(logging.getLogger("fastfeed.recorder"))


def _meta(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode()


def _monotonic_ns() -> int:
    return time.monotonic_ns()


class Recorder:
    """Writes one recording (docs/recording.md) for an engine.

    ``chunk_bytes``/``chunk_seconds`` bound a chunk; ``max_pending_chunks`` bounds the
    writer's queue (memory: at most that many sealed chunks plus the one being filled);
    ``level`` is the zstd level (1: on market data it compresses as well as 3, faster).
    ``stats()`` counts what was recorded, written and dropped.
    """

    def __init__(self, path: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                 chunk_seconds: float = DEFAULT_CHUNK_SECONDS, max_pending_chunks: int = 64,
                 level: int = 1, _test_gate: threading.Event | None = None) -> None:
        if chunk_seconds <= 0:
            raise ValueError("chunk_seconds must be positive")
        self.path = path
        self.chunk_seconds = chunk_seconds
        self.level = level
        self.max_pending_chunks = max_pending_chunks
        self._test_gate = _test_gate    # tests only: the writer waits for it (ChunkWriter)
        self.buffer = RecordBuffer(chunk_bytes, self.seal)
        # the file is written from the first seal (its header then lists the books declared
        # by then), but a path that cannot be written fails here, loudly, not in a timer
        with open(path, "wb"):
            pass
        self._writer: ChunkWriter | None = None
        self.error: str | None = None       # the writer could not be opened
        self._created_wall_ns = time.time_ns()
        self._created_mono_ns = _monotonic_ns()
        self._ids: dict[int, int] = {}              # id(object) -> declaration id
        self._objects: list[Any] = []               # keeps declared objects' ids unique
        self.declarations: list[dict[str, Any]] = []
        self.connections = 0
        self.chunks_sealed = 0
        self.dropped_chunks = 0
        self.dropped_records = 0
        self.dropped_frames = 0
        self.dropped_bytes = 0
        self._drop_pending = False      # the next chunk opens with a "dropped" event
        self._reopening = False
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    # ------------------------------------------------------------------ what is recorded

    def declare(self, obj: Any, kind: str, **fields: Any) -> int:
        """Declare a book or stream (once; later calls return its id). ``fields`` are
        what a replay needs to build the same core (docs/recording.md, DECLARE)."""
        known = self._ids.get(id(obj))
        if known is not None:
            return known
        ident = len(self.declarations)
        self._ids[id(obj)] = ident
        self._objects.append(obj)
        declaration = {"id": ident, "kind": kind, **fields}
        self.declarations.append(declaration)
        self._add(DECLARE, 0, _meta(declaration))
        return ident

    def id_of(self, obj: Any) -> int | None:
        """The declaration id of ``obj`` (None: never declared)."""
        return self._ids.get(id(obj))

    def op(self, name: str, obj: Any = None, *, conn: int = 0, body: bytes = b"",
           **fields: Any) -> None:
        """An operation the replay performs at this point (``obj``: a declared book or
        stream; docs/recording.md, "Operations")."""
        meta: dict[str, Any] = {"op": name}
        if obj is not None:
            ident = self._ids.get(id(obj))
            if ident is None:
                return      # not a recorded object (e.g. declared before recording began)
            meta["id"] = ident
        meta.update(fields)
        self._add(OP, conn, _meta(meta), body)

    def event(self, name: str, *, conn: int = 0, body: bytes = b"", **fields: Any) -> None:
        """Something that happened, for people and tools (the replay reports it)."""
        self._add(EVENT, conn, _meta({"event": name, **fields}), body)

    def connection(self, venue: str, url: str, route: str = "") -> int:
        """A new connection to ``url`` (its venue ``route``, e.g. USD-M ``/market``): its
        recording id (the listener stamps its frames with it)."""
        self.connections += 1
        self.op("connect", conn=self.connections, venue=venue, url=url, route=route)
        return self.connections

    def route(self, conn: int, books: list[Any], channels: list[Any]) -> None:
        """Connection ``conn``'s router now carries these books and channel streams."""
        self.op("route", conn=conn, books=[self._ids.get(id(b)) for b in books],
                channels=[self._ids.get(id(c)) for c in channels])

    def rest_body(self, url: str, params: dict[str, Any] | None, body: bytes) -> None:
        """A REST body the engine used (instrument lookups; snapshots and backfills
        travel inside their operations)."""
        self.event("rest", url=url, params=params or {}, body=body)

    def _add(self, kind: int, conn: int, meta: bytes, body: bytes = b"") -> None:
        if self._closed:
            return
        self.buffer.add(kind, conn, _monotonic_ns(), meta, body)
        self._arm()

    # ------------------------------------------------------------------ chunks

    def _arm(self) -> None:
        """Make sure the buffer is sealed within ``chunk_seconds`` of its first record."""
        if self._timer is None and not self._closed:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return      # no loop (tests, tools): sealed when full or on close
            self._timer = loop.call_later(self.chunk_seconds, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.seal()

    def seal(self) -> None:
        """Hand the buffered records to the writer as one chunk (or count them dropped)."""
        taken = self.buffer.take()
        if taken is None:
            return
        raw, first_ns, last_ns, records, frames = taken
        writer = self._writer
        if writer is None and self.error is None:
            try:
                writer = self._writer = self._open_writer()
            except OSError as exc:
                self.error = f"cannot write {self.path}: {exc}"
        if writer is not None and writer.submit(raw, first_ns, last_ns, records, frames,
                                                wall_ns=time.time_ns(),
                                                mono_ns=_monotonic_ns()):
            self.chunks_sealed += 1
        else:
            self.dropped_chunks += 1
            self.dropped_records += records
            self.dropped_frames += frames
            self.dropped_bytes += len(raw)
            self._drop_pending = True
            self.buffer.recycle(raw)
            failure = self.error or (writer.error if writer is not None else None)
            rlog.warning((id(self), "dropped"), "recording %s: writer %s; dropped %d records "
                         "(%d frames) so far", self.path,
                         f"failed ({failure})" if failure else "cannot keep up",
                         self.dropped_records, self.dropped_frames)
        if (self._drop_pending and not self._reopening and writer is not None
                and writer.error is None):
            # (a seal inside this one, when the declarations outgrow a chunk, drops or
            # not on its own; a drop there leaves the next seal to say so: no recursion)
            self._reopening = True
            try:
                self._reopen_after_drop()
            finally:
                self._reopening = False

    def _reopen_after_drop(self) -> None:
        """The next chunk says what was lost and declares everything again (a replay
        reading from here on needs no earlier chunk to know the books)."""
        self._drop_pending = False
        self.event("dropped", records=self.dropped_records, frames=self.dropped_frames,
                   bytes=self.dropped_bytes)
        for declaration in self.declarations:
            self._add(DECLARE, 0, _meta(declaration))

    def _open_writer(self) -> ChunkWriter:
        return ChunkWriter(self.path, self._header(), level=self.level,
                           max_pending_chunks=self.max_pending_chunks,
                           on_written=self.buffer.recycle, _test_gate=self._test_gate)

    def _header(self) -> dict[str, Any]:
        from fastfeed import __version__  # (the package imports this module)
        return {"format": "fastfeed-recording", "version": 1, "fastfeed": __version__,
                "created_wall_ns": self._created_wall_ns,
                "created_mono_ns": self._created_mono_ns,
                "chunk_bytes": self.buffer.chunk_bytes, "zstd_level": self.level,
                "books": list(self.declarations)}

    def close(self) -> None:
        """Seal what is buffered, write the index and close the file (blocks until the
        writer has written everything: call it when the engine stops)."""
        if self._closed:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.seal()
        if self.buffer.used_bytes and self._writer is not None:
            # the last chunk did not fit (it says what was dropped): closing may wait
            self._writer.flush_wait()
            self.seal()
        self._closed = True
        if self._writer is None:        # nothing was ever recorded: still a valid file
            try:
                self._writer = self._open_writer()
            except OSError as exc:
                self.error = f"cannot write {self.path}: {exc}"
                return
        self._writer.close({"books": self.declarations,
                            "frames": self.buffer.total_frames,
                            "records": self.buffer.total_records,
                            "dropped_frames": self.dropped_frames,
                            "dropped_records": self.dropped_records,
                            "dropped_bytes": self.dropped_bytes,
                            "closed_wall_ns": time.time_ns()})

    def stats(self) -> dict[str, Any]:
        """What was recorded, written and dropped."""
        out: dict[str, Any] = {
            "path": self.path, "frames": self.buffer.total_frames,
            "records": self.buffer.total_records, "record_bytes": self.buffer.total_bytes,
            "chunks_sealed": self.chunks_sealed, "dropped_chunks": self.dropped_chunks,
            "dropped_records": self.dropped_records, "dropped_frames": self.dropped_frames,
            "dropped_bytes": self.dropped_bytes, "buffered_bytes": self.buffer.used_bytes,
            "connections": self.connections, "declared": len(self.declarations),
            "error": self.error or (self._writer.error if self._writer is not None else None)}
        if self._writer is not None:
            out["writer"] = self._writer.stats()
        return out
