"""Recording files: the writer thread, the record parser and the reader (docs/recording.md).

The format (version 1) is specified in docs/recording.md, "File layout"; the constants and
``struct`` layouts below are its one definition in code. The record layout constants
(``HEADER_SIZE``, the kinds, ``LAST_IN_READ``) belong to the compiled buffer
``fastfeed._record`` and are imported from it.

- ``ChunkWriter`` takes sealed chunks (``RecordBuffer.take()``) from the event loop thread
  without blocking and compresses and appends them on one background thread.
- ``iter_records`` / ``split_meta`` parse the records of a decompressed chunk (the
  pure-Python twin of ``fastfeed._record.replay_records``).
- ``Recording`` reads a file, complete or damaged ("Reading a damaged file").
"""

from __future__ import annotations

import bisect
import collections
import errno
import itertools
import json
import mmap
import os
import queue
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import zstandard

from fastfeed._record import DECLARE, HEADER_SIZE

__all__ = [
    "CHUNK_HEADER",
    "CHUNK_MAGIC",
    "FILE_HEADER",
    "FOOTER",
    "FOOTER_MAGIC",
    "INDEX_ENTRY",
    "INDEX_HEAD",
    "INDEX_MAGIC",
    "MAGIC",
    "MAX_CHUNK_BYTES",
    "RECORD_HEADER",
    "U32",
    "VERSION",
    "ChunkInfo",
    "ChunkWriter",
    "Record",
    "Recording",
    "RecordingError",
    "iter_records",
    "split_meta",
]

#: File magic: a high-bit byte, "FFR", CRLF, ^Z, LF (docs/recording.md, "File header").
MAGIC = b"\x89FFR\r\n\x1a\n"
#: The format version this module writes and reads.
VERSION = 1
#: File header before the JSON: magic, u16 version, u16 flags, u32 JSON length.
FILE_HEADER = struct.Struct("<8sHHI")
#: A little-endian u32 (lengths, CRCs).
U32 = struct.Struct("<I")
#: Chunk header magic.
CHUNK_MAGIC = b"FFCK"
#: The 64-byte chunk header: magic, number, first_ns, last_ns, wall_ns, mono_ns, records,
#: frames, raw_len, comp_len, crc32(body), crc32(the 60 bytes before it).
CHUNK_HEADER = struct.Struct("<4sIqqqqIIIIII")
#: Index magic.
INDEX_MAGIC = b"FFIX"
#: Index start: magic, u32 entry count.
INDEX_HEAD = struct.Struct("<4sI")
#: One index entry: u64 offset, i64 first_ns, i64 last_ns, u32 records, u32 frames.
INDEX_ENTRY = struct.Struct("<QqqII")
#: Footer magic (the file's last 8 bytes when it was closed).
FOOTER_MAGIC = b"FFRECEND"
#: The 16-byte footer: u64 index offset, magic.
FOOTER = struct.Struct("<Q8s")
#: A record header (docs/recording.md, "Records"): kind, flags, reserved, conn, t_ns, len.
RECORD_HEADER = struct.Struct("<BBHIqI")
#: A reader refuses a chunk claiming more raw or compressed bytes than this (damage, not data).
MAX_CHUNK_BYTES = 1 << 30

assert CHUNK_HEADER.size == 64 and INDEX_ENTRY.size == 32 and FOOTER.size == 16
assert RECORD_HEADER.size == HEADER_SIZE

_CHUNK_CRC_AT = CHUNK_HEADER.size - 4


class RecordingError(Exception):
    """A recording file that cannot be read as version 1 (or a part of it that cannot).

    ``chunk`` is the chunk number and ``offset`` the byte offset in the file where the
    problem is, when known; the message leads with both ("chunk 7 at byte offset 123456:
    body checksum mismatch").
    """

    def __init__(self, message: str, *, chunk: int | None = None,
                 offset: int | None = None) -> None:
        where = []
        if chunk is not None:
            where.append(f"chunk {chunk}")
        if offset is not None:
            where.append(f"at byte offset {offset}")
        super().__init__(f"{' '.join(where)}: {message}" if where else message)
        self.chunk = chunk
        self.offset = offset


