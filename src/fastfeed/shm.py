"""Shared-memory books and trades: one publisher process per host, any number of readers.

The publisher (``Engine(shm="NAME")``) creates ``/dev/shm/NAME`` and copies the top
levels of each book into it after every applied message and state change, and the
newest trades of each trade stream after every message that carried some, from the hot
path (``fastfeed._shm``). Readers (:class:`Reader`) map it read-only and take consistent
copies through a per-book seqlock: no socket, no lock, nothing the publisher waits on.
Several publishers (the workers of ``fastfeed run --workers N --shm NAME``) share one
name through a *segment directory* (:class:`SegmentDirectory`): ``/dev/shm/NAME`` then
lists their segments, and a :class:`Reader` of ``NAME`` reads every book of every one.
Layout, protocol and lifecycle: ``docs/shm.md``.

This module imports neither the engine nor uvloop (readers stay light).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import re
import stat
import struct
import time
from typing import Any, cast

import numpy.typing as npt

from fastfeed._parse import format_decimal_py
from fastfeed._shm import (
    FLAG_CLOSED,
    SHM_TRADE_DTYPE,
    TRADES,
    Market,
    NotASegment,
    SegmentFull,
    SegmentView,
    SegmentWriter,
    SlotBusy,
    Snapshot,
    segment_size,
)

__all__ = [
    "DEFAULT_CAPACITY", "DEFAULT_DEPTH", "GONE_STATUSES", "SHM_TRADE_DTYPE", "TRADES",
    "BookNotPublished", "BookRestarting", "Market", "NotASegment", "Publisher", "Reader",
    "SegmentDirectory", "SegmentFull", "SegmentInUse", "SlotBusy", "Snapshot",
    "best_levels", "segment_path", "summary", "trusted_state",
]

SHM_DIR = "/dev/shm"
DEFAULT_CAPACITY = 1024
DEFAULT_DEPTH = 20
#: Seconds between heartbeats; a reader calls a publisher dead after STALE_AFTER of silence.
HEARTBEAT_INTERVAL = 0.25
STALE_AFTER = 3.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}\Z")
#: A segment directory (docs/shm.md, "Segment directory"): its magic, the bytes
#: ``FSHMDIR1``; header (magic, version, header size, entry size, members, generation,
#: pid, created_ns, flags) and each entry (a member's segment name, NUL-padded, and its
#: worker index), little-endian.
DIR_MAGIC = b"FSHMDIR1"
DIR_VERSION = 1
_DIR_HEADER = struct.Struct("<8sIIIIQqqI12x")
_DIR_ENTRY = struct.Struct("<240sI12x")
_DIR_FLAGS_AT = 48
#: The health statuses of a segment whose publisher is gone (pid), silent (heartbeat) or
#: replaced by a successor: its books' last states are not to be trusted, and a reader
#: reports them ``stale`` (docs/shm.md, "Telling live from dead").
GONE_STATUSES = frozenset({"dead", "stale", "replaced"})
#: A directory member whose heartbeat is this old (4 missed beats) is checked for a
#: replacement on the next read of one of its books.
MEMBER_SILENT_NS = 1_000_000_000


class SegmentInUse(FileExistsError):
    """The name is taken: by a live publisher, or by a file that is not a fastfeed segment."""


class BookNotPublished(KeyError):
    """A :class:`Reader` lookup of a book no segment it reads holds (yet). A ``KeyError``
    (``except KeyError`` keeps working) whose ``str()`` is its message."""

    def __str__(self) -> str:
        return str(self.args[0])


class BookRestarting(BookNotPublished):
    """The book was published in ``segment``, whose publisher has since been replaced (a
    restarted worker, or the publisher a :meth:`Reader.reopen` found), and the new one has
    not published it yet: a moment after a restart, until the restarted engine attaches the
    book (which then reads ``syncing`` until its snapshot). Retry (docs/shm.md, "Segment
    directory")."""

    def __init__(self, message: str, segment: str) -> None:
        super().__init__(message)
        self.segment = segment


def segment_path(name: str) -> str:
    """``/dev/shm/<name>``; ``ValueError`` for a name that is not 1..201 characters of
    ``[A-Za-z0-9._-]`` starting with a letter or digit (no slashes, no leading dot)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"bad shared-memory name {name!r}: use 1-201 characters of "
                         f"[A-Za-z0-9._-], starting with a letter or digit")
    if not os.path.isdir(SHM_DIR):
        raise OSError(errno.ENOENT, f"{SHM_DIR} does not exist (POSIX shared memory "
                      f"via /dev/shm is Linux-only)")
    return os.path.join(SHM_DIR, name)


def _create(path: str, size: int) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)     # held for the publisher's life
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, size)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    return fd


def _take_over(path: str) -> None:
    """The name exists: remove it if it is a fastfeed segment whose publisher is gone.

    The publisher holds an exclusive ``flock`` on its segment for as long as it lives (the
    kernel drops it when the process dies, however it dies), so a lock we can take means
    a dead publisher; no pid guessing. Anything else raises ``SegmentInUse``.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except PermissionError:
        raise SegmentInUse(f"{path} exists and belongs to someone else") from None
    try:
        st = os.fstat(fd)
        head = os.pread(fd, _DIR_HEADER.size, 0)
        if head[:8] == DIR_MAGIC and len(head) == _DIR_HEADER.size:
            pid = _DIR_HEADER.unpack(head)[6]
        else:
            try:
                view = SegmentView(fd, st.st_size)
            except NotASegment as exc:
                raise SegmentInUse(f"{path} exists and is not a fastfeed segment ({exc}); "
                                   f"remove it by hand if it is garbage") from None
            pid = view.pid
            view.close()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SegmentInUse(f"{path} is in use by a live publisher (pid {pid})") from None
        # Dead publisher, and we hold its lock: nobody else can be replacing it now.
        if os.path.exists(path) and os.stat(path).st_ino == st.st_ino:
            os.unlink(path)
    finally:
        os.close(fd)


def _create_or_take_over(path: str, size: int) -> int:
    """A new file at ``path`` (a dead publisher's left-over is replaced), locked."""
    try:
        return _create(path, size)
    except FileExistsError:
        _take_over(path)
        return _create(path, size)      # FileExistsError again: someone raced us


def _unlink_if(path: str, ino: int) -> None:
    """Unlink ``path`` if it still names inode ``ino`` (not a successor's file)."""
    try:
        if os.stat(path).st_ino == ino:
            os.unlink(path)
    except FileNotFoundError:
        pass


class SegmentDirectory:
    """One name for the segments of several publishers (the workers of ``fastfeed run
    --workers N --shm NAME``): ``/dev/shm/NAME`` lists the member segments, and a
    :class:`Reader` of ``NAME`` reads the books of all of them (docs/shm.md, "Segment
    directory").

    ``SegmentDirectory(name, members)`` writes the directory once (``members``: segment
    names, or ``(name, index)`` pairs); the members are created, and re-created after a
    crash, by their own publishers under those names. :meth:`close` marks it closed,
    unlinks it and removes members left by dead publishers. Same creation and take-over
    rules as a :class:`Publisher`'s segment.
    """

    def __init__(self, name: str, members: list[str] | list[tuple[str, int]]) -> None:
        self.name = name
        self.path = segment_path(name)
        pairs = [(m, i) if isinstance(m, str) else (str(m[0]), int(m[1]))
                 for i, m in enumerate(members)]
        for member, _ in pairs:
            segment_path(member)
            if member == name:
                raise ValueError(f"segment directory {name!r} cannot list itself")
        self.members = [m for m, _ in pairs]
        self.generation = int.from_bytes(os.urandom(8), "little") | 1
        body = b"".join(_DIR_ENTRY.pack(m.encode(), i) for m, i in pairs)
        size = _DIR_HEADER.size + len(body)
        fd = _create_or_take_over(self.path, size)
        self._fd, self._ino = fd, os.fstat(fd).st_ino
        os.pwrite(fd, _DIR_HEADER.pack(b"\0" * 8, DIR_VERSION, _DIR_HEADER.size,
                                       _DIR_ENTRY.size, len(pairs), self.generation,
                                       os.getpid(), time.time_ns(), 0) + body, 0)
        os.pwrite(fd, DIR_MAGIC, 0)       # last: a reader seeing it sees all the rest
        self.closed = False

    def close(self) -> None:
        """Mark closed, unlink, and remove member segments whose publisher is gone
        (a live one is left alone). Idempotent."""
        if self.closed:
            return
        self.closed = True
        os.pwrite(self._fd, struct.pack("<I", FLAG_CLOSED), _DIR_FLAGS_AT)
        _unlink_if(self.path, self._ino)
        os.close(self._fd)
        for member in self.members:
            try:
                _take_over(segment_path(member))
            except SegmentInUse:
                pass


def _read_directory(fd: int, size: int) -> tuple[list[str], dict[str, int]] | None:
    """The members and header of a segment directory, or None if ``fd`` is not one."""
    head = os.pread(fd, _DIR_HEADER.size, 0)
    if len(head) < _DIR_HEADER.size or head[:8] != DIR_MAGIC:
        return None
    _, version, hsize, esize, n, gen, pid, created, flags = _DIR_HEADER.unpack(head)
    if version != DIR_VERSION or hsize != _DIR_HEADER.size or esize != _DIR_ENTRY.size \
            or size < hsize + n * esize:
        raise NotASegment(f"segment directory layout version {version} with sizes "
                          f"{hsize}/{esize} for {n} members in {size} bytes: not readable "
                          f"by this version")
    body = os.pread(fd, n * esize, hsize)
    members = [_DIR_ENTRY.unpack_from(body, i * esize)[0].rstrip(b"\0").decode()
               for i in range(n)]
    return members, {"generation": gen, "pid": pid, "created_ns": created, "flags": flags}


class Publisher:
    """The writing side: creates the segment and attaches books to it.

    ``Publisher(name, capacity=1024, depth=20)`` creates ``/dev/shm/<name>`` (mode 0600,
    ``O_CREAT | O_EXCL``); a segment left by a dead publisher is replaced, one held by a
    live publisher or a foreign file raises ``SegmentInUse``. ``capacity`` books fit; the
    next :meth:`attach` of a new book raises ``SegmentFull``. :meth:`close` marks the
    segment closed and unlinks it.
    """

    def __init__(self, name: str, capacity: int = DEFAULT_CAPACITY,
                 depth: int = DEFAULT_DEPTH) -> None:
        self.name = name
        self.path = segment_path(name)
        fd = _create_or_take_over(self.path, segment_size(capacity, depth))
        self._fd = fd
        self._ino = os.fstat(fd).st_ino
        generation = int.from_bytes(os.urandom(8), "little") | 1
        try:
            self.writer = SegmentWriter(fd, capacity, depth, generation, os.getpid())
        except BaseException:
            self._unlink()
            os.close(fd)
            raise
        self.generation = generation
        self._task: asyncio.Task[None] | None = None

    def attach(self, book: Any) -> int:
        """Publish ``book`` (a ``BookCore``: ``LiveBook``, ``BookFeed``); its slot index."""
        return self.writer.attach(book)

    def detach(self, book: Any) -> None:
        """Stop publishing ``book``."""
        self.writer.detach(book)

    def attach_trades(self, stream: Any) -> int:
        """Publish a trade stream (a ``TradeCore``: ``LiveTrades``, ``TradeFeed``) into
        its instrument's market block: the newest ``TRADES`` trades; its slot index."""
        return self.writer.attach_trades(stream)

    def attach_bbo(self, stream: Any) -> int:
        """Publish a best bid/offer stream (a ``BboCore``: ``LiveBbo``, ``BboFeed``) into
        its instrument's market block; its slot index."""
        return self.writer.attach_bbo(stream)

    def detach_trades(self, stream: Any) -> None:
        """Stop publishing a trade stream."""
        self.writer.detach_trades(stream)

    def heartbeat(self) -> None:
        """Tell readers the publisher is alive (the engine does it every 0.25 s)."""
        if not self.writer.closed:
            self.writer.heartbeat()

    def start_heartbeat(self, interval: float = HEARTBEAT_INTERVAL) -> None:
        """Refresh the heartbeat every ``interval`` seconds from the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._beat(interval), name="fastfeed:shm-heartbeat")

    async def _beat(self, interval: float) -> None:
        while True:
            self.heartbeat()
            await asyncio.sleep(interval)

    def _unlink(self) -> None:
        _unlink_if(self.path, self._ino)

    def close(self) -> None:
        """Mark closed, unmap and unlink (books stop publishing first). Idempotent."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.writer.closed:
            return
        self.writer.close()
        self._unlink()
        os.close(self._fd)


def _open_readonly(path: str, name: str) -> int:
    """A read-only descriptor of the segment (or directory) ``name`` at ``path``; a
    missing one is a ``FileNotFoundError`` that says so."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileNotFoundError(f"no shared-memory segment {name!r} "
                                f"({path}): is the publisher running?") from None


def _map(path: str, name: str) -> tuple[SegmentView, int]:
    """Map the segment at ``path`` read-only: the view and the file's inode."""
    fd = _open_readonly(path, name)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotASegment(f"{path} is not a regular file")
        view = None
        for _ in range(50):     # a publisher may be between ftruncate and the magic
            try:
                view = SegmentView(fd, st.st_size)
                break
            except NotASegment:
                time.sleep(0.01)
                st = os.fstat(fd)
        if view is None:
            view = SegmentView(fd, st.st_size)
    finally:
        os.close(fd)            # the mapping outlives the descriptor
    return view, st.st_ino


class _Member:
    """One mapped segment of a :class:`Reader` and the books seen in its directory."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = segment_path(name)
        self.view: SegmentView | None = None
        self.ino = 0
        self.slots: dict[tuple[str, str], int] = {}
        self.seen = 0

    def open(self) -> None:
        view, ino = _map(self.path, self.name)
        self.close()
        self.view, self.ino = view, ino
        self.slots, self.seen = {}, 0

    def refresh(self) -> list[tuple[str, str]]:
        """New directory entries since the last call; their keys."""
        view = self.view
        new: list[tuple[str, str]] = []
        if view is not None and view.n_books != self.seen:
            for venue, symbol, slot in view.entries(self.seen):
                self.slots[(venue, symbol)] = slot
                self.seen += 1
                new.append((venue, symbol))
        return new

    def replaced(self) -> bool:
        return _replaced(self.path, self.ino)

    def close(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None


class Reader:
    """Read-only view of a running publisher's books, or of every member of a segment
    directory (:class:`SegmentDirectory`: the workers of ``fastfeed run --workers N``).

    ``Reader("NAME")`` maps ``/dev/shm/NAME`` read-only (``O_RDONLY`` + ``PROT_READ``).
    :meth:`book` returns a consistent :class:`Snapshot` (never torn); :meth:`wait` blocks
    for the next update; :meth:`health` tells a live publisher from a dead, closed or
    replaced one (then :meth:`reopen`).

    When ``NAME`` is a segment directory, the reader maps each member segment and finds
    a book in whichever holds it. A member not created yet is looked for again on every
    :meth:`books` / :meth:`health` and on a lookup of an unknown book; a member replaced
    by a restarted publisher is remapped then, and on a read of one of its books once it is
    closed or its heartbeat has been silent for ``MEMBER_SILENT_NS`` (docs/shm.md,
    "Segment directory").

    A lookup of a book no segment holds raises :class:`BookNotPublished`; of a book a
    replaced publisher had and its successor has not published yet,
    :class:`BookRestarting` (:meth:`restarting` lists those books).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = segment_path(name)
        self._members: list[_Member] = []
        self._where: dict[tuple[str, str], _Member] = {}
        # books a replaced publisher had, not yet published by its successor: their segment
        self._gone: dict[tuple[str, str], str] = {}
        self._dir: dict[str, int] | None = None
        self._dir_fd = -1
        self._ino = 0
        self._open()

    def _open(self) -> None:
        fd = _open_readonly(self.path, self.name)
        try:
            st = os.fstat(fd)
            found = _read_directory(fd, st.st_size) if stat.S_ISREG(st.st_mode) else None
            if found is None:
                member = _Member(self.name)
                member.open()
                members, info = [member], None
            else:
                members, info = [_Member(m) for m in found[0]], found[1]
        except BaseException:
            os.close(fd)
            raise
        self.close()
        if info is None:
            os.close(fd)
        else:
            self._dir_fd = fd           # kept: the directory's flags outlive its name
        gone = {**self._gone, **{k: m.name for k, m in self._where.items()}}
        self._members, self._dir, self._ino = members, info, st.st_ino
        self._where, self._gone = {}, gone
        self._refresh()

    def reopen(self) -> None:
        """Map the segment now at the path (after a publisher restart)."""
        self._open()

    @property
    def is_directory(self) -> bool:
        """True when ``NAME`` is a segment directory (several publishers' segments)."""
        return self._dir is not None

    def segments(self) -> list[str]:
        """The names of the segments read: ``NAME`` itself, or the directory's members."""
        return [m.name for m in self._members]

    @property
    def view(self) -> SegmentView:
        """The underlying mapped segment (one segment only: a directory has several)."""
        if self._dir is not None:
            raise ValueError(f"{self.name!r} is a segment directory of "
                             f"{len(self._members)} segments: no single view")
        view = self._members[0].view if self._members else None
        if view is None:
            raise ValueError("reader is closed")
        return view

    @property
    def generation(self) -> int:
        """The mapped segment's generation (new for every segment or directory created)."""
        return self._dir["generation"] if self._dir is not None else self.view.generation

    @property
    def depth(self) -> int:
        """Levels per side the segment holds (every member of a directory: the first
        mapped one's)."""
        for m in self._members:
            if m.view is not None:
                return m.view.depth
        raise ValueError(f"no segment of {self.name!r} is mapped yet")

    def _refresh(self) -> None:
        if self._dir is not None:
            for m in self._members:
                if m.view is None or m.replaced():
                    self._remap(m)
        for m in self._members:
            self._found(m)

    def _found(self, m: _Member) -> None:
        """Take in the books ``m``'s directory lists since the last look."""
        for key in m.refresh():
            self._where[key] = m
            self._gone.pop(key, None)

    def _remap(self, m: _Member) -> bool:
        """Map a directory member's current segment; False if there is none (yet)."""
        try:
            m.open()
        except (FileNotFoundError, NotASegment):
            return False
        for key in [k for k, v in self._where.items() if v is m]:
            del self._where[key]
            self._gone[key] = m.name
        self._found(m)
        return True

    def _member(self, venue: str, symbol: str) -> tuple[_Member, SegmentView, int]:
        """The segment holding a book, its view and the book's slot; ``BookRestarting``
        or ``BookNotPublished`` if none does."""
        key = (venue, symbol)
        m = self._where.get(key)
        if m is None:
            self._refresh()
            m = self._where.get(key)
            if m is None:
                segment = self._gone.get(key)
                if segment is not None:
                    raise BookRestarting(
                        f"{venue}:{symbol} is not published yet by the new publisher of "
                        f"segment {segment!r} (in {self.name!r}; its previous publisher had "
                        f"it): retry in a moment", segment)
                raise BookNotPublished(f"{venue}:{symbol} is not published in {self.name!r}")
        view = m.view
        if view is None:
            raise ValueError("reader is closed")
        if self._dir is not None and (view.flags & FLAG_CLOSED or time.time_ns()
                                      - view.heartbeat_ns > MEMBER_SILENT_NS) \
                and m.replaced() and self._remap(m):
            return self._member(venue, symbol)      # its restarted publisher's segment
        return m, view, m.slots[key]

    def books(self) -> list[tuple[str, str]]:
        """``(venue, symbol)`` of every published book, in directory order (segment by
        segment for a segment directory)."""
        self._refresh()
        return [k for m in self._members for k in m.slots]

    def restarting(self) -> list[tuple[str, str]]:
        """``(venue, symbol)`` of every book a replaced publisher had that its successor
        has not published yet (a lookup of one raises :class:`BookRestarting`)."""
        self._refresh()
        return list(self._gone)

    def segment_of(self, venue: str, symbol: str) -> str:
        """The name of the segment that holds a book; :class:`BookNotPublished` if none
        does."""
        return self._member(venue, symbol)[0].name

    def slot(self, venue: str, symbol: str) -> int:
        """The slot index of a book in its segment; :class:`BookNotPublished` if it is not
        published."""
        return self._member(venue, symbol)[2]

    def book(self, venue: str, symbol: str) -> Snapshot:
        """A consistent copy of one book (``SlotBusy`` if its writer died mid-write). Its
        ``state`` is the last one its publisher wrote, even if that publisher has died
        since: :meth:`state` is the state to trust."""
        _, view, slot = self._member(venue, symbol)
        return view.read(slot, venue, symbol)

    def state(self, venue: str, symbol: str) -> str:
        """The book's state as this reader can vouch for it: the state its publisher last
        wrote, but ``stale`` while that publisher is gone (its segment's :meth:`health`
        status is ``dead``, ``stale`` or ``replaced``), until a successor publishes the
        book (a ``closed`` book stays ``closed``; docs/shm.md, "Telling live from
        dead")."""
        m, view, slot = self._member(venue, symbol)
        return trusted_state(view.read(slot, venue, symbol).state,
                             _health(view, m.path, m.ino)["status"])

    def market(self, venue: str, symbol: str) -> Market:
        """A consistent copy of the instrument's market block: the venue's best
        bid/offer and its newest trades (``Market``; docs/shm.md)."""
        _, view, slot = self._member(venue, symbol)
        return view.read_market(slot, venue, symbol)

    def trades(self, venue: str, symbol: str) -> npt.NDArray[Any]:
        """The instrument's newest trades (at most ``TRADES``), oldest first, as
        ``SHM_TRADE_DTYPE`` (``trade_id``, ``price`` ticks, ``size`` lots, ``side``,
        times in ns); ``market().trades_total`` says how many were ever published."""
        return cast("npt.NDArray[Any]", self.market(venue, symbol).trades)

    def bbo(self, venue: str, symbol: str) -> tuple[int, int, int, int] | None:
        """Best ``(bid ticks, bid lots, ask ticks, ask lots)``: the venue's BBO stream
        when one publishes here, else the book's top; None if neither side is known."""
        m = self.market(venue, symbol)
        if m.bbo_updates:
            return (m.bid_px, m.bid_sz, m.ask_px, m.ask_sz)
        bid, ask = best_levels(self.book(venue, symbol))
        return None if bid is None or ask is None else (*bid, *ask)

    def updates(self, venue: str, symbol: str) -> int:
        """The book's publish counter, without copying it."""
        _, view, slot = self._member(venue, symbol)
        return view.updates(slot)

    def wait(self, venue: str, symbol: str, after: int, timeout: float | None = None,
             spin: float = 50e-6) -> Snapshot | None:
        """The book once its publish counter exceeds ``after`` (a ``Snapshot.updates``);
        None after ``timeout`` seconds. Spins ``spin`` seconds, then sleeps with a
        backoff from 50 µs to 1 ms, so a quiet book costs no core. (In a segment
        directory it waits on the segment holding the book when called.)"""
        _, view, slot = self._member(venue, symbol)
        now = time.monotonic()
        end = None if timeout is None else now + timeout
        spin_end = now + spin
        nap = 50e-6
        while view.updates(slot) <= after:
            now = time.monotonic()
            if end is not None and now >= end:
                return None
            if now >= spin_end:
                time.sleep(nap if end is None else min(nap, max(0.0, end - now)))
                nap = min(nap * 2, 1e-3)
        return view.read(slot, venue, symbol)

    def health(self) -> dict[str, Any]:
        """The publisher as seen from here.

        ``status``: ``ok`` (heartbeat fresh), ``closed`` (clean shutdown), ``replaced``
        (the path now holds another segment or nothing: :meth:`reopen`), ``dead`` (pid
        gone) or ``stale`` (heartbeat older than ``STALE_AFTER`` seconds). Plus pid,
        generation, heartbeat age and book count.

        For a segment directory: the same fields for the directory's writer (the
        supervisor; its ``closed`` and ``replaced`` as above, ``dead`` when it is
        gone), ``degraded`` when any member is not ``ok``; summed ``books`` and
        ``capacity``, the oldest member heartbeat, and ``members``: each member's own
        health with its ``segment`` (``missing``: not created yet, or being replaced).
        """
        if self._dir is None:
            return _health(self.view, self.path, self._ino)
        self._refresh()
        members = [{"segment": m.name, **(_health(m.view, m.path, m.ino)
                                          if m.view is not None else {"status": "missing"})}
                   for m in self._members]
        # the flags are the directory's only field that changes
        flags = struct.unpack("<I", os.pread(self._dir_fd, 4, _DIR_FLAGS_AT))[0]
        replaced = _replaced(self.path, self._ino)
        pid = self._dir["pid"]
        if flags & FLAG_CLOSED:
            status = "closed"
        elif replaced:
            status = "replaced"
        elif not _pid_alive(pid):
            status = "dead"
        elif any(m["status"] != "ok" for m in members):
            status = "degraded"
        else:
            status = "ok"
        ages = [m["heartbeat_age_s"] for m in members if "heartbeat_age_s" in m]
        return {"status": status, "pid": pid, "pid_alive": _pid_alive(pid),
                "generation": self._dir["generation"],
                "heartbeat_age_s": max(ages) if ages else float("inf"),
                "replaced": replaced, "books": sum(m.get("books", 0) for m in members),
                "capacity": sum(m.get("capacity", 0) for m in members),
                "depth": next((m["depth"] for m in members if "depth" in m), 0),
                "members": members}

    def close(self) -> None:
        """Unmap (idempotent)."""
        for m in self._members:
            m.close()
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _replaced(path: str, ino: int) -> bool:
    try:
        return os.stat(path).st_ino != ino
    except FileNotFoundError:
        return True


def _health(view: SegmentView, path: str, ino: int) -> dict[str, Any]:
    """One segment's publisher as seen through ``view`` (:meth:`Reader.health`)."""
    age = (time.time_ns() - view.heartbeat_ns) / 1e9
    replaced = _replaced(path, ino)
    alive = _pid_alive(view.pid)
    if view.flags & FLAG_CLOSED:
        status = "closed"
    elif replaced:
        status = "replaced"
    elif not alive:
        status = "dead"
    elif age > STALE_AFTER:
        status = "stale"
    else:
        status = "ok"
    return {"status": status, "pid": view.pid, "pid_alive": alive,
            "generation": view.generation, "heartbeat_age_s": age,
            "replaced": replaced, "books": view.n_books, "capacity": view.capacity,
            "depth": view.depth}


def trusted_state(state: str, status: str) -> str:
    """A book's ``state`` as a reader reports it, given its segment's health ``status``:
    ``stale`` when the publisher is gone (:data:`GONE_STATUSES`), else ``state`` (a
    ``closed`` book stays ``closed``)."""
    return "stale" if status in GONE_STATUSES and state != "closed" else state


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def best_levels(snapshot: Snapshot) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """The exact best bid and best ask of ``snapshot``: each ``(price ticks, size lots)``
    at its ``price_decimals`` / ``size_decimals``, or None for an empty side.
    (``Snapshot.best_bid()`` / ``best_ask()`` are float convenience views of the same.)"""
    bids, asks = snapshot.bids_int, snapshot.asks_int
    return ((int(bids[0, 0]), int(bids[0, 1])) if len(bids) else None,
            (int(asks[0, 0]), int(asks[0, 1])) if len(asks) else None)


def summary(reader: Reader, now_ns: int | None = None) -> dict[str, Any]:
    """One JSON-ready picture of a segment (what ``fastfeed top --once --json`` prints):
    ``publisher`` (:meth:`Reader.health`) and per book its state, best bid/ask and their
    sizes and the spread as exact decimal strings (None for an empty side; docs/shm.md,
    "fastfeed top"), update id, publish counter and ``age_s`` since the last received
    message (None if nothing was received yet); from a segment directory, also each book's
    ``segment``. A book's ``state`` is :meth:`Reader.state`'s: ``stale`` while the
    publisher of its segment is gone. A book a restarted publisher has not published yet
    is listed with state ``restarting`` (:class:`BookRestarting`), one whose writer died
    mid-write ``busy``."""
    now = time.time_ns() if now_ns is None else now_ns
    # health first: it remaps directory members a successor replaced, so the statuses
    # are those of the segments the books are then read from
    health = reader.health()
    status = {m["segment"]: m["status"] for m in health.get("members", ())} \
        or {reader.name: health["status"]}
    books: list[dict[str, Any]] = []
    for venue, symbol in dict.fromkeys(reader.books() + reader.restarting()):
        try:
            s = reader.book(venue, symbol)
        except SlotBusy as exc:
            books.append({"venue": venue, "symbol": symbol, "state": "busy",
                          "error": str(exc)})
            continue
        except BookRestarting as exc:
            books.append({"venue": venue, "symbol": symbol, "state": "restarting",
                          "segment": exc.segment, "error": str(exc)})
            continue
        pd, sd = s.price_decimals, s.size_decimals
        bid, ask = best_levels(s)
        segment = reader.segment_of(venue, symbol)
        books.append({
            "venue": venue, "symbol": symbol,
            "state": trusted_state(s.state, status.get(segment, "missing")),
            "bid": None if bid is None else format_decimal_py(bid[0], pd),
            "bid_size": None if bid is None else format_decimal_py(bid[1], sd),
            "ask": None if ask is None else format_decimal_py(ask[0], pd),
            "ask_size": None if ask is None else format_decimal_py(ask[1], sd),
            "spread": None if bid is None or ask is None
            else format_decimal_py(ask[0] - bid[0], pd),
            "price_decimals": pd, "size_decimals": sd, "update_id": s.update_id,
            "updates": s.updates,
            "age_s": (now - s.recv_ts_ns) / 1e9 if s.recv_ts_ns else None,
        })
        if reader.is_directory:
            books[-1]["segment"] = segment
    return {"segment": reader.name, "publisher": health, "books": books}
