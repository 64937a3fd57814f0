"""Shared-memory books and trades: one publisher process per host, any number of readers.

The publisher (``Engine(shm="NAME")``) creates ``/dev/shm/NAME`` and copies the top
levels of each book into it after every applied message and state change, and the
newest trades of each trade stream after every message that carried some, from the hot
path (``fastfeed._shm``). Readers (:class:`Reader`) map it read-only and take consistent
copies through a per-book seqlock: no socket, no lock, nothing the publisher waits on.
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
import time
from typing import Any, cast

import numpy.typing as npt

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
    "DEFAULT_CAPACITY", "DEFAULT_DEPTH", "SHM_TRADE_DTYPE", "TRADES", "Market", "NotASegment",
    "Publisher", "Reader", "SegmentFull", "SegmentInUse", "SlotBusy", "Snapshot",
    "segment_path",
]

SHM_DIR = "/dev/shm"
DEFAULT_CAPACITY = 1024
DEFAULT_DEPTH = 20
#: Seconds between heartbeats; a reader calls a publisher dead after STALE_AFTER of silence.
HEARTBEAT_INTERVAL = 0.25
STALE_AFTER = 3.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}\Z")


class SegmentInUse(FileExistsError):
    """The name is taken: by a live publisher, or by a file that is not a fastfeed segment."""


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
        size = segment_size(capacity, depth)
        try:
            fd = _create(self.path, size)
        except FileExistsError:
            _take_over(self.path)
            fd = _create(self.path, size)   # FileExistsError again: someone raced us
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
        try:
            if os.stat(self.path).st_ino == self._ino:
                os.unlink(self.path)
        except FileNotFoundError:
            pass

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


class Reader:
    """Read-only view of a running publisher's books.

    ``Reader("NAME")`` maps ``/dev/shm/NAME`` read-only (``O_RDONLY`` + ``PROT_READ``).
    :meth:`book` returns a consistent :class:`Snapshot` (never torn); :meth:`wait` blocks
    for the next update; :meth:`health` tells a live publisher from a dead, closed or
    replaced one (then :meth:`reopen`).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = segment_path(name)
        self._view: SegmentView | None = None
        self._open()

    def _open(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise FileNotFoundError(f"no shared-memory segment {self.name!r} "
                                    f"({self.path}): is the publisher running?") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise NotASegment(f"{self.path} is not a regular file")
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
        if self._view is not None:
            self._view.close()
        self._view = view
        self._ino = st.st_ino
        self._slots: dict[tuple[str, str], int] = {}
        self._seen = 0

    def reopen(self) -> None:
        """Map the segment now at the path (after a publisher restart)."""
        self._open()

    @property
    def view(self) -> SegmentView:
        """The underlying mapped segment."""
        if self._view is None:
            raise ValueError("reader is closed")
        return self._view

    @property
    def generation(self) -> int:
        """The mapped segment's generation (new for every segment a publisher creates)."""
        return self.view.generation

    @property
    def depth(self) -> int:
        """Levels per side the segment holds."""
        return self.view.depth

    def _refresh(self) -> None:
        view = self.view
        if view.n_books != self._seen:
            for venue, symbol, slot in view.entries(self._seen):
                self._slots[(venue, symbol)] = slot
                self._seen += 1

    def books(self) -> list[tuple[str, str]]:
        """``(venue, symbol)`` of every published book, in directory order."""
        self._refresh()
        return list(self._slots)

    def slot(self, venue: str, symbol: str) -> int:
        """The slot index of a book; ``KeyError`` if it is not published."""
        key = (venue, symbol)
        slot = self._slots.get(key)
        if slot is None:
            self._refresh()
            slot = self._slots.get(key)
            if slot is None:
                raise KeyError(f"{venue}:{symbol} is not published in {self.name!r}")
        return slot

    def book(self, venue: str, symbol: str) -> Snapshot:
        """A consistent copy of one book (``SlotBusy`` if its writer died mid-write)."""
        slot = self._slots.get((venue, symbol))
        view = self._view
        if slot is None or view is None:
            slot, view = self.slot(venue, symbol), self.view
        return view.read(slot, venue, symbol)

    def market(self, venue: str, symbol: str) -> Market:
        """A consistent copy of the instrument's market block: the venue's best
        bid/offer and its newest trades (``Market``; docs/shm.md)."""
        slot = self._slots.get((venue, symbol))
        view = self._view
        if slot is None or view is None:
            slot, view = self.slot(venue, symbol), self.view
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
        snap = self.book(venue, symbol)
        if not len(snap.bids_int) or not len(snap.asks_int):
            return None
        return (int(snap.bids_int[0, 0]), int(snap.bids_int[0, 1]),
                int(snap.asks_int[0, 0]), int(snap.asks_int[0, 1]))

    def updates(self, venue: str, symbol: str) -> int:
        """The book's publish counter, without copying it."""
        return self.view.updates(self.slot(venue, symbol))

    def wait(self, venue: str, symbol: str, after: int, timeout: float | None = None,
             spin: float = 50e-6) -> Snapshot | None:
        """The book once its publish counter exceeds ``after`` (a ``Snapshot.updates``);
        None after ``timeout`` seconds. Spins ``spin`` seconds, then sleeps with a
        backoff from 50 µs to 1 ms, so a quiet book costs no core."""
        view = self.view
        slot = self.slot(venue, symbol)
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
        """
        view = self.view
        age = (time.time_ns() - view.heartbeat_ns) / 1e9
        try:
            replaced = os.stat(self.path).st_ino != self._ino
        except FileNotFoundError:
            replaced = True
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

    def close(self) -> None:
        """Unmap (idempotent)."""
        if self._view is not None:
            self._view.close()
            self._view = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def summary(reader: Reader, now_ns: int | None = None) -> dict[str, Any]:
    """One JSON-ready picture of a segment (what ``fastfeed top --once --json`` prints):
    ``publisher`` (:meth:`Reader.health`) and per book its state, best bid/ask, spread,
    update id, publish counter and ``age_s`` since the last received message (None if
    nothing was received yet)."""
    now = time.time_ns() if now_ns is None else now_ns
    books: list[dict[str, Any]] = []
    for venue, symbol in reader.books():
        try:
            s = reader.book(venue, symbol)
        except SlotBusy as exc:
            books.append({"venue": venue, "symbol": symbol, "state": "busy",
                          "error": str(exc)})
            continue
        bid, ask = s.best_bid(), s.best_ask()
        books.append({
            "venue": venue, "symbol": symbol, "state": s.state,
            "bid": bid[0] if bid else None, "bid_size": bid[1] if bid else None,
            "ask": ask[0] if ask else None, "ask_size": ask[1] if ask else None,
            "spread": round(ask[0] - bid[0], s.price_decimals) if bid and ask else None,
            "price_decimals": s.price_decimals, "update_id": s.update_id,
            "updates": s.updates,
            "age_s": (now - s.recv_ts_ns) / 1e9 if s.recv_ts_ns else None,
        })
    return {"segment": reader.name, "publisher": reader.health(), "books": books}
