# cython: language_level=3
"""Compiled side of the fan-out publisher (``docs/fanout.md``): the books' change logs,
the list of dirty books, and the wire encoder (``docs/wire.md``, version 1).

A ``FanHub`` owns one ``ff_fan_log`` per attached ``BookCore`` (``include/ff_fanout.h``).
The hot path appends each applied level change to its book's log and, the first time the
hub goes from idle to armed, calls ``FanHub.wake()`` (one Python call per flush, however
many books and messages). The publisher then drains the hub: every dirty book becomes
one message (a delta, or a snapshot when the book was replaced, its log overflowed, or a
periodic snapshot is due), built here straight from the C arrays.

Two sinks share the encoder: ``drain(publish)`` hands each message to a Python callable
(tests, benchmarks, other transports); ``drain_framed()`` writes each one, framed as a
NATS ``PUB``, into one bytes object that grows in place and is handed over whole by
``take_framed()``: a flush is one allocation and one socket write, whatever it holds.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_XDECREF
from libc.stdint cimport int8_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from posix.unistd cimport close

from fastfeed._book cimport L2Book
from fastfeed._cdefs cimport (
    FF_FAN_FULL,
    FF_FAN_NEW_EPOCH,
    FF_FAN_PERIODIC,
    FF_FAN_STATE,
    ff_fan_hub,
    ff_fan_log,
    ff_fan_reset,
    ff_fan_touch,
    ff_wall_ns,
    ff_wall_offset_ns,
    ff_wbuf,
    ff_writer,
    ff_writer_free,
    ff_writer_join,
    ff_writer_queued,
    ff_writer_start,
    ff_writer_stop,
    ff_writer_submit,
    ff_writer_take_done,
)
from fastfeed._core cimport BookCore
from fastfeed._trades cimport TradeCore, TradeRecord

import zlib


cdef extern from "Python.h":
    # grows a bytes object it owns alone in place (the framed flush buffer)
    int _PyBytes_Resize(PyObject** obj, Py_ssize_t size) except -1

# docs/wire.md: kinds, flags, the header
cdef enum:
    DELTA = 1
    SNAPSHOT = 2
    TRADES = 3
    FLAG_REPLACED = 1
    HEADER_LEN = 88
    DEFAULT_MAX_DELTA_LEVELS = 1024
    FRAMED_MIN = 4096               # the framed buffer's least first size
    PUB_LINE_MAX = 32               # "PUB " + " " + 20 digits + CRLF, besides the subject
    NO_STATE = 255

KIND_DELTA = DELTA
KIND_SNAPSHOT = SNAPSHOT
KIND_TRADES = TRADES

cdef packed struct WireHeader:
    char magic[4]
    uint16_t version
    uint8_t kind
    uint8_t state
    uint32_t book_id
    int8_t price_decimals
    int8_t size_decimals
    uint16_t header_len
    uint64_t epoch
    uint64_t seq
    int64_t first_update_id
    int64_t last_update_id
    int64_t exchange_ns
    int64_t recv_ns
    int64_t publish_ns
    uint32_t n_bids
    uint32_t n_asks
    uint32_t messages
    uint32_t flags


assert sizeof(WireHeader) == HEADER_LEN


# A framed message starts after its PUB line, at any byte: the encoder stores into it
# only with memcpy (no int64/struct access through a misaligned pointer).

cdef inline char* _put_reversed(char* dst, const int64_t* src, Py_ssize_t n) noexcept nogil:
    """src[n-1], ..., src[0] as int64 at dst; the byte after them."""
    cdef Py_ssize_t i
    for i in range(n):
        memcpy(dst + 8 * i, &src[n - 1 - i], 8)
    return dst + 8 * n


cdef inline char* _put(char* dst, const int64_t* src, Py_ssize_t n) noexcept nogil:
    memcpy(dst, src, 8 * n)
    return dst + 8 * n


cdef inline Py_ssize_t _write_decimal(char* p, Py_ssize_t v) noexcept nogil:
    """``v`` (>= 0) in decimal at ``p``; the digits written."""
    cdef char tmp[20]
    cdef Py_ssize_t n = 0, i
    while True:
        tmp[n] = <char>(48 + v % 10)
        n += 1
        v //= 10
        if v == 0:
            break
    for i in range(n):
        p[i] = tmp[n - 1 - i]
    return n


cdef class FanHub:
    """The change logs of the books one publisher sends, and their dirty list.

    ``on_wake`` (a callable, set by the publisher) runs when the first change after a
    flush arrives; ``drain`` builds the messages. Memory: ``32 * max_delta_levels`` bytes
    of log per book (32 KiB at the default 1024), allocated at ``attach``.
    """

    cdef ff_fan_hub hub
    cdef ff_fan_log** logs          # by slot; NULL: free
    cdef list _cores                # by slot: the BookCore, or None
    cdef list _free                 # free slots
    cdef uint32_t n_slots
    cdef readonly uint32_t max_delta_levels
    cdef uint64_t _last_epoch
    cdef public object on_wake
    cdef public object on_full
    cdef readonly int64_t early_flushes  # logs about to overflow, handed to on_full
    cdef readonly int64_t overflows     # flushes that had to send a whole book
    cdef readonly int64_t lost_trades   # trades the ring overwrote before their flush
    cdef readonly int64_t wakes
    # what was sent, by kind (both sinks)
    cdef readonly int64_t messages      # wire messages
    cdef readonly int64_t bytes_sent    # their payload bytes
    cdef readonly int64_t deltas
    cdef readonly int64_t snapshots
    cdef readonly int64_t trade_messages
    cdef readonly int64_t too_large     # framed: above max_payload, counted and skipped
    cdef public Py_ssize_t max_payload  # framed: the server's limit (0: none)
    cdef list _subjects                 # by slot: (delta or trade subject, snapshot subject)
    cdef uint8_t* _states               # by slot: the state last sent (NO_STATE: none yet)
    cdef list _events                   # ("state"|"too_large", slot, ...) for take_events()
    cdef object _sink                   # during drain(publish): the callable; None: framed
    cdef object _msg                    # sink mode: the bytes being built
    cdef PyObject* _framed              # framed mode: the bytes being filled (owned)
    cdef Py_ssize_t _framed_len
    cdef Py_ssize_t _framed_last        # the size of the last buffer handed over
    cdef char* _cur                     # the message being built (its header)

    def __cinit__(self, uint32_t max_delta_levels=DEFAULT_MAX_DELTA_LEVELS):
        if not 1 <= max_delta_levels <= 1 << 24:
            raise ValueError("max_delta_levels must be in 1..16777216")
        self.max_delta_levels = max_delta_levels
        self._cores = []
        self._free = []
        self._subjects = []
        self._events = []
        memset(&self.hub, 0, sizeof(ff_fan_hub))

    def __dealloc__(self):
        cdef uint32_t i
        if self.logs != NULL:
            for i in range(self.n_slots):
                self._free_log(self.logs[i])
            PyMem_Free(self.logs)
        PyMem_Free(self.hub.dirty)
        PyMem_Free(self._states)
        Py_XDECREF(self._framed)

    cdef void _free_log(self, ff_fan_log* g) noexcept:
        if g == NULL:
            return
        PyMem_Free(g.px[0])
        PyMem_Free(g)

    def wake(self):
        """Called from the hot path when the hub arms (first change since a flush)."""
        self.wakes += 1
        if self.on_wake is not None:
            self.on_wake()

    def flush_full(self, BookCore core):
        """Called from the hot path when ``core``'s log cannot take its next message's
        changes: ``on_full(slot)`` may send that book at once (``drain_one``); otherwise
        the log overflows and the book goes out whole at the next flush."""
        self.early_flushes += 1
        if self.on_full is not None and core.fan_log != NULL:
            self.on_full(core.fan_log.slot)

    def drain_one(self, uint32_t slot, publish) -> int:
        """Send the book in ``slot`` now (as ``drain`` would) and take it off the dirty
        list; the messages published (0 if it was not dirty or ``publish`` refused)."""
        if publish is None:
            raise TypeError("publish must be a callable (drain_one_framed frames)")
        self._sink = publish
        try:
            return self._drain_slot(slot)
        finally:
            self._sink = None
            self._msg = None

    def drain_one_framed(self, uint32_t slot) -> int:
        """``drain_one`` into the framed buffer (see ``drain_framed``)."""
        return self._drain_slot(slot)

    cdef int _drain_slot(self, uint32_t slot) except -2:
        cdef ff_fan_log* g
        cdef uint32_t i, j = 0
        cdef int rc
        if slot >= self.n_slots or self.logs[slot] == NULL or not self.logs[slot].dirty:
            return 0
        g = self.logs[slot]
        if g.trades:
            rc = self._flush_trades(<TradeCore>self._cores[slot], g)
        else:
            rc = self._flush_one(<BookCore>self._cores[slot], g)
        if rc < 0 or g.dirty:
            return 0                # refused (or the announcement pending): stays listed
        for i in range(self.hub.n_dirty):
            if self.hub.dirty[i] != slot:
                self.hub.dirty[j] = self.hub.dirty[i]
                j += 1
        self.hub.n_dirty = j
        if j == 0:
            self.hub.armed = 0
        return rc

    cpdef uint64_t next_epoch(self):
        """A new epoch: the wall clock in ns, or one more than the last if it has not
        moved (docs/wire.md, ``epoch``)."""
        cdef uint64_t now = <uint64_t>ff_wall_ns()
        self._last_epoch = now if now > self._last_epoch else self._last_epoch + 1
        return self._last_epoch

    cdef ff_fan_log* _new_log(self, object core, size_t cap) except NULL:
        """A zeroed log of ``cap`` entries a side in a slot of its own (cap 0: a trade
        stream's mark)."""
        cdef ff_fan_log* g
        cdef uint32_t slot
        cdef void* mem
        g = <ff_fan_log*>PyMem_Malloc(sizeof(ff_fan_log))
        if g == NULL:
            raise MemoryError()
        memset(g, 0, sizeof(ff_fan_log))
        if cap:
            g.px[0] = <int64_t*>PyMem_Malloc(4 * cap * sizeof(int64_t))
            if g.px[0] == NULL:
                PyMem_Free(g)
                raise MemoryError()
            g.sz[0] = g.px[0] + cap
            g.px[1] = g.px[0] + 2 * cap
            g.sz[1] = g.px[0] + 3 * cap
        g.cap = <uint32_t>cap
        g.first_id = -1
        g.last_id = -1
        g.hub = &self.hub
        g.book_id = zlib.crc32(f"{core.venue}:{core.symbol}".encode())   # docs/wire.md
        if self._free:
            slot = self._free.pop()
            self._cores[slot] = core
        else:
            slot = self.n_slots
            mem = PyMem_Realloc(self.logs, (slot + 1) * sizeof(ff_fan_log*))
            if mem == NULL:
                self._free_log(g)
                raise MemoryError()
            self.logs = <ff_fan_log**>mem
            mem = PyMem_Realloc(self.hub.dirty, (slot + 1) * sizeof(uint32_t))
            if mem == NULL:
                self._free_log(g)
                raise MemoryError()
            self.hub.dirty = <uint32_t*>mem
            self.hub.cap = slot + 1
            mem = PyMem_Realloc(self._states, (slot + 1) * sizeof(uint8_t))
            if mem == NULL:
                self._free_log(g)
                raise MemoryError()
            self._states = <uint8_t*>mem
            self.n_slots = slot + 1
            self._cores.append(core)
            self._subjects.append(None)
        g.slot = slot
        self.logs[slot] = g
        self._states[slot] = NO_STATE
        self._subjects[slot] = None
        return g

    def set_subjects(self, uint32_t slot, bytes delta_subject, bytes snapshot_subject):
        """The NATS subjects ``drain_framed`` publishes the book in ``slot`` on: deltas
        (or a trade stream's messages) and snapshots."""
        if slot >= self.n_slots or self.logs[slot] == NULL:
            raise ValueError(f"no book in slot {slot}")
        for subj in (delta_subject, snapshot_subject):
            if not subj or any(c in subj for c in b" \t\r\n"):
                raise ValueError(f"bad subject {subj!r}")
        self._subjects[slot] = (delta_subject, snapshot_subject)

    def attach(self, BookCore core) -> int:
        """Publish ``core`` from now on; its slot. Its first message is a snapshot that
        starts an epoch."""
        if core.fan_log != NULL:
            raise ValueError(f"{core.venue}:{core.symbol} is already published")
        cdef ff_fan_log* g = self._new_log(core, self.max_delta_levels)
        core.fan_log = g
        core._fan_owner = self
        if ff_fan_touch(g, FF_FAN_FULL | FF_FAN_NEW_EPOCH | FF_FAN_STATE):
            self.wake()
        return g.slot

    def attach_trades(self, TradeCore core) -> int:
        """Publish the trade stream ``core`` from now on (the trades it records after
        this call); its slot."""
        if core.fan_log != NULL:
            raise ValueError(f"{core.venue}:{core.symbol} trades are already published")
        cdef ff_fan_log* g = self._new_log(core, 0)
        g.trades = 1
        g.epoch = self.next_epoch()
        core.fan_log = g
        core._fan_owner = self
        core.fan_sent = core.recorded
        if ff_fan_touch(g, FF_FAN_STATE):
            self.wake()
        return g.slot

    def detach(self, core) -> None:
        """Stop publishing ``core`` (a book or a trade stream; its pending changes are
        dropped)."""
        cdef ff_fan_log* g
        cdef uint32_t i, j = 0, slot
        if isinstance(core, BookCore):
            g = (<BookCore>core).fan_log
        else:
            g = (<TradeCore?>core).fan_log
        if g == NULL or self._cores[g.slot] is not core:
            return
        slot = g.slot
        if g.dirty:
            for i in range(self.hub.n_dirty):
                if self.hub.dirty[i] != slot:
                    self.hub.dirty[j] = self.hub.dirty[i]
                    j += 1
            self.hub.n_dirty = j
        if isinstance(core, BookCore):
            (<BookCore>core).fan_log = NULL
            (<BookCore>core)._fan_owner = None
        else:
            (<TradeCore>core).fan_log = NULL
            (<TradeCore>core)._fan_owner = None
        self.logs[slot] = NULL
        self._free_log(g)
        self._cores[slot] = None
        self._subjects[slot] = None
        self._free.append(slot)

    def core(self, uint32_t slot):
        """The book in ``slot`` (None: free)."""
        return self._cores[slot] if slot < self.n_slots else None

    @property
    def books(self) -> int:
        """Books attached."""
        return self.n_slots - len(self._free)

    @property
    def dirty(self) -> int:
        """Books waiting for a flush."""
        return self.hub.n_dirty

    @property
    def armed(self) -> bool:
        """A flush is due (woken and not yet drained completely)."""
        return bool(self.hub.armed)

    def touch_all(self, bint new_epoch) -> bool:
        """Mark every book for a snapshot (``new_epoch``: starting a new epoch, as after
        the publisher lost its connection); True if the hub armed (schedule a flush)."""
        cdef uint32_t i, flags = FF_FAN_FULL | FF_FAN_STATE
        cdef int armed = 0
        if new_epoch:
            flags |= FF_FAN_NEW_EPOCH
        for i in range(self.n_slots):
            if self.logs[i] != NULL:
                # a trade stream starts an epoch too: its trades in flight may be lost
                if self.logs[i].trades and new_epoch:
                    self.logs[i].epoch = self.next_epoch()
                    self.logs[i].seq = 0
                armed |= ff_fan_touch(self.logs[i], flags)
        return bool(armed)

    def request_snapshots(self, uint32_t start, uint32_t count) -> tuple:
        """Mark up to ``count`` books from slot ``start`` on (round robin) for a periodic
        snapshot; ``(next start, armed)``."""
        cdef uint32_t i = start, done = 0, seen = 0
        cdef int armed = 0
        if self.n_slots == 0:
            return 0, False
        while done < count and seen < self.n_slots:
            if i >= self.n_slots:
                i = 0
            if self.logs[i] != NULL and not self.logs[i].trades:
                armed |= ff_fan_touch(self.logs[i], FF_FAN_PERIODIC)
                done += 1
            i += 1
            seen += 1
        return (i % self.n_slots), bool(armed)

    def drain(self, publish) -> int:
        """Turn every dirty book into its message(s) and hand each to
        ``publish(slot, kind, payload) -> bool``. A False return (the connection cannot
        take more now) stops the drain: that book and the rest stay dirty and the hub
        stays armed for the next call. Returns the messages published."""
        if publish is None:
            raise TypeError("publish must be a callable (drain_framed frames)")
        self._sink = publish
        try:
            return self._drain_all()
        finally:
            self._sink = None
            self._msg = None

    def drain_framed(self) -> int:
        """Every dirty book's message(s), each framed as a NATS ``PUB`` on the subjects
        given to ``set_subjects``, appended to the buffer ``take_framed`` hands over; the
        messages added. One above ``max_payload`` is counted (``too_large``), reported by
        ``take_events`` and skipped: refusing it would stop every other book's flush."""
        return self._drain_all()

    def take_framed(self) -> bytes:
        """The framed messages since the last call, as one bytes object (b"" if none),
        ready for one socket write."""
        if self._framed_len == 0:
            return b""
        _PyBytes_Resize(&self._framed, self._framed_len)
        self._framed_last = self._framed_len
        out = <object>self._framed
        Py_XDECREF(self._framed)
        self._framed = NULL
        self._framed_len = 0
        return out

    @property
    def framed_bytes(self) -> int:
        """Bytes waiting in the framed buffer."""
        return self._framed_len

    def take_events(self) -> list:
        """What the framed drains noticed since the last call, in order:
        ``("state", slot, kind, state, epoch, seq)`` when a book's (or trade stream's)
        published state changed, ``("too_large", slot, size)`` for a skipped message."""
        out, self._events = self._events, []
        return out

    cdef int _drain_all(self) except -2:
        cdef uint32_t i = 0, j, slot, n = self.hub.n_dirty
        cdef ff_fan_log* g
        cdef int sent = 0, rc
        try:
            while i < n:
                slot = self.hub.dirty[i]
                g = self.logs[slot]
                if g.trades:
                    rc = self._flush_trades(<TradeCore>self._cores[slot], g)
                else:
                    rc = self._flush_one(<BookCore>self._cores[slot], g)
                if rc < 0:
                    break
                sent += rc
                i += 1
        finally:
            # keep what was not flushed, in order (also when publish raised: a flushed
            # log left in the list could be listed twice and overrun it)
            j = 0
            while i < n:
                self.hub.dirty[j] = self.hub.dirty[i]
                i += 1
                j += 1
            # entries added while publishing (a callback touched a book) come after
            while n < self.hub.n_dirty:
                self.hub.dirty[j] = self.hub.dirty[n]
                n += 1
                j += 1
            self.hub.n_dirty = j
            if j == 0:
                self.hub.armed = 0
        return sent

    # ------------------------------------------------------------------ the two sinks

    cdef char* _begin(self, uint32_t slot, int kind, Py_ssize_t size) except? NULL:
        """Where one message of ``size`` bytes is to be written: a new bytes object for
        the ``publish`` callable, or the framed buffer after the message's PUB line.
        NULL without an error: too large for the server, counted and skipped."""
        cdef bytes subj
        cdef Py_ssize_t sl, need, cap
        cdef char* base
        cdef char* p
        if self._sink is not None:
            self._msg = PyBytes_FromStringAndSize(NULL, size)
            self._cur = PyBytes_AS_STRING(self._msg)
            return self._cur
        if self.max_payload and size > self.max_payload:
            self.too_large += 1
            self._events.append(("too_large", slot, size))
            return NULL
        pair = self._subjects[slot]
        if pair is None:
            raise RuntimeError(f"slot {slot} has no subjects (FanHub.set_subjects)")
        subj = pair[1] if kind == SNAPSHOT else pair[0]
        sl = len(subj)
        need = self._framed_len + PUB_LINE_MAX + sl + size + 2
        if self._framed == NULL:
            # sized for what the last flush held: one allocation, no growth, as a rule
            cap = 2 * self._framed_last
            if cap < FRAMED_MIN:
                cap = FRAMED_MIN
            if cap < need:
                cap = need
            obj = PyBytes_FromStringAndSize(NULL, cap)
            self._framed = <PyObject*>obj
            Py_INCREF(obj)
        elif need > PyBytes_GET_SIZE(<object>self._framed):
            cap = 2 * PyBytes_GET_SIZE(<object>self._framed)
            _PyBytes_Resize(&self._framed, cap if cap >= need else need)
        base = PyBytes_AS_STRING(<object>self._framed)
        p = base + self._framed_len
        memcpy(p, b"PUB ", 4)
        memcpy(p + 4, PyBytes_AS_STRING(subj), sl)
        p += 4 + sl
        p[0] = b' '
        p += 1 + _write_decimal(p + 1, size)
        p[0] = b'\r'
        p[1] = b'\n'
        self._cur = p + 2
        return self._cur

    cdef int _end(self, uint32_t slot, int kind, Py_ssize_t size) except -2:
        """The message begun with ``_begin`` is complete: hand it to the callable (-1 if
        it refused) or close its frame; count it and note a change of published state."""
        cdef const WireHeader* h = <const WireHeader*>self._cur
        cdef uint8_t state = h.state
        cdef uint64_t epoch = h.epoch, seq = h.seq
        if self._sink is not None:
            msg = self._msg
            self._msg = None
            if not self._sink(slot, kind, msg):
                return -1
        else:
            self._cur[size] = b'\r'
            self._cur[size + 1] = b'\n'
            self._framed_len = self._cur + size + 2 - PyBytes_AS_STRING(<object>self._framed)
            if state != self._states[slot]:
                self._events.append(("state", slot, kind, state, epoch, seq))
        self._states[slot] = state
        self.messages += 1
        self.bytes_sent += size
        if kind == SNAPSHOT:
            self.snapshots += 1
        elif kind == TRADES:
            self.trade_messages += 1
        else:
            self.deltas += 1
        return 1

    # ------------------------------------------------------------------ messages

    cdef int _flush_one(self, BookCore core, ff_fan_log* g) except -2:
        """The message(s) of one dirty book; -1 if the sink refused (nothing changed)."""
        cdef uint32_t flags = g.flags
        cdef uint64_t epoch = g.epoch, seq = g.seq
        cdef int sent = 0, kind = 0, rc
        if flags & FF_FAN_NEW_EPOCH:
            # the book was replaced (or the publisher reconnected): a new epoch
            kind = SNAPSHOT
            epoch = self.next_epoch()
            seq = 0
        elif flags & FF_FAN_FULL:
            # too many changes to log, or replaced in place: the whole book as the next seq
            kind = SNAPSHOT
            seq += 1
        elif g.messages or g.n[0] or g.n[1] or flags & FF_FAN_STATE:
            kind = DELTA
            seq += 1
        if kind:
            rc = self._encode(core, g, kind, epoch, seq,
                              FLAG_REPLACED if flags & FF_FAN_NEW_EPOCH else 0)
            if rc < 0:
                return -1
            sent = rc
            g.epoch = epoch
            g.seq = seq
            if kind == SNAPSHOT:
                flags &= ~FF_FAN_PERIODIC    # the snapshot just sent serves
                if not flags & FF_FAN_NEW_EPOCH:
                    self.overflows += 1
            if flags & FF_FAN_NEW_EPOCH:
                # announce the epoch on the delta stream at once (docs/wire.md): a consumer
                # reading deltas must learn of it even if the book then stays still
                ff_fan_reset(g)
                g.flags = FF_FAN_STATE       # kept if the announcement is refused
                g.dirty = 1
                rc = self._encode(core, g, DELTA, epoch, 1, 0)
                if rc < 0:
                    return -1
                g.seq = 1
                sent += rc
        if flags & FF_FAN_PERIODIC:
            # a refused periodic snapshot is only skipped: the next round sends one
            rc = self._encode(core, g, SNAPSHOT, g.epoch, g.seq, 0)
            if rc > 0:
                sent += rc
        g.flags = 0
        ff_fan_reset(g)
        return sent

    cdef int _flush_trades(self, TradeCore core, ff_fan_log* g) except -2:
        """The trades a stream recorded since its last message (and its state); -1 if
        the sink refused. Trades the ring overwrote before a flush are counted in the
        message's ``lost`` field (docs/wire.md, "Trades")."""
        cdef int64_t n = core.recorded - core.fan_sent, lost = 0
        cdef Py_ssize_t i, k, size
        cdef char* p
        cdef WireHeader* h
        cdef TradeRecord rec
        cdef Py_ssize_t first = 0, last = 0
        if n > core.count:
            lost = n - core.count
            n = core.count
        if n == 0 and not (g.flags & FF_FAN_STATE):
            g.flags = 0
            ff_fan_reset(g)
            return 0
        size = HEADER_LEN + n * sizeof(TradeRecord)
        p = self._begin(g.slot, TRADES, size)
        if p != NULL:
            h = <WireHeader*>p
            for i in range(n):
                k = core.head - n + i
                if k < 0:
                    k += core.capacity
                if i == 0:
                    first = k
                last = k
                rec = core.ring[k]
                memset(rec.pad, 0, sizeof(rec.pad))     # docs/wire.md: zero padding
                memcpy(p + HEADER_LEN + i * sizeof(TradeRecord), &rec, sizeof(TradeRecord))
            memset(h, 0, HEADER_LEN)
            memcpy(h.magic, b"FFNB", 4)
            h.version = 1
            h.kind = TRADES
            h.state = <uint8_t>core.seq.state
            h.book_id = g.book_id
            h.price_decimals = <int8_t>core.price_grid.decimals
            h.size_decimals = <int8_t>core.size_grid.decimals
            h.header_len = HEADER_LEN
            h.epoch = g.epoch
            h.seq = g.seq + 1
            h.first_update_id = core.ring[first].trade_id if n else -1
            h.last_update_id = core.ring[last].trade_id if n else -1
            h.exchange_ns = core.ring[last].exchange_ns if n else 0
            h.recv_ns = core.ring[last].recv_ns if n else 0
            h.publish_ns = ff_wall_ns()
            h.n_bids = <uint32_t>n
            h.messages = <uint32_t>min(lost, 0xFFFFFFFF)
            if self._end(g.slot, TRADES, size) < 0:
                return -1
            g.seq += 1
        core.fan_sent = core.recorded
        self.lost_trades += lost
        g.flags = 0
        ff_fan_reset(g)
        return 1 if p != NULL else 0

    cdef int _encode(self, BookCore core, ff_fan_log* g, int kind, uint64_t epoch,
                     uint64_t seq, uint32_t flags) except -2:
        """One message of ``core`` into the sink: 1, 0 if skipped as too large, -1 if
        the sink refused."""
        cdef L2Book bk = core.book
        cdef Py_ssize_t nb, na, size
        cdef char* p
        cdef WireHeader* h
        cdef char* a
        cdef int64_t now = ff_wall_ns()
        if kind == SNAPSHOT:
            nb = bk.n_bids
            na = bk.n_asks
        else:
            nb = g.n[0]
            na = g.n[1]
        size = HEADER_LEN + 16 * (nb + na)
        p = self._begin(g.slot, kind, size)
        if p == NULL:
            return 0
        h = <WireHeader*>p
        memcpy(h.magic, b"FFNB", 4)
        h.version = 1
        h.kind = <uint8_t>kind
        h.state = <uint8_t>core.seq.state
        h.book_id = g.book_id
        h.price_decimals = <int8_t>core.price_grid.decimals
        h.size_decimals = <int8_t>core.size_grid.decimals
        h.header_len = HEADER_LEN
        h.epoch = epoch
        h.seq = seq
        h.first_update_id = g.first_id if kind == DELTA and g.messages else -1
        h.last_update_id = core.seq.book_id
        h.exchange_ns = core.last_event_time_ns
        h.recv_ns = (core.last_recv_ns + ff_wall_offset_ns(core.last_recv_ns)
                     if core.last_recv_ns else 0)
        h.publish_ns = now
        h.n_bids = <uint32_t>nb
        h.n_asks = <uint32_t>na
        h.messages = g.messages if kind == DELTA else 0
        h.flags = flags
        a = p + HEADER_LEN
        if kind == SNAPSHOT:
            # the book keeps each side best level last; the wire wants best first
            a = _put_reversed(a, bk.bid_px, nb)
            a = _put_reversed(a, bk.bid_sz, nb)
            a = _put_reversed(a, bk.ask_px, na)
            _put_reversed(a, bk.ask_sz, na)
        else:
            a = _put(a, g.px[0], nb)
            a = _put(a, g.sz[0], nb)
            a = _put(a, g.px[1], na)
            _put(a, g.sz[1], na)
        return self._end(g.slot, kind, size)


cdef class SocketWriter:
    """Sends buffers to a socket from a thread of its own (``include/ff_writer.h``), so
    the event loop's thread only queues them (docs/fanout.md, "How it stays off the hot
    path").

    ``fd`` is the connection's descriptor (the writer works on a dup of it). ``submit``
    returns the bytes queued after the buffer; above ``high_mark`` the caller should stop
    queueing until ``notify_fd`` becomes readable and ``queued`` is back at ``low_mark``.
    ``notify_fd`` (the read end of a pipe, for ``loop.add_reader``) also fires when the
    writer fails (``error``) or finishes; call ``wakeup()`` then, which also releases the
    buffers already sent.
    """

    cdef ff_writer w
    cdef bint _started              # the ff_writer was initialised (its lock exists)
    cdef bint _running              # buffers may be submitted
    cdef bint _joined
    cdef readonly int notify_fd
    cdef int _notify_w
    cdef readonly size_t high_mark
    cdef readonly size_t low_mark

    def __cinit__(self, int fd, size_t high_mark, size_t low_mark):
        import os
        self.notify_fd = -1         # before anything can raise: __dealloc__ closes them
        self._notify_w = -1
        self._joined = True
        if low_mark > high_mark:
            raise ValueError("low_mark must not exceed high_mark")
        self.high_mark = high_mark
        self.low_mark = low_mark
        mine = os.dup(fd)
        try:
            # os.pipe: close-on-exec already, and portable (pipe2 is Linux-only)
            self.notify_fd, self._notify_w = os.pipe()
            os.set_blocking(self.notify_fd, False)
            os.set_blocking(self._notify_w, False)
        except BaseException:
            os.close(mine)
            raise
        rc = ff_writer_start(&self.w, mine, self._notify_w, low_mark)
        self._started = True
        if rc != 0:
            raise OSError(rc, "cannot start the socket writer thread")   # __dealloc__ closes
        self._running = True
        self._joined = False

    def __dealloc__(self):
        if self._started:
            if not self._joined:
                ff_writer_stop(&self.w, 0)
            with nogil:
                ff_writer_join(&self.w)     # also closes the descriptor of a failed start
            self._release()
            ff_writer_free(&self.w)
        if self.notify_fd >= 0:
            _close_fd(self.notify_fd)
        if self._notify_w >= 0:
            _close_fd(self._notify_w)

    cdef void _release(self) noexcept:
        """Drop the references to the buffers the thread is done with."""
        cdef ff_wbuf* b = ff_writer_take_done(&self.w)
        cdef ff_wbuf* nxt
        while b != NULL:
            nxt = b.next
            Py_DECREF(<object>b.owner)
            PyMem_Free(b)
            b = nxt

    def submit(self, bytes data) -> int:
        """Queue ``data`` (kept alive until sent); the bytes queued after it, or -1 if the
        writer has stopped (nothing queued)."""
        cdef ff_wbuf* b
        cdef size_t q
        if not self._running or len(data) == 0:
            return -1 if not self._running else <Py_ssize_t>ff_writer_queued(&self.w)
        self._release()
        b = <ff_wbuf*>PyMem_Malloc(sizeof(ff_wbuf))
        if b == NULL:
            raise MemoryError()
        b.p = PyBytes_AS_STRING(data)
        b.len = len(data)
        b.owner = <void*>data
        Py_INCREF(data)
        q = ff_writer_submit(&self.w, b, self.high_mark)
        if q == 0:
            Py_DECREF(data)
            PyMem_Free(b)
            self._running = False
            return -1
        return <Py_ssize_t>q

    def wakeup(self) -> None:
        """``notify_fd`` was readable: empty it and release the buffers already sent."""
        import os
        try:
            while os.read(self.notify_fd, 4096):
                pass
        except BlockingIOError:
            pass
        self._release()

    def stop(self, bint drain=False) -> None:
        """Finish the thread: after sending what is queued (``drain``; ``finished`` tells
        when), or at once (the connection is being dropped: its socket is shut down and
        unsent buffers are released)."""
        self._running = False
        if not self._joined:
            ff_writer_stop(&self.w, drain)

    def join(self) -> None:
        """Stop the thread if that was not asked (at once), wait for it (quick after a
        non-draining ``stop`` or once ``finished``) and close its descriptor."""
        if self._joined:
            return
        if self._running:
            self.stop(False)
        with nogil:
            ff_writer_join(&self.w)
        self._joined = True
        self._release()

    @property
    def queued(self) -> int:
        """Bytes queued and not yet written."""
        return ff_writer_queued(&self.w) if not self._joined else 0

    @property
    def error(self) -> int:
        """The errno that stopped the writer (0: none)."""
        return self.w.err

    @property
    def finished(self) -> bool:
        """The thread has ended (stopped, drained or failed)."""
        return bool(self.w.finished)

    @property
    def sends(self) -> int:
        """``send()`` calls that wrote something."""
        return self.w.sends

    @property
    def bytes_written(self) -> int:
        """Bytes written to the socket."""
        return self.w.bytes


cdef inline void _close_fd(int fd) noexcept nogil:
    close(fd)                   # libc: also safe while the interpreter shuts down
