# cython: language_level=3
"""Compiled side of the shared-memory market segment (layout: ``docs/shm.md``, ``ff_shm.h``).

``SegmentWriter`` maps a segment read-write, fills its header, hands slots to
``BookCore`` objects and market blocks to ``TradeCore`` objects (which then publish from
the hot path through ``ff_shm_publish`` / ``ff_shm_put_trade``) and refreshes the
heartbeat. ``SegmentView`` maps one read-only and takes consistent ``Snapshot`` and
``Market`` copies through the seqlocks. File handling (names, ``O_EXCL``, locks,
unlinking) is ``fastfeed.shm``'s job; this module only sees file descriptors.
"""

cimport numpy as cnp
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.errno cimport errno
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset, strlen
from posix.mman cimport MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE, mmap, munmap

from fastfeed._book cimport L2Book
from fastfeed._cdefs cimport (
    FF_LOAD_ACQ,
    FF_LOAD_RLX,
    FF_SHM_DIR_ENTRY_SIZE,
    FF_SHM_FLAG_CLOSED,
    FF_SHM_HEADER_SIZE,
    FF_SHM_MAGIC,
    FF_SHM_SYMBOL_LEN,
    FF_SHM_TRADES,
    FF_SHM_VENUE_LEN,
    FF_SHM_VERSION,
    FF_STORE_REL,
    FF_STORE_RLX,
    ff_monotonic_ns,
    ff_shm_dir,
    ff_shm_dir_entry,
    ff_shm_header,
    ff_shm_market,
    ff_shm_market_of,
    ff_shm_publish,
    ff_shm_slot,
    ff_shm_slot_at,
    ff_shm_slot_size,
    ff_shm_slots_offset,
    ff_shm_trade,
    ff_shm_total_size,
    ff_shm_try_read,
    ff_shm_try_read_market,
    ff_shm_view,
    ff_shm_view_checksum,
    ff_shm_write_begin,
    ff_shm_write_end,
    ff_wall_ns,
)
from fastfeed._core cimport BookCore
from fastfeed._quotes cimport BboCore
from fastfeed._trades cimport TradeCore

import os

import numpy as np

from fastfeed._sync import STATE_NAMES as _STATE_NAMES

cnp.import_array()

MAX_CAPACITY = 1 << 20
MAX_DEPTH = 4096
#: Byte lengths of the directory's NUL-padded names (one byte is kept for the NUL).
VENUE_LEN = FF_SHM_VENUE_LEN
SYMBOL_LEN = FF_SHM_SYMBOL_LEN
FLAG_CLOSED = FF_SHM_FLAG_CLOSED
#: Trades each slot's market block keeps (the newest; a ring).
TRADES = FF_SHM_TRADES
#: One trade as ``Market.trades`` returns it (the block's layout, field for field).
SHM_TRADE_DTYPE = np.dtype([("exchange_ns", "=i8"), ("recv_ns", "=i8"), ("trade_id", "=i8"),
                            ("price", "=i8"), ("size", "=i8"), ("side", "=i8")])

cdef extern from "<sched.h>" nogil:
    int sched_yield()

# A read gives up on a slot that stays mid-write this long (its writer died mid-write; a
# preempted writer can hold a write open for a scheduler slice, so not much shorter).
cdef int64_t BUSY_LIMIT_NS = 1000000000


class SegmentFull(RuntimeError):
    """Every directory entry of the segment is taken (its capacity is fixed at creation)."""


class SlotBusy(RuntimeError):
    """A slot stayed mid-write (same odd seq) for 1 s: its publisher died writing it."""


class NotASegment(ValueError):
    """The mapped file is not a fastfeed segment of a layout version this code reads."""


def segment_size(uint32_t capacity, uint32_t depth) -> int:
    """Bytes of a segment with ``capacity`` books of ``depth`` levels a side."""
    return ff_shm_total_size(capacity, depth)


def layout() -> dict:
    """The layout constants of ``ff_shm.h`` (for tests and tools)."""
    return {"magic": FF_SHM_MAGIC, "version": FF_SHM_VERSION,
            "header_size": FF_SHM_HEADER_SIZE, "dir_entry_size": FF_SHM_DIR_ENTRY_SIZE,
            "venue_len": FF_SHM_VENUE_LEN, "symbol_len": FF_SHM_SYMBOL_LEN,
            "trades": FF_SHM_TRADES, "market_size": sizeof(ff_shm_market)}