def _json_bytes(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _chunk_header(number: int, first_ns: int, last_ns: int, wall_ns: int, mono_ns: int,
                  records: int, frames: int, raw_len: int, body: bytes) -> bytes:
    head = bytearray(CHUNK_HEADER.pack(CHUNK_MAGIC, number, first_ns, last_ns, wall_ns,
                                       mono_ns, records, frames, raw_len, len(body),
                                       zlib.crc32(body), 0))
    U32.pack_into(head, _CHUNK_CRC_AT, zlib.crc32(head[:_CHUNK_CRC_AT]))
    return bytes(head)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.EIO, "write() wrote nothing")
        view = view[n:]


class ChunkWriter:
    """Appends sealed chunks to a recording file from one background thread.

    Creates (truncates) ``path`` and writes the file header with ``header`` as its JSON at
    once. Only the event loop thread calls ``submit`` and ``close``; the writer thread only
    compresses (zstd ``level``) and writes. At most ``max_pending_chunks`` chunks wait; a
    full queue makes ``submit`` return False (the caller counts the drop). A write error
    stops the writer: ``error`` holds its text and later submits return False.

    ``on_written(raw)``, when given, is called from the writer thread once a chunk's
    records are compressed and written (or failed to be): the caller may reuse their memory
    (``RecordBuffer.recycle``).

    ``_test_gate`` (tests only): a ``threading.Event`` the thread waits for before it takes
    the first chunk, to make a full queue deterministic.
    """

    def __init__(self, path: str | os.PathLike[str], header: dict[str, Any], *,
                 level: int = 3, max_pending_chunks: int = 64,
                 on_written: Callable[[Any], Any] | None = None,
                 _test_gate: threading.Event | None = None) -> None:
        if max_pending_chunks < 1:
            raise ValueError(f"max_pending_chunks must be at least 1, got {max_pending_chunks}")
        self.path = os.fspath(path)
        self.level = level
        #: Text of the write error that stopped the writer, or None.
        self.error: str | None = None
        self.on_written = on_written
        self._cctx = zstandard.ZstdCompressor(level=level, write_content_size=True,
                                              write_checksum=True)
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue(max_pending_chunks)
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        self._gate = _test_gate
        # the index entries, packed as written (32 bytes a chunk: a day of chunks is small)
        self._entries = bytearray()
        self._chunks = 0
        self._records = 0
        self._frames = 0
        self.raw_bytes = 0
        self.write_seconds = 0.0
        self.compress_seconds = 0.0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        hjson = _json_bytes(header)
        try:
            _write_all(self._fd, FILE_HEADER.pack(MAGIC, VERSION, 0, len(hjson)) + hjson
                       + U32.pack(zlib.crc32(hjson)))
        except OSError:
            os.close(self._fd)
            raise
        self._offset = FILE_HEADER.size + len(hjson) + 4
        self._thread = threading.Thread(target=self._run, name="fastfeed-recording-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, raw: bytes | memoryview, first_ns: int, last_ns: int, records: int, frames: int, *,
               wall_ns: int, mono_ns: int) -> bool:
        """Queue one sealed chunk (``RecordBuffer.take()`` plus the wall/monotonic clock
        pair read when it was sealed); never blocks. False: not queued (queue full, writer
        failed or closed)."""
        if self.error is not None or self._closed:
            return False
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait((raw, first_ns, last_ns, records, frames, wall_ns, mono_ns))
        except queue.Full:
            with self._idle:
                self._pending -= 1
            return False
        return True

    def _run(self) -> None:
        if self._gate is not None:
            self._gate.wait()
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                if self.error is None:
                    self._write_chunk(*item)
            except OSError as exc:
                self.error = f"writing {self.path} at byte offset {self._offset}: {exc}"
            except Exception as exc:    # never die silently: the error is reported in stats
                self.error = f"writing {self.path}: {type(exc).__name__}: {exc}"
            finally:
                if self.on_written is not None:
                    self.on_written(item[0])
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _write_chunk(self, raw: bytes | memoryview, first_ns: int, last_ns: int, records: int, frames: int,
                     wall_ns: int, mono_ns: int) -> None:
        t0 = time.perf_counter()
        body = self._cctx.compress(raw)
        head = _chunk_header(self._chunks, first_ns, last_ns, wall_ns, mono_ns, records,
                             frames, len(raw), body)
        t1 = time.perf_counter()
        self.compress_seconds += t1 - t0
        try:
            _write_all(self._fd, head + body)
        finally:
            self.write_seconds += time.perf_counter() - t1
        self._entries += INDEX_ENTRY.pack(self._offset, first_ns, last_ns, records, frames)
        self._chunks += 1
        self._offset += len(head) + len(body)
        self._records += records
        self._frames += frames
        self.raw_bytes += len(raw)

    def flush_wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted chunk is written (or failed); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, index_extra: dict[str, Any] | None = None) -> None:
        """Write the queued chunks, then the index and footer; fsync and close the file.

        The index JSON is ``index_extra`` (``books``, ``dropped_*``: the recorder's facts)
        plus ``records`` and ``frames`` (what the file holds) and ``closed_wall_ns`` unless
        ``index_extra`` gives them. After a write error no index is written (the file reads
        like a crashed one). Idempotent; errors end up in ``error``, not raised.
        """
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        try:
            if self.error is None:
                meta = {"records": self._records, "frames": self._frames,
                        "closed_wall_ns": time.time_ns(), **(index_extra or {})}
                mjson = _json_bytes(meta)
                index = bytearray(INDEX_HEAD.pack(INDEX_MAGIC, self._chunks))
                index += self._entries
                index += U32.pack(len(mjson)) + mjson
                index += U32.pack(zlib.crc32(index))
                index += FOOTER.pack(self._offset, FOOTER_MAGIC)
                _write_all(self._fd, bytes(index))
                self._offset += len(index)
                os.fsync(self._fd)
        except OSError as exc:
            self.error = f"writing the index of {self.path} at byte offset {self._offset}: {exc}"
        finally:
            os.close(self._fd)

    @property
    def closed(self) -> bool:
        """True once ``close`` was called."""
        return self._closed

    def stats(self) -> dict[str, Any]:
        """Counters: chunks_written, bytes_written (the file's size so far), raw_bytes
        (uncompressed record bytes written), pending (queued chunks), error, write_seconds
        and compress_seconds (time the thread spent in each)."""
        return {"chunks_written": self._chunks, "bytes_written": self._offset,
                "raw_bytes": self.raw_bytes, "pending": self._pending, "error": self.error,
                "write_seconds": self.write_seconds, "compress_seconds": self.compress_seconds}