cdef void* _map(int fd, uint64_t size, int prot) except NULL:
    cdef void* p = mmap(NULL, size, prot, MAP_SHARED, fd, 0)
    if p == MAP_FAILED:
        raise OSError(errno, os.strerror(errno))
    return p


cdef class SegmentWriter:
    """A segment mapped read-write by its (single) publisher.

    ``SegmentWriter(fd, capacity, depth, generation, pid)`` maps ``fd`` (already sized to
    ``segment_size(capacity, depth)``, zero-filled) and writes the header; the magic is
    stored last, so a reader that sees it sees a complete header.
    """

    def __cinit__(self):
        self.base = NULL

    def __init__(self, int fd, uint32_t capacity, uint32_t depth, uint64_t generation,
                 int64_t pid):
        if not 1 <= capacity <= MAX_CAPACITY:
            raise ValueError(f"capacity must be in 1..{MAX_CAPACITY}")
        if not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"depth must be in 1..{MAX_DEPTH}")
        if generation == 0:
            raise ValueError("generation must be non-zero")
        self.size = ff_shm_total_size(capacity, depth)
        self.base = <char*>_map(fd, self.size, PROT_READ | PROT_WRITE)
        self.hdr = <ff_shm_header*>self.base
        self.capacity = capacity
        self.depth = depth
        self._slots = {}
        self._cores = []
        self._trade_cores = []
        self._bbo_cores = []
        cdef ff_shm_header* h = self.hdr
        h.version = FF_SHM_VERSION
        h.header_size = FF_SHM_HEADER_SIZE
        h.dir_entry_size = FF_SHM_DIR_ENTRY_SIZE
        h.slot_size = ff_shm_slot_size(depth)
        h.capacity = capacity
        h.depth = depth
        h.dir_offset = FF_SHM_HEADER_SIZE
        h.slots_offset = ff_shm_slots_offset(capacity)
        h.total_size = self.size
        h.generation = generation
        h.pid = pid
        h.created_ns = ff_wall_ns()
        FF_STORE_RLX(&h.heartbeat_ns, h.created_ns)
        FF_STORE_REL(&h.magic, FF_SHM_MAGIC)

    def __dealloc__(self):
        # Cores keep their writer alive (_shm_owner): no slot pointer outlives the mapping.
        if self.base != NULL:
            munmap(self.base, self.size)
            self.base = NULL

    cdef int _check_open(self) except -1:
        if self.base == NULL:
            raise ValueError("segment writer is closed")
        return 0

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self.base == NULL

    @property
    def n_books(self) -> int:
        """Directory entries in use."""
        self._check_open()
        return self.hdr.n_books

    def slot_of(self, str venue, str symbol) -> int:
        """The slot of ``(venue, symbol)``, taking a new directory entry the first time.

        ``SegmentFull`` when every entry is taken; ``ValueError`` for a name longer than
        the directory allows (``VENUE_LEN - 1``, ``SYMBOL_LEN - 1`` bytes).
        """
        self._check_open()
        key = (venue, symbol)
        slot = self._slots.get(key)
        if slot is not None:
            return slot
        bv = venue.encode("utf-8")
        bs = symbol.encode("utf-8")
        if not 0 < len(bv) < FF_SHM_VENUE_LEN or not 0 < len(bs) < FF_SHM_SYMBOL_LEN:
            raise ValueError(f"{venue}:{symbol}: venue must be 1..{FF_SHM_VENUE_LEN - 1} and "
                             f"symbol 1..{FF_SHM_SYMBOL_LEN - 1} bytes")
        cdef uint32_t n = self.hdr.n_books
        if n >= self.capacity:
            raise SegmentFull(f"shared-memory segment is full ({self.capacity} books); "
                              f"create it with a larger capacity")
        cdef ff_shm_dir_entry* e = ff_shm_dir(self.base, n)
        memset(e, 0, FF_SHM_DIR_ENTRY_SIZE)
        memcpy(e.venue, <const char*>bv, len(bv))
        memcpy(e.symbol, <const char*>bs, len(bs))
        e.slot = n
        FF_STORE_REL(&self.hdr.n_books, n + 1)     # the entry is complete before it counts
        self._slots[key] = n
        return n

    def attach(self, BookCore core) -> int:
        """Publish ``core`` into its slot from now on (returns the slot index).

        The core publishes its current state at once, then after every applied message
        and state change. Scales are written here (they never change for a book).
        """
        cdef BookCore other
        cdef uint32_t slot
        cdef ff_shm_slot* s
        if core.shm_slot != NULL and core._shm_owner is not self:
            raise ValueError(f"{core.venue}:{core.symbol} already publishes elsewhere")
        slot = self.slot_of(core.venue, core.symbol)
        s = ff_shm_slot_at(self.base, slot)
        for other in list(self._cores):
            if other is not core and other.shm_slot == s:
                if other.state != "closed":
                    raise ValueError(f"{core.venue}:{core.symbol} is already published "
                                     f"by another book")
                self.detach(other)      # unsubscribed earlier: the new book takes the slot
        ff_shm_write_begin(s)
        FF_STORE_RLX(&s.price_decimals, core.price_grid.decimals)
        FF_STORE_RLX(&s.size_decimals, core.size_grid.decimals)
        ff_shm_write_end(s)
        core.shm_depth = self.depth
        core._shm_owner = self
        core.shm_slot = s
        if core not in self._cores:
            self._cores.append(core)
        core.shm_publish()
        return slot

    cdef ff_shm_market* _market_for(self, str venue, str symbol, int price_decimals,
                                    int size_decimals, uint32_t* slot) except NULL:
        """The market block of ``(venue, symbol)``'s slot (taking the slot the first
        time); a slot no book publishes into gets these scales (the stream's, which are
        the book's by the same rule)."""
        cdef ff_shm_slot* s
        slot[0] = self.slot_of(venue, symbol)
        s = ff_shm_slot_at(self.base, slot[0])
        if FF_LOAD_RLX(&s.updates) == 0:
            ff_shm_write_begin(s)
            FF_STORE_RLX(&s.price_decimals, price_decimals)
            FF_STORE_RLX(&s.size_decimals, size_decimals)
            ff_shm_write_end(s)
        return ff_shm_market_of(s, self.depth)

    def attach_trades(self, TradeCore core) -> int:
        """Publish the trade stream ``core`` into its instrument's market block (the
        slot of ``(venue, symbol)``, shared with its book if one is published): the
        newest ``TRADES`` trades and the stream's state, after every message that
        recorded trades. Returns the slot index."""
        cdef uint32_t slot
        cdef ff_shm_market* m
        cdef TradeCore other
        if core.shm_market != NULL and core._shm_owner is not self:
            raise ValueError(f"{core.venue}:{core.symbol} trades already publish elsewhere")
        m = self._market_for(core.venue, core.symbol, core.price_grid.decimals,
                             core.size_grid.decimals, &slot)
        for other in list(self._trade_cores):
            if other is not core and other.shm_market == m:
                if other.state != "closed":
                    raise ValueError(f"{core.venue}:{core.symbol}: trades of that "
                                     f"instrument are already published")
                self.detach_trades(other)
        core.shm_published = FF_LOAD_RLX(&m.trades_total)   # a resubscribed stream goes on
        core._shm_owner = self
        core.shm_market = m
        if core not in self._trade_cores:
            self._trade_cores.append(core)
        core.shm_publish(0)
        return slot

    def attach_bbo(self, BboCore core) -> int:
        """Publish the best bid/offer stream ``core`` into its instrument's market block
        (``bbo_*`` fields, after every BBO it records). Returns the slot index."""
        cdef uint32_t slot
        cdef ff_shm_market* m
        cdef BboCore other
        if core.shm_market != NULL and core._shm_owner is not self:
            raise ValueError(f"{core.venue}:{core.symbol} BBO already publishes elsewhere")
        m = self._market_for(core.venue, core.symbol, core.price_grid.decimals,
                             core.size_grid.decimals, &slot)
        for other in list(self._bbo_cores):
            if other is not core and other.shm_market == m:
                if other.state != "closed":
                    raise ValueError(f"{core.venue}:{core.symbol}: a BBO of that instrument "
                                     f"is already published")
                self.detach_bbo(other)
        core._shm_owner = self
        core.shm_market = m
        if core not in self._bbo_cores:
            self._bbo_cores.append(core)
        return slot

    def detach_bbo(self, BboCore core) -> None:
        """Stop publishing the BBO stream ``core`` (the block keeps its last BBO)."""
        if core._shm_owner is self:
            core.shm_market = NULL
            core._shm_owner = None
        if core in self._bbo_cores:
            self._bbo_cores.remove(core)

    def detach_trades(self, TradeCore core) -> None:
        """Stop publishing the trade stream ``core`` (the block keeps its last trades)."""
        if core._shm_owner is self:
            core.shm_market = NULL
            core._shm_owner = None
        if core in self._trade_cores:
            self._trade_cores.remove(core)

    def detach(self, BookCore core) -> None:
        """Stop publishing ``core`` (its slot keeps the last published content)."""
        if core._shm_owner is self:
            core.shm_slot = NULL
            core._shm_owner = None
        if core in self._cores:
            self._cores.remove(core)

    def heartbeat(self) -> None:
        """Refresh the header's heartbeat (CLOCK_REALTIME ns); readers judge liveness by it."""
        self._check_open()
        FF_STORE_RLX(&self.hdr.heartbeat_ns, ff_wall_ns())

    def close(self) -> None:
        """Detach every core, mark the segment closed and unmap it. Idempotent."""
        for core in list(self._cores):
            self.detach(core)
        for trades in list(self._trade_cores):
            self.detach_trades(trades)
        for bbo in list(self._bbo_cores):
            self.detach_bbo(bbo)
        if self.base == NULL:
            return
        FF_STORE_RLX(&self.hdr.heartbeat_ns, ff_wall_ns())
        FF_STORE_REL(&self.hdr.flags, self.hdr.flags | FF_SHM_FLAG_CLOSED)
        munmap(self.base, self.size)
        self.base = NULL

    # ---------------------------------------------------------- tests and benchmarks

    def _hammer(self, uint32_t slot, int64_t n, int64_t first_id=0, int64_t interval_ns=0,
                bint stamp=False) -> int:
        """Test/bench writer: publish ``n`` synthetic books into ``slot`` as fast as it
        can (or one every ``interval_ns``), GIL released. Every version has strictly
        ordered sides, a depth that varies, update ids ``first_id + i`` and, with
        ``stamp``, ``exchange_ts_ns`` = CLOCK_MONOTONIC at publish. Returns elapsed ns."""
        self._check_open()
        if slot >= self.hdr.n_books:
            raise IndexError("no such slot")
        cdef ff_shm_slot* s = ff_shm_slot_at(self.base, slot)
        cdef uint32_t d = self.depth
        cdef int64_t* buf = <int64_t*>malloc(4 * d * sizeof(int64_t))
        if buf == NULL:
            raise MemoryError()
        cdef int64_t* bp = buf
        cdef int64_t* bq = buf + d
        cdef int64_t* ap = buf + 2 * d
        cdef int64_t* aq = buf + 3 * d
        cdef int64_t i, j, mid, step, nb, na, t0, nxt, ts
        with nogil:
            t0 = ff_monotonic_ns()
            nxt = t0
            for i in range(n):
                mid = 1000000 + (i * 7919) % 100000
                step = 1 + i % 3
                nb = d - i % 5
                na = d - (i + 2) % 5
                if nb < 1:
                    nb = 1
                if na < 1:
                    na = 1
                for j in range(nb):         # ascending, best (highest) last
                    bp[j] = mid - (nb - j) * step
                    bq[j] = i * 31 + j
                for j in range(na):         # descending, best (lowest) last
                    ap[j] = mid + (na - j) * step
                    aq[j] = i * 17 + j
                if interval_ns > 0:
                    nxt += interval_ns
                    while ff_monotonic_ns() < nxt:
                        pass
                ts = ff_monotonic_ns() if stamp else i
                ff_shm_publish(s, d, bp, bq, nb, ap, aq, na, 1, first_id + i, ts, ts)
            t0 = ff_monotonic_ns() - t0
        free(buf)
        return t0

    def _bench_publish(self, L2Book book, uint32_t slot, int64_t n) -> float:
        """ns per ``ff_shm_publish`` of ``book`` into ``slot`` (median-free: one run)."""
        self._check_open()
        if slot >= self.hdr.n_books:
            raise IndexError("no such slot")
        cdef ff_shm_slot* s = ff_shm_slot_at(self.base, slot)
        cdef int64_t i, t0
        with nogil:
            t0 = ff_monotonic_ns()
            for i in range(n):
                ff_shm_publish(s, self.depth, book.bid_px, book.bid_sz, book.n_bids,
                               book.ask_px, book.ask_sz, book.n_asks, 1, i, i, i)
            t0 = ff_monotonic_ns() - t0
        return t0 / <double>n


cdef class Snapshot:
    """One consistent copy of a published book.

    ``bids_int`` / ``asks_int``: int64 ``(k, 2)`` arrays of ``[price ticks, size lots]``,
    best first; ``bids`` / ``asks`` the same as float64 prices and sizes
    (``ticks / 10**price_decimals``). ``state`` is the book's state name; ``updates`` the
    slot's publish counter (pass it to ``Reader.wait``); timestamps are CLOCK_REALTIME ns
    (0: unknown).
    """

    cdef object _to_float(self, object arr):
        out = np.empty(arr.shape, dtype=np.float64)
        out[:, 0] = arr[:, 0] / (10.0 ** self.price_decimals)
        out[:, 1] = arr[:, 1] / (10.0 ** self.size_decimals)
        return out

    @property
    def bids(self):
        """Bid levels ``[price, size]`` as float64, best (highest) first."""
        return self._to_float(self.bids_int)

    @property
    def asks(self):
        """Ask levels ``[price, size]`` as float64, best (lowest) first."""
        return self._to_float(self.asks_int)

    @property
    def state(self) -> str:
        """``syncing`` | ``live`` | ``gap`` | ``stale`` | ``closed``."""
        return _STATE_NAMES[self.state_code] if 0 <= self.state_code < 5 else "unknown"

    @property
    def is_live(self) -> bool:
        """True when the publisher's book was exact (``live``) at this copy."""
        return self.state_code == 1

    def best_bid(self):
        """``(price, size)`` of the best bid as floats, or None."""
        if not len(self.bids_int):
            return None
        return (self.bids_int[0, 0] / 10.0 ** self.price_decimals,
                self.bids_int[0, 1] / 10.0 ** self.size_decimals)

    def best_ask(self):
        """``(price, size)`` of the best ask as floats, or None."""
        if not len(self.asks_int):
            return None
        return (self.asks_int[0, 0] / 10.0 ** self.price_decimals,
                self.asks_int[0, 1] / 10.0 ** self.size_decimals)

    def __repr__(self):
        return (f"<Snapshot {self.venue}:{self.symbol} {self.state} id={self.update_id} "
                f"updates={self.updates} bids={len(self.bids_int)} asks={len(self.asks_int)}>")