class Record(NamedTuple):
    """One record of a decompressed chunk (docs/recording.md, "Records")."""

    kind: int
    flags: int
    conn: int
    t_ns: int
    payload: bytes


def iter_records(raw: bytes, offset: int = 0) -> Iterator[Record]:
    """The records of one decompressed chunk from byte ``offset``, in order (the
    pure-Python twin of ``fastfeed._record.replay_records``). A record running past the
    end raises ``ValueError`` naming its byte offset in the chunk."""
    size = len(raw)
    pos = offset
    unpack = RECORD_HEADER.unpack_from
    while pos < size:
        if size - pos < HEADER_SIZE:
            raise ValueError(f"record at byte {pos} of the chunk: header cut off "
                             f"({size - pos} of {HEADER_SIZE} bytes)")
        kind, flags, _reserved, conn, t_ns, length = unpack(raw, pos)
        start = pos + HEADER_SIZE
        if length > size - start:
            raise ValueError(f"record at byte {pos} of the chunk: {length} payload bytes "
                             f"claimed, {size - start} left")
        pos = start + length
        yield Record(kind, flags, conn, t_ns, raw[start:pos])


def split_meta(payload: bytes) -> tuple[dict[str, Any], bytes]:
    """Split a DECLARE, OP or EVENT payload into its meta JSON (a dict) and its body.
    ``ValueError`` when the payload is not u32 ``m``, ``m`` bytes of a JSON object, body."""
    if len(payload) < 4:
        raise ValueError(f"meta payload of {len(payload)} bytes: no u32 meta length")
    (m,) = U32.unpack_from(payload, 0)
    if m > len(payload) - 4:
        raise ValueError(f"meta length {m} exceeds the {len(payload) - 4} payload bytes left")
    try:
        meta = json.loads(payload[4:4 + m])
    except (ValueError, RecursionError) as exc:   # also UnicodeDecodeError
        raise ValueError(f"meta is not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"meta is a JSON {type(meta).__name__}, not an object")
    return meta, payload[4 + m:]


@dataclass(frozen=True)
class ChunkInfo:
    """A chunk whose header is intact: its number, the byte offset of its header, the
    header's fields (docs/recording.md, "Chunk")."""

    number: int
    offset: int
    first_ns: int
    last_ns: int
    wall_ns: int
    mono_ns: int
    records: int
    frames: int
    raw_len: int
    comp_len: int


def _hexbytes(b: bytes) -> str:
    return " ".join(f"{x:02x}" for x in b) or "nothing"


class Recording:
    """A recording file opened for reading (read-only mmap); a context manager.

    The constructor raises ``RecordingError`` for a file that is not a readable version 1
    recording (magic, version, damaged file header). Anything wrong after the header is
    collected in ``problems`` (``RecordingError`` objects, each naming chunk and byte
    offset) and the readable chunks are still listed in ``chunks`` and read
    (docs/recording.md, "Reading a damaged file").
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        #: Problems found so far (more may be added while chunks are read).
        self.problems: list[RecordingError] = []
        self._seen: set[str] = set()
        #: Chunks with an intact header and all their body bytes in the file, in file order.
        self.chunks: list[ChunkInfo] = []
        #: The index JSON when the file was closed properly (``complete``), else None.
        self.index_extra: dict[str, Any] | None = None
        #: True when the file was closed properly: a valid footer and index (whose offsets
        #: agree with the chunk headers that are intact) were found.
        self.complete = False
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self._mm: mmap.mmap | bytes = (mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                                           if size else b"")
        try:
            self.header: dict[str, Any] = self._read_header()
            if not self._read_index():
                self._scan()
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------------

    def _problem(self, err: RecordingError) -> None:
        if str(err) not in self._seen:
            self._seen.add(str(err))
            self.problems.append(err)

    def _read_header(self) -> dict[str, Any]:
        mm = self._mm
        size = len(mm)
        if size < FILE_HEADER.size or mm[:8] != MAGIC:
            raise RecordingError(f"{self.path} is not a fastfeed recording: expected magic "
                                 f"{_hexbytes(MAGIC)}, found {_hexbytes(mm[:8])}", offset=0)
        _, version, _flags, n = FILE_HEADER.unpack_from(mm, 0)
        self.version: int = version
        if version != VERSION:
            raise RecordingError(f"{self.path}: unsupported recording format version {version} "
                                 f"(this fastfeed reads version {VERSION})", offset=8)
        end = FILE_HEADER.size + n
        if end + 4 > size:
            raise RecordingError(f"{self.path}: damaged file header: {n} header JSON bytes "
                                 f"claimed, the file has {size} bytes", offset=12)
        hjson = mm[FILE_HEADER.size:end]
        (stored,) = U32.unpack_from(mm, end)
        if zlib.crc32(hjson) != stored:
            raise RecordingError(f"{self.path}: damaged file header: JSON checksum mismatch "
                                 f"(stored {stored:#010x}, computed {zlib.crc32(hjson):#010x})",
                                 offset=end)
        try:
            header = json.loads(hjson)
        except (ValueError, RecursionError) as exc:
            raise RecordingError(f"{self.path}: damaged file header: JSON does not parse "
                                 f"({exc})", offset=FILE_HEADER.size) from None
        if not isinstance(header, dict):
            raise RecordingError(f"{self.path}: damaged file header: JSON is a "
                                 f"{type(header).__name__}, expected an object",
                                 offset=FILE_HEADER.size)
        self._data_start = end + 4
        self._data_end = size
        return header

    def _intact_header(self, pos: int) -> bool:
        """A chunk magic and a valid header checksum at ``pos`` (the resync test)."""
        mm = self._mm
        return (len(mm) - pos >= CHUNK_HEADER.size and mm[pos:pos + 4] == CHUNK_MAGIC
                and zlib.crc32(mm[pos:pos + _CHUNK_CRC_AT])
                == U32.unpack_from(mm, pos + _CHUNK_CRC_AT)[0])

    def _chunk_at(self, pos: int, end: int, number: int) -> ChunkInfo | RecordingError:
        """The chunk whose header is at ``pos`` (body before ``end``), or what is wrong
        (naming ``number``, the chunk expected there, until its header is trusted)."""
        mm = self._mm
        if end - pos < CHUNK_HEADER.size:
            return RecordingError(f"truncated: the file ends {end - pos} bytes into the "
                                  f"{CHUNK_HEADER.size}-byte chunk header",
                                  chunk=number, offset=pos)
        fields = CHUNK_HEADER.unpack_from(mm, pos)
        if fields[0] != CHUNK_MAGIC:
            return RecordingError(f"damaged chunk header: expected magic {CHUNK_MAGIC!r}, "
                                  f"found {bytes(fields[0])!r}", chunk=number, offset=pos)
        crc = zlib.crc32(mm[pos:pos + _CHUNK_CRC_AT])
        if crc != fields[11]:
            return RecordingError(f"damaged chunk header: checksum mismatch (stored "
                                  f"{fields[11]:#010x}, computed {crc:#010x})",
                                  chunk=number, offset=pos)
        (_, number, first_ns, last_ns, wall_ns, mono_ns, records, frames, raw_len, comp_len,
         _, _) = fields
        if raw_len > MAX_CHUNK_BYTES or comp_len > MAX_CHUNK_BYTES:
            return RecordingError(f"chunk claims {raw_len} raw / {comp_len} compressed bytes "
                                  f"(more than {MAX_CHUNK_BYTES})", chunk=number, offset=pos)
        body_end = pos + CHUNK_HEADER.size + comp_len
        if body_end > end:
            return RecordingError(f"truncated: the file ends {end - pos - CHUNK_HEADER.size} "
                                  f"bytes into the {comp_len}-byte chunk body",
                                  chunk=number, offset=pos)
        return ChunkInfo(number, pos, first_ns, last_ns, wall_ns, mono_ns, records, frames,
                         raw_len, comp_len)

    def _read_index(self) -> bool:
        """Take ``chunks`` from the index when the footer, the index and the chunk headers
        it points at all agree; otherwise record why (if there was an index) and say no."""
        mm = self._mm
        size = len(mm)
        start = self._data_start
        if size - start < FOOTER.size or mm[size - 8:] != FOOTER_MAGIC:
            self._problem(RecordingError("no footer: the recording was not closed (crash, or "
                                         "still being written); chunks found by scanning",
                                         offset=size))
            return False
        ix, _ = FOOTER.unpack_from(mm, size - FOOTER.size)
        ix_end = size - FOOTER.size

        def bad(why: str, at: int = ix, chunk: int | None = None) -> bool:
            # the footer's offset is not checksummed: scan up to the footer, not to it
            self._problem(RecordingError(f"bad index ({why}); chunks found by scanning",
                                         chunk=chunk, offset=at))
            self._data_end = ix_end
            return False

        if not start <= ix <= ix_end - INDEX_HEAD.size - 8:
            return bad(f"footer points at byte {ix}, outside the file's data", size - 16)
        magic, n = INDEX_HEAD.unpack_from(mm, ix)
        if magic != INDEX_MAGIC:
            return bad(f"expected magic {INDEX_MAGIC!r}, found {bytes(magic)!r}")
        pos = ix + INDEX_HEAD.size + n * INDEX_ENTRY.size
        if pos + 8 > ix_end:
            return bad(f"{n} entries claimed, they run past the footer")
        (m,) = U32.unpack_from(mm, pos)
        if pos + 4 + m + 4 != ix_end:
            return bad(f"{m} JSON bytes claimed, the index holds {ix_end - pos - 8}")
        (stored,) = U32.unpack_from(mm, ix_end - 4)
        if zlib.crc32(mm[ix:ix_end - 4]) != stored:
            return bad("checksum mismatch")
        try:
            extra = json.loads(mm[pos + 4:pos + 4 + m])
        except (ValueError, RecursionError) as exc:
            return bad(f"JSON does not parse: {exc}")
        if not isinstance(extra, dict):
            return bad(f"JSON is a {type(extra).__name__}, expected an object")
        chunks: list[ChunkInfo] = []
        expect = start
        for i in range(n):
            entry = INDEX_ENTRY.unpack_from(mm, ix + INDEX_HEAD.size + i * INDEX_ENTRY.size)
            if entry[0] != expect:
                return bad(f"entry {i} points at byte {entry[0]}, the chunk before ends at "
                           f"{expect}", chunk=i)
            info = self._chunk_at(expect, ix, i)
            if isinstance(info, RecordingError):
                # a damaged chunk under an intact index: the file was closed properly; the
                # scan lists the other chunks and reports this one
                self._data_end = ix
                self.index_extra = extra
                self.complete = True
                return False
            if (info.number, info.first_ns, info.last_ns, info.records, info.frames) != (
                    i, *entry[1:]):
                return bad(f"entry {i} disagrees with the chunk header there", chunk=i)
            chunks.append(info)
            expect = info.offset + CHUNK_HEADER.size + info.comp_len
        if expect != ix:
            return bad(f"the chunks end at byte {expect}, the index starts at {ix}")
        self.chunks = chunks
        self.index_extra = extra
        self.complete = True
        return True

    def _scan(self) -> None:
        """List the chunks by walking their headers; resynchronise past damage by searching
        for the next ``FFCK`` whose header checksum is valid."""
        mm = self._mm
        pos = self._data_start
        end = self._data_end
        while pos < end:
            if mm[pos:pos + 4] == INDEX_MAGIC:
                break       # the (damaged or cut) index: reported by _read_index
            info = self._chunk_at(pos, end, self.chunks[-1].number + 1 if self.chunks else 0)
            if isinstance(info, ChunkInfo):
                self.chunks.append(info)
                pos = info.offset + CHUNK_HEADER.size + info.comp_len
                continue
            self._problem(info)
            if end - pos < CHUNK_HEADER.size or self._intact_header(pos):
                break       # cut off, or an intact header whose body is cut off (or absurd)
            nxt = mm.find(CHUNK_MAGIC, pos + 1, end)
            while nxt >= 0 and not self._intact_header(nxt):
                nxt = mm.find(CHUNK_MAGIC, nxt + 1, end)
            if nxt < 0:
                break
            pos = nxt

    # -- reading ---------------------------------------------------------------------------

    def read_chunk(self, info: ChunkInfo) -> bytes:
        """The decompressed records of a chunk, checksums (CRC-32 of the compressed bytes,
        zstd's content checksum) and length verified; ``RecordingError`` otherwise."""
        mm = self._mm
        start = info.offset + CHUNK_HEADER.size
        body = mm[start:start + info.comp_len]

        def fail(why: str) -> RecordingError:
            return RecordingError(why, chunk=info.number, offset=info.offset)

        if len(body) != info.comp_len:
            raise fail(f"truncated: {len(body)} of {info.comp_len} body bytes in the file")
        stored = CHUNK_HEADER.unpack_from(mm, info.offset)[10]
        if zlib.crc32(body) != stored:
            raise fail("body checksum mismatch")
        try:
            content = zstandard.frame_content_size(body)
            if content != info.raw_len:
                raise fail(f"zstd frame holds {content} bytes, the header says {info.raw_len}")
            dobj = zstandard.ZstdDecompressor().decompressobj()
            raw = dobj.decompress(body)
            if not dobj.eof or dobj.unused_data:
                raise fail("the body is not exactly one zstd frame")
        except zstandard.ZstdError as exc:
            raise fail(f"zstd frame does not decode: {exc}") from None
        except MemoryError:
            raise fail(f"no memory to decompress {info.raw_len} bytes") from None
        if len(raw) != info.raw_len:
            raise fail(f"decompressed to {len(raw)} bytes, the header says {info.raw_len}")
        return raw

    def chunk_raws(self, prefetch: int = 0) -> Iterator[tuple[ChunkInfo, bytes]]:
        """Every readable chunk in order with its decompressed records; a chunk that does
        not read is added to ``problems`` and skipped. ``prefetch=N``: one background
        thread reads and decompresses up to N chunks ahead (zstd and CRC-32 release the
        GIL, so a replay walks one chunk while the next is decompressed)."""
        if prefetch <= 0:
            for info in self.chunks:
                try:
                    raw = self.read_chunk(info)
                except RecordingError as exc:
                    self._problem(exc)
                    continue
                yield info, raw
            return
        upcoming = iter(self.chunks)
        with ThreadPoolExecutor(1, thread_name_prefix="fastfeed-recording-read") as pool:
            ahead: collections.deque[tuple[ChunkInfo, Future[bytes]]] = collections.deque(
                (info, pool.submit(self.read_chunk, info))
                for info in itertools.islice(upcoming, prefetch))
            while ahead:
                info, future = ahead.popleft()
                following = next(upcoming, None)
                if following is not None:
                    ahead.append((following, pool.submit(self.read_chunk, following)))
                try:
                    raw = future.result()
                except RecordingError as exc:
                    self._problem(exc)
                    continue
                yield info, raw

    def records(self, start_ns: int | None = None,
                end_ns: int | None = None) -> Iterator[tuple[ChunkInfo, Record]]:
        """The records of every readable chunk, in order, with ``start_ns <= t_ns <=
        end_ns`` when given. A chunk whose records do not parse yields those before the
        damage and adds a problem."""
        first = 0 if start_ns is None else self.seek(start_ns)
        for info in self.chunks[first:]:
            if end_ns is not None and info.first_ns > end_ns:
                break
            try:
                raw = self.read_chunk(info)
            except RecordingError as exc:
                self._problem(exc)
                continue
            try:
                for rec in iter_records(raw):
                    if start_ns is not None and rec.t_ns < start_ns:
                        continue
                    if end_ns is not None and rec.t_ns > end_ns:
                        continue
                    yield info, rec
            except ValueError as exc:
                self._problem(RecordingError(f"records do not parse: {exc}",
                                             chunk=info.number, offset=info.offset))

    def seek(self, t_ns: int) -> int:
        """Index into ``chunks`` of the first chunk whose ``last_ns >= t_ns``
        (``len(chunks)`` when none)."""
        return bisect.bisect_left(self.chunks, t_ns, key=lambda c: c.last_ns)

    @staticmethod
    def wall_ns(info: ChunkInfo, t_ns: int) -> int:
        """Wall-clock time (ns since the epoch) of monotonic time ``t_ns`` in chunk ``info``."""
        return t_ns + info.wall_ns - info.mono_ns

    def declarations(self) -> list[dict[str, Any]]:
        """Every book and stream declared: the index's list when the file is complete,
        else the header's ``books`` then each DECLARE record met (first declaration of an
        ``id`` wins)."""
        if self.complete and self.index_extra is not None:
            books = self.index_extra.get("books")
            if isinstance(books, list):
                return list(books)
        out: list[dict[str, Any]] = []
        ids: set[Any] = set()

        def add(decl: Any) -> None:
            if isinstance(decl, dict) and decl.get("id") not in ids:
                ids.add(decl.get("id"))
                out.append(decl)

        header_books = self.header.get("books")
        for decl in header_books if isinstance(header_books, list) else []:
            add(decl)
        for info, rec in self.records():
            if rec.kind == DECLARE:
                try:
                    add(split_meta(rec.payload)[0])
                except ValueError as exc:
                    self._problem(RecordingError(f"DECLARE record at t_ns {rec.t_ns}: {exc}",
                                                 chunk=info.number, offset=info.offset))
        return out

    def close(self) -> None:
        """Release the file mapping (the object is unusable afterwards)."""
        mm = self._mm
        if isinstance(mm, mmap.mmap):
            mm.close()
        self._mm = b""

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