cdef class Market:
    """One consistent copy of an instrument's market block: the venue's best bid/offer
    (``bbo_updates == 0``: no BBO stream publishes there; ``Reader.bbo`` then falls back
    to the book's top) and its newest trades.

    ``trades``: ``SHM_TRADE_DTYPE`` array of the newest ``min(trades_total, TRADES)``
    trades, oldest first (``trade_id``, ``price`` ticks, ``size`` lots, ``side`` +1 the
    taker bought, times in CLOCK_REALTIME ns); ``trades_total`` counts every trade
    published, so a reader polling it knows how many it missed; ``trade_state`` is the
    trade stream's state name.
    """

    @property
    def trade_state(self) -> str:
        """``syncing`` | ``live`` | ``gap`` | ``stale`` | ``closed`` (``syncing`` when no
        trade stream publishes here)."""
        return _STATE_NAMES[self.trade_state_code] if 0 <= self.trade_state_code < 5 \
            else "unknown"

    def __repr__(self):
        return (f"<Market {self.venue}:{self.symbol} bbo_updates={self.bbo_updates} "
                f"trades_total={self.trades_total} {self.trade_state}>")


cdef object _levels_array(const int64_t* src, int32_t k):
    cdef cnp.npy_intp dims[2]
    dims[0] = k
    dims[1] = 2
    arr = cnp.PyArray_SimpleNew(2, dims, cnp.NPY_INT64)
    if k:
        memcpy(cnp.PyArray_DATA(<cnp.ndarray>arr), src, 2 * k * sizeof(int64_t))
    return arr


cdef class SegmentView:
    """A segment mapped read-only (``SegmentView(fd, size)``; ``fd`` may be O_RDONLY).

    Raises ``NotASegment`` if the header is not a complete fastfeed header of this layout
    version that fits in ``size`` bytes.
    """

    def __cinit__(self):
        self.base = NULL
        self.scratch = NULL
        self._recheck = True

    def __init__(self, int fd, uint64_t size):
        if size < FF_SHM_HEADER_SIZE:
            raise NotASegment(f"{size} bytes: smaller than a segment header")
        self.base = <const char*>_map(fd, size, PROT_READ)
        self.size = size
        self.hdr = <const ff_shm_header*>self.base
        cdef const ff_shm_header* h = self.hdr
        if FF_LOAD_ACQ(&h.magic) != FF_SHM_MAGIC:
            raise NotASegment("no fastfeed segment magic (not one, or still being created)")
        if h.version != FF_SHM_VERSION or h.header_size != FF_SHM_HEADER_SIZE:
            raise NotASegment(f"layout version {h.version}, this reader knows {FF_SHM_VERSION}")
        if (h.total_size > size or h.depth < 1 or h.capacity < 1
                or h.total_size != ff_shm_total_size(h.capacity, h.depth)
                or h.slot_size != ff_shm_slot_size(h.depth)):
            raise NotASegment("inconsistent header sizes")
        self.capacity = h.capacity
        self.depth = h.depth
        self.generation = h.generation
        self.pid = h.pid
        self.created_ns = h.created_ns
        self.scratch = <int64_t*>malloc(4 * self.depth * sizeof(int64_t))
        if self.scratch == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.base != NULL:
            munmap(<void*>self.base, self.size)
            self.base = NULL
        free(self.scratch)
        self.scratch = NULL

    cdef int _check_open(self) except -1:
        if self.base == NULL:
            raise ValueError("segment view is closed")
        return 0

    def close(self) -> None:
        """Unmap (idempotent); later reads raise ValueError."""
        if self.base != NULL:
            munmap(<void*>self.base, self.size)
            self.base = NULL

    @property
    def heartbeat_ns(self) -> int:
        """The publisher's last heartbeat, CLOCK_REALTIME ns."""
        self._check_open()
        return <int64_t>FF_LOAD_RLX(&self.hdr.heartbeat_ns)

    @property
    def flags(self) -> int:
        """Header flags (``FLAG_CLOSED``: the publisher shut down cleanly)."""
        self._check_open()
        return <uint32_t>FF_LOAD_ACQ(&self.hdr.flags)

    @property
    def n_books(self) -> int:
        """Directory entries in use."""
        self._check_open()
        return <uint32_t>FF_LOAD_ACQ(&self.hdr.n_books)

    def entries(self, uint32_t start=0) -> list:
        """Directory entries ``start..n_books`` as ``(venue, symbol, slot)``."""
        self._check_open()
        cdef uint32_t n = <uint32_t>FF_LOAD_ACQ(&self.hdr.n_books)
        cdef uint32_t i
        cdef const ff_shm_dir_entry* e
        if n > self.capacity:
            n = self.capacity
        out = []
        for i in range(start, n):
            e = ff_shm_dir(<void*>self.base, i)
            if e.slot >= self.capacity:
                continue
            out.append((PyBytes_FromStringAndSize(e.venue, strlen(e.venue)
                                                  if strlen(e.venue) < FF_SHM_VENUE_LEN
                                                  else FF_SHM_VENUE_LEN - 1).decode(),
                        PyBytes_FromStringAndSize(e.symbol, strlen(e.symbol)
                                                  if strlen(e.symbol) < FF_SHM_SYMBOL_LEN
                                                  else FF_SHM_SYMBOL_LEN - 1).decode(),
                        e.slot))
        return out

    cdef const ff_shm_slot* _slot(self, uint32_t slot) except NULL:
        self._check_open()
        if slot >= self.capacity:
            raise IndexError(f"slot {slot} out of range (capacity {self.capacity})")
        return ff_shm_slot_at(<void*>self.base, slot)

    def updates(self, uint32_t slot) -> int:
        """The slot's publish counter (one aligned load; no copy)."""
        cdef const ff_shm_slot* s = self._slot(slot)
        return <uint64_t>FF_LOAD_ACQ(&s.updates)

    def read(self, uint32_t slot, object venue=None, object symbol=None) -> Snapshot:
        """A consistent copy of ``slot`` (retries while a write is in progress).

        ``SlotBusy`` if the slot stays mid-write for 1 s (its writer died mid-write).
        """
        cdef const ff_shm_slot* s = self._slot(slot)
        cdef ff_shm_view v
        cdef int64_t t0 = 0, now
        cdef int tries = 0
        cdef uint64_t q, stuck = 0
        cdef uint32_t d = self.depth
        while not ff_shm_try_read(s, d, &v, self.scratch, self._recheck):
            tries += 1
            if tries & 63:
                continue
            sched_yield()           # let a preempted writer finish (shared cores)
            # a busy writer moves seq on (keep trying); a dead one leaves it odd for good
            q = <uint64_t>FF_LOAD_RLX(&s.seq)
            now = ff_monotonic_ns()
            if q != stuck or not (q & 1):
                stuck = q
                t0 = now
            elif now - t0 > BUSY_LIMIT_NS:
                raise SlotBusy(f"slot {slot} stayed mid-write for 1 s "
                               f"(publisher pid {self.pid} died while writing?)")
        cdef Snapshot snap = Snapshot.__new__(Snapshot)
        snap.venue = venue
        snap.symbol = symbol
        snap.bids_int = _levels_array(self.scratch, v.n_bids)
        snap.asks_int = _levels_array(self.scratch + 2 * d, v.n_asks)
        snap.price_decimals = v.price_decimals
        snap.size_decimals = v.size_decimals
        snap.state_code = v.state
        snap.update_id = v.update_id
        snap.exchange_ts_ns = v.exchange_ts_ns
        snap.recv_ts_ns = v.recv_ts_ns
        snap.updates = v.updates
        snap.seq = v.seq
        snap.checksum = v.checksum
        return snap

    def read_market(self, uint32_t slot, object venue=None, object symbol=None) -> Market:
        """A consistent copy of ``slot``'s market block (retries while a write is in
        progress; ``SlotBusy`` if it stays mid-write for 1 s)."""
        cdef ff_shm_slot* s = <ff_shm_slot*>self._slot(slot)
        cdef const ff_shm_market* m = ff_shm_market_of(s, self.depth)
        cdef ff_shm_market copy
        cdef int64_t t0 = ff_monotonic_ns()
        cdef uint64_t k, i, first
        cdef cnp.ndarray arr
        cdef ff_shm_trade* out
        while not ff_shm_try_read_market(m, &copy):
            sched_yield()
            if ff_monotonic_ns() - t0 > BUSY_LIMIT_NS:
                raise SlotBusy(f"market block of slot {slot} stayed mid-write for 1 s "
                               f"(publisher pid {self.pid} died while writing?)")
        cdef Market mk = Market.__new__(Market)
        mk.venue = venue
        mk.symbol = symbol
        mk.price_decimals = <int32_t>FF_LOAD_RLX(&s.price_decimals)
        mk.size_decimals = <int32_t>FF_LOAD_RLX(&s.size_decimals)
        mk.bid_px, mk.bid_sz, mk.ask_px, mk.ask_sz = copy.bid_px, copy.bid_sz, copy.ask_px, \
            copy.ask_sz
        mk.bbo_update_id = copy.bbo_update_id
        mk.bbo_exchange_ns = copy.bbo_exchange_ns
        mk.bbo_recv_ns = copy.bbo_recv_ns
        mk.bbo_updates = copy.bbo_updates
        mk.trades_total = copy.trades_total
        mk.trade_state_code = copy.trade_state
        k = copy.trades_total if copy.trades_total < FF_SHM_TRADES else FF_SHM_TRADES
        arr = np.empty(k, dtype=SHM_TRADE_DTYPE)
        out = <ff_shm_trade*>cnp.PyArray_DATA(arr)
        first = copy.trades_total - k
        for i in range(k):
            out[i] = copy.trades[(first + i) % FF_SHM_TRADES]
        mk.trades = arr
        mk.seq = copy.seq
        return mk

    # ---------------------------------------------------------- tests and benchmarks

    def _check_reads(self, uint32_t slot, int64_t n, int64_t max_ns=0) -> dict:
        """Test reader: ``n`` reads of ``slot`` (or until ``max_ns``), GIL released, each
        checked: bids strictly descending, asks strictly ascending, checksum, update id
        never going back. Honours ``_recheck``. Returns counts."""
        cdef const ff_shm_slot* s = self._slot(slot)
        cdef ff_shm_view v
        cdef uint32_t d = self.depth
        cdef int64_t* lv = self.scratch
        cdef int64_t i, j, reads = 0, retries = 0, bad_order = 0, bad_sum = 0, back = 0
        cdef int64_t last_id = -(1LL << 62), t_end = 0
        cdef bint recheck = self._recheck, bad
        with nogil:
            if max_ns > 0:
                t_end = ff_monotonic_ns() + max_ns
            i = 0
            while i < n:
                if not ff_shm_try_read(s, d, &v, lv, recheck):
                    retries += 1
                    continue
                i += 1
                reads += 1
                bad = False
                for j in range(1, v.n_bids):
                    if lv[2 * j] >= lv[2 * j - 2]:
                        bad = True
                for j in range(1, v.n_asks):
                    if lv[2 * d + 2 * j] <= lv[2 * d + 2 * j - 2]:
                        bad = True
                if bad:
                    bad_order += 1
                if ff_shm_view_checksum(&v, d, lv) != v.checksum:
                    bad_sum += 1
                if v.update_id < last_id:
                    back += 1
                last_id = v.update_id
                if t_end and (i & 255) == 0 and ff_monotonic_ns() > t_end:
                    break
        return {"reads": reads, "retries": retries, "bad_order": bad_order,
                "bad_checksum": bad_sum, "id_backwards": back, "last_id": last_id}

    def _visible_latency(self, uint32_t slot, int64_t n, int64_t timeout_ns):
        """Bench reader: spin on ``slot`` and, for each of ``n`` new versions written by
        ``SegmentWriter._hammer(stamp=True)``, record CLOCK_MONOTONIC after the copy minus
        the writer's stamp. Returns an int64 array of ns (shorter on timeout)."""
        cdef const ff_shm_slot* s = self._slot(slot)
        cdef ff_shm_view v
        cdef uint32_t d = self.depth
        cdef int64_t* lv = self.scratch
        out = np.zeros(n, dtype=np.int64)
        cdef int64_t[::1] o = out
        cdef int64_t k = 0, t_end, spins = 0
        cdef uint64_t last = <uint64_t>FF_LOAD_ACQ(&s.updates)
        with nogil:
            t_end = ff_monotonic_ns() + timeout_ns
            while k < n:
                if <uint64_t>FF_LOAD_RLX(&s.updates) == last:
                    spins += 1
                    if (spins & 1023) == 0 and ff_monotonic_ns() > t_end:
                        break
                    continue
                if not ff_shm_try_read(s, d, &v, lv, 1):
                    continue
                if v.updates == last:
                    continue
                o[k] = ff_monotonic_ns() - v.exchange_ts_ns
                last = v.updates
                k += 1
        return out[:k]

    def _bench_read(self, uint32_t slot, int64_t n) -> float:
        """ns per ``read`` of ``slot`` from Python (Snapshot with its arrays included)."""
        cdef int64_t _i, t0 = ff_monotonic_ns()
        for _i in range(n):
            self.read(slot)
        return (ff_monotonic_ns() - t0) / <double>n
