# cython: language_level=3
"""TradeCore: one trade stream's share of the hot path; TradeFeed's compiled base.

A trade decoder (``_parse``, ``parse/*_trades.pxi``) fills a batch with one Delta (price
and size text) and one Trade (id, time, side, stream) per trade, oldest first, one
segment per run of a symbol. Here one segment goes: stream check → convert at the
instrument's scale (``convert_segment``, as for books: the whole segment or nothing) →
id checks of the stream's rule → records into a ring buffer of ``TradeRecord`` in C
memory (``capacity`` trades; when full the oldest are overwritten and counted) → the
optional Python callback. Nothing is allocated per trade; gaps, rejects and the callback
are the only Python on this path. The rules are in ``docs/venues.md`` ("Trades"); the
states are the book states of ``docs/states.md``, changed through the same ``Sequencer``.

``OfflineTradeCore`` adds its own decode step (the venue's trade decoder and the
connection-level sequence check the router applies to books) for ``TradeFeed``.
"""

import logging
from bisect import bisect_left, bisect_right

import numpy as np

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memcmp, memcpy

from fastfeed._cdefs cimport (
    FF_FAN_STATE,
    FF_STORE_RLX,
    ff_monotonic_ns as monotonic_ns,
    ff_shm_market_begin,
    ff_shm_market_end,
    ff_fan_touch,
    ff_shm_put_trade,
    ff_wall_offset_ns,
)
from fastfeed._core cimport reject_counts_by_name
from fastfeed._parse cimport (
    DecodeFn,
    batch_error_message,
    convert_error_message,
    convert_segment,
    decoder_named,
    grid_init,
    venue_trade_decoder,
)
from fastfeed._sync cimport (
    SYNC_CLOSED,
    SYNC_GAP,
    SYNC_LIVE,
    SYNC_STALE,
    SYNC_SYNCING,
    Sequencer,
    connection_sequence_broken,
    sequence_break_reason,
)
from fastfeed._types cimport (
    DEC_OK,
    MSG_TRADES,
    MSG_VENUE_ERROR,
    REJECT_VENUE_ERROR,
    DeltaBatch,
    Segment,
    Trade,
    batch_free,
    batch_init,
    batch_reset,
)

from fastfeed._core import DecodeRejected
from fastfeed._parse import TRADE_STREAMS as _TRADE_STREAMS
from fastfeed._sync import STATE_NAMES as _STATE_NAMES
from fastfeed.venues import get_venue

log = logging.getLogger("fastfeed.trades")

#: Trades a stream's ring holds unless told otherwise (48 bytes each: 3 MiB).
DEFAULT_CAPACITY = 65_536
#: Missing id ranges kept per stream; beyond it the last range is widened to cover the
#: new one (a backfill then fetches a few trades it already has: never fewer).
MAX_MISSING = 4096

#: Id rules by the names venue descriptions use (``Venue.trade_streams``).
ID_RULES = {"observed": ID_OBSERVED, "contiguous": ID_CONTIGUOUS,
            "contiguous-fills": ID_CONTIGUOUS_FILLS}
_STREAM_CODES = {name: code for code, name in _TRADE_STREAMS.items()}


cdef TradeRecord _r
#: The numpy layout of one recorded trade, field for field the C ``TradeRecord``.
TRADE_DTYPE = np.dtype({
    "names": ["recv_ns", "exchange_ns", "trade_id", "price", "size", "side"],
    "formats": ["=i8", "=i8", "=i8", "=i8", "=i8", "=i1"],
    "offsets": [<char*>&_r.recv_ns - <char*>&_r, <char*>&_r.exchange_ns - <char*>&_r,
                <char*>&_r.trade_id - <char*>&_r, <char*>&_r.price - <char*>&_r,
                <char*>&_r.size - <char*>&_r, <char*>&_r.side - <char*>&_r],
    "itemsize": sizeof(TradeRecord),
})


cdef class TradeCore:
    """One trade stream: ring buffer of trades, the stream's id checks, counters, state.

    ``venue`` is a venue id, ``symbol`` what the venue's messages call the instrument;
    ``stream`` one of the venue's trade streams (``Venue.trade_streams``: ``trade`` or
    ``aggTrade`` on Binance spot, ``aggTrade`` on USD-M, ``market_trades``,
    ``matches``), or None: the venue's only one, or (Binance spot) the first one the
    messages carry, fixed from then on. Scales as for
    books (``fastfeed.feed.instrument_scales``). ``capacity`` bounds the ring. With
    ``strict`` a rejected payload raises ``DecodeRejected`` after being counted. Payloads
    reach a core through a router (``process_segment``) or, offline, through
    ``OfflineTradeCore.apply_message``.
    """

    def __cinit__(self):
        self.ring = NULL
        self.shm_market = NULL

    def __dealloc__(self):
        PyMem_Free(self.ring)

    def __init__(self, str venue, str symbol, int price_decimals, int size_decimals,
                 int64_t price_tick=1, int64_t size_step=1, *, stream=None,
                 Py_ssize_t capacity=DEFAULT_CAPACITY, bint strict=True):
        cdef int i
        spec = get_venue(venue)
        if not spec.trade_decoder:
            raise ValueError(f"{venue} has no trade streams")
        if price_tick < 1 or size_step < 1:
            raise ValueError("price_tick and size_step must be positive integers")
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 trade, got {capacity}")
        for i in range(8):
            self.stream_rules[i] = -1
        for name, rule in spec.trade_streams:
            self.stream_rules[<int>_STREAM_CODES[name]] = ID_RULES[rule]
        self.stream_code = 0
        self.id_rule = ID_OBSERVED
        names = [name for name, _ in spec.trade_streams]
        if stream is None and len(names) == 1:
            stream = names[0]               # the venue has one trade stream: it is this one
        if stream is not None:
            if stream not in names:
                raise ValueError(f"{venue} has no trade stream {stream!r} "
                                 f"(expected one of {', '.join(names)})")
            self.stream_code = _STREAM_CODES[stream]
            self.id_rule = self.stream_rules[self.stream_code]
        self.unreadable_is_gap = (spec.unreadable_is_gap if spec.trades_unreadable_is_gap is None
                                  else spec.trades_unreadable_is_gap)
        self.venue = venue
        self.symbol = symbol.upper()
        self._symbol_key = self.symbol.encode("ascii")
        self.symbol_ptr = PyBytes_AS_STRING(self._symbol_key)
        self.symbol_len = len(self._symbol_key)
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self.price_tick = price_tick
        self.size_step = size_step
        if (grid_init(&self.price_grid, price_decimals, price_tick) != 0
                or grid_init(&self.size_grid, size_decimals, size_step) != 0):
            raise ValueError(f"unusable scales {price_decimals}/{size_decimals}")
        self.strict = strict
        PyMem_Free(self.ring)
        self.ring = <TradeRecord*>PyMem_Malloc(capacity * sizeof(TradeRecord))
        if self.ring == NULL:
            raise MemoryError()
        self.capacity = capacity
        self.head = self.count = 0
        self.last_trade_id = self.last_fill_id = -1
        self._missing = []
        self.seq = Sequencer("in-band")
        self.seq.go_live(-1)        # a trade stream needs no snapshot: live at once

    # ------------------------------------------------------------------ hot path

    cdef bint matches(self, const Segment* seg) noexcept nogil:
        return seg.symbol_len == self.symbol_len and (
            self.symbol_len == 0
            or memcmp(seg.symbol_ptr, self.symbol_ptr, self.symbol_len) == 0)

    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload) except -1:
        """This stream's share of a decoded trade message: the trades recorded."""
        cdef const Trade* tr
        cdef TradeRecord* rec
        cdef Py_ssize_t i
        cdef int64_t floor, tid, recv_wall
        cdef uint8_t code
        cdef int n = 0
        if self.seq.state == SYNC_CLOSED or seg.count <= 0:
            return 0
        code = b.trades[seg.start].stream
        if code != self.stream_code:
            if self.stream_code != 0 or code >= 8 or self.stream_rules[code] < 0:
                self.other_stream += 1
                return 0
            self.stream_code = code         # the first stream seen is this core's
            self.id_rule = self.stream_rules[code]
        self.messages += 1
        if convert_segment(b, seg, &self.price_grid, &self.size_grid) != DEC_OK:
            return self._reject_convert(b, seg, payload)
        recv_wall = t_recv + ff_wall_offset_ns(t_recv)
        floor = self.last_trade_id          # ids up to here are held: duplicates
        for i in range(seg.start, seg.start + seg.count):
            tr = &b.trades[i]
            tid = tr.trade_id
            if tid >= 0 and self.last_trade_id >= 0:
                if tid <= floor:
                    self.duplicates += 1
                    continue
                if tid > self.last_trade_id + 1:
                    if self.id_rule == ID_OBSERVED:
                        self.id_jumps += 1
                    else:
                        self.lost(f"trade id gap: {self.last_trade_id} then {tid}",
                                  self.last_trade_id + 1, tid - 1)
                elif tid <= self.last_trade_id:
                    # after `floor` but not after the last id: out of order in one message
                    if self.id_rule != ID_OBSERVED:
                        self.duplicates += 1
                        continue
                    self.id_jumps += 1
                elif (self.id_rule == ID_CONTIGUOUS_FILLS and tr.first_id >= 0
                      and self.last_fill_id >= 0 and tr.first_id != self.last_fill_id + 1):
                    self.id_jumps += 1
            if tid > self.last_trade_id:
                self.last_trade_id = tid
            if tr.last_id >= 0:
                self.last_fill_id = tr.last_id
            rec = &self.ring[self.head]
            rec.recv_ns = recv_wall
            rec.exchange_ns = tr.time_ns
            rec.trade_id = tid
            rec.price = b.levels[i].price
            rec.size = b.levels[i].size
            rec.side = tr.side
            self.head += 1
            if self.head == self.capacity:
                self.head = 0
            if self.count < self.capacity:
                self.count += 1
            else:
                self.overwritten += 1
            self.last_exchange_ns = tr.time_ns
            if self.sink_fn != NULL:        # optional hook: local candles (_candles)
                self.sink_fn(self.sink, rec)
            n += 1
        if n:
            self.recorded += n
            self.last_recv_ns = t_recv
            if self.shm_market != NULL:
                self.shm_publish(n)
            if self.fan_log != NULL and ff_fan_touch(self.fan_log, 0):
                self._fan_owner.wake()
            if self.callback is not None:
                if self.callback_per_read and self._read_queue is not None:
                    if not self._in_read_queue:
                        self._in_read_queue = True
                        self._read_queue.append(self)
                else:
                    self._run_callback()
        return n

    cdef void shm_publish(self, Py_ssize_t n) noexcept nogil:
        """Copy the newest ``n`` recorded trades and the state into the shared-memory
        market block (one seqlock write; docs/shm.md)."""
        cdef Py_ssize_t i, k
        cdef const TradeRecord* r
        if n > self.count:
            n = self.count
        ff_shm_market_begin(self.shm_market)
        for i in range(n):
            k = self.head - n + i
            if k < 0:
                k += self.capacity
            r = &self.ring[k]
            ff_shm_put_trade(self.shm_market, self.shm_published, r.exchange_ns, r.recv_ns,
                             r.trade_id, r.price, r.size, r.side)
            self.shm_published += 1
        FF_STORE_RLX(&self.shm_market.trades_total, self.shm_published)
        FF_STORE_RLX(&self.shm_market.trade_state, self.seq.state)
        ff_shm_market_end(self.shm_market)

    # ------------------------------------------------------------------ cold path

    cdef int lost(self, str reason, int64_t first, int64_t last) except -1:
        """Trades ``first..last`` (ids; -1, -1: unknown) were lost: count, remember the
        range for a backfill, and the stream is ``gap`` until ``clear_gaps``."""
        cdef int64_t a, z
        self.gaps += 1
        if len(self._missing) >= MAX_MISSING:
            a, z = self._missing.pop()
            if a >= 0 and first >= 0:
                first = a
                last = max(z, last)
            else:
                first = last = -1
        self._missing.append((first, last))
        self.last_gap_reason = reason
        if self.seq.state == SYNC_LIVE:
            self.seq.transition(SYNC_GAP)
        self._state_changed()
        if self._owner is not None:
            self._owner.on_trades_gap(self, reason)
        return 0

    cdef int _reject_convert(self, DeltaBatch* b, const Segment* seg,
                             const char* payload) except -1:
        """A trade did not convert at this stream's scale: the segment's trades are
        lost; their ids (when known) are the missing range."""
        cdef int64_t lo = -1, hi = -1, tid
        cdef Py_ssize_t i
        cdef str text = convert_error_message(b, seg, payload, self.price_decimals,
                                              self.size_decimals)
        self.reject_counts[b.error] += 1
        self.last_fill_id = -1              # unknown now: no fills check on the next one
        for i in range(seg.start, seg.start + seg.count):
            tid = b.trades[i].trade_id
            if tid >= 0:
                lo = tid if lo < 0 or tid < lo else lo
                hi = tid if tid > hi else hi
        if hi < 0:
            self.lost("rejected trades: " + text, -1, -1)
        elif hi > self.last_trade_id:
            if self.last_trade_id >= 0 and self.id_rule != ID_OBSERVED:
                lo = self.last_trade_id + 1   # with any ids skipped before it
            elif self.last_trade_id >= lo:
                lo = self.last_trade_id + 1
            self.lost("rejected trades: " + text, lo, hi)
            self.last_trade_id = hi
        # else: ids already held (duplicates): nothing lost
        self.note_reject(text)
        return 0

    cdef int unreadable(self, str text) except -1:
        """A payload on this stream's connection could not be decoded. Contiguous ids
        will show what it held; otherwise (venues with ``unreadable_is_gap``) any trade
        may have been in it."""
        if self.unreadable_is_gap and self.id_rule == ID_OBSERVED:
            self.lost("unreadable message: " + text, -1, -1)
        return self.note_reject(text)

    cdef int connection_gap(self, str reason) except -1:
        """The connection lost messages (a connection sequence broke): range unknown."""
        return self.lost(reason, -1, -1)

    cdef int note_reject(self, str text) except -1:
        """Remember and report a rejected input; offline (strict) it raises."""
        self.last_reject = text
        if self._owner is not None:
            self._owner.on_trades_reject(self, text)
        if self.strict:
            raise DecodeRejected(f"{self.venue} {self.symbol}: {text}")
        return 0

    cdef int _run_callback(self) except -1:
        self._in_read_queue = False
        try:
            self.callback(self)
        except Exception:
            if self.strict:
                raise
            self.callback_errors += 1
            if self.callback_errors <= 10 or self.callback_errors % 1000 == 0:
                log.exception("%s %s trades: callback failed (%d so far)", self.venue,
                              self.symbol, self.callback_errors)
        return 0

    # ------------------------------------------------------------------ Python API

    def _attach(self, owner) -> None:
        """Engine wiring: ``owner.on_trades_gap(core, reason)`` after each detected loss,
        ``owner.on_trades_reject(core, text)`` for each rejected input (None detaches).
        They run inside the frame callback: cheap, and they must not raise."""
        self._owner = owner

    def trades(self, since=None):
        """The trades held, oldest first, as a new ``np.ndarray`` of ``TRADE_DTYPE``.

        ``since``: only trades with a recording index >= ``since`` (``recorded`` counts
        from 0), e.g. ``since=last_seen_recorded`` to poll for new trades; those already
        overwritten are gone (``overwritten`` says how many).
        """
        cdef Py_ssize_t skip = 0, n, start, first
        cdef int64_t oldest
        cdef unsigned char[::1] raw
        if since is not None:
            oldest = self.recorded - self.count
            skip = <Py_ssize_t>min(max(<int64_t>since - oldest, 0), self.count)
        n = self.count - skip
        out = np.empty(n, dtype=TRADE_DTYPE)
        if n == 0:
            return out
        raw = out.view(np.uint8).reshape(-1)
        start = (self.head - self.count + skip) % self.capacity
        if start < 0:
            start += self.capacity
        first = min(n, self.capacity - start)
        memcpy(&raw[0], self.ring + start, first * sizeof(TradeRecord))
        if n > first:
            memcpy(&raw[first * sizeof(TradeRecord)], self.ring,
                   (n - first) * sizeof(TradeRecord))
        return out

    # ------------------------------------------------------------ REST backfill

    def backfill(self, body) -> int:
        """Record the trades of one REST trade body (a page of ``Venue.backfill_decoder``'s
        endpoint) that fill this stream's ``missing`` ranges; returns how many.

        Only trades whose id lies inside a missing range (``(-1, -1)`` ranges cannot be
        filled by id) are kept, each once, in id order, **appended after** what the ring
        holds: the ring is in recording order, so ``trades(since=recorded)`` readers see
        them once, after the live trades recorded before them although their ids are
        older (docs/venues.md, "Backfill"); ``recv_ns`` is the time of the backfill. The
        healed ids leave ``missing``; with nothing missing the stream is ``live`` again.
        A bad body raises ``DecodeRejected`` (nothing recorded)."""
        cdef DecodeFn fn
        cdef bytes data
        cdef const char* p
        cdef DeltaBatch b
        cdef Segment* seg
        cdef Py_ssize_t i
        cdef int64_t tid, now_wall
        cdef int n = 0
        spec = get_venue(self.venue)
        name = spec.backfill_decoder
        if not name:
            raise ValueError(f"{self.venue} has no REST trade backfill")
        if self.stream_code != 0 and self.stream != spec.backfill_stream:
            raise ValueError(f"{self.venue} {self.stream} stream has no REST backfill "
                             f"(only {spec.backfill_stream})")
        fn = decoder_named(name)
        data = bytes(body)
        p = data
        if self.seq.state == SYNC_CLOSED:
            return 0
        if batch_init(&b, 64) != 0:
            raise MemoryError()
        try:
            if fn(p, len(data), &b) != DEC_OK:
                raise DecodeRejected(f"{self.venue} {self.symbol} backfill: "
                                     + batch_error_message(&b))
            if b.msg_kind == MSG_VENUE_ERROR:
                raise DecodeRejected(f"{self.venue} {self.symbol} backfill: venue error: "
                                     + data[:300].decode("utf-8", "replace"))
            if b.n_segs == 0:
                return 0
            seg = &b.segs[0]
            if convert_segment(&b, seg, &self.price_grid, &self.size_grid) != DEC_OK:
                raise DecodeRejected(f"{self.venue} {self.symbol} backfill: " +
                                     convert_error_message(&b, seg, p, self.price_decimals,
                                                           self.size_decimals))
            ranges = sorted(r for r in self._missing if r[0] >= 0)
            starts = [r[0] for r in ranges]
            wanted = {}                 # id -> batch index: inside a missing range, once
            for i in range(seg.start, seg.start + seg.count):
                tid = b.trades[i].trade_id
                j = bisect_right(starts, tid) - 1
                if j >= 0 and tid <= ranges[j][1] and tid not in wanted:
                    wanted[tid] = i
            if not wanted:
                return 0
            healed = sorted(wanted)
            now_wall = monotonic_ns()
            now_wall += ff_wall_offset_ns(now_wall)
            for tid in healed:
                _record(self, &b, wanted[tid], now_wall)
                n += 1
            self.recorded += n
            self.backfilled += n
            self._missing = _heal(self._missing, healed)
            if not self._missing and self.seq.state == SYNC_GAP:
                self.seq.go_live(-1)
        finally:
            batch_free(&b)
        if self.shm_market != NULL:
            self.shm_publish(n)         # the healed trades (the newest in the ring) and state
        if self.fan_log != NULL and ff_fan_touch(self.fan_log, 0):
            self._fan_owner.wake()
        if self.callback is not None:
            self._run_callback()
        return n

    def clear_gaps(self) -> list:
        """Forget the missing id ranges (after a backfill, or accepting the loss) and
        return them; the stream is ``live`` again."""
        out = self._missing
        self._missing = []
        if self.seq.state == SYNC_GAP:
            self.seq.go_live(-1)
        self._state_changed()
        return out

    def close(self) -> None:
        """Stop recording (the trades held stay readable)."""
        self.seq.restart(SYNC_CLOSED)
        self._state_changed()

    def mark_stale(self) -> None:
        """The connection carrying the stream is down: trades arriving meanwhile are
        missed until it is back (``stale``; docs/venues.md, "Live trade streams")."""
        if self.seq.state == SYNC_LIVE or self.seq.state == SYNC_GAP:
            self.seq.restart(SYNC_STALE)
        self._state_changed()

    def start_sync(self) -> None:
        """Not subscribed yet (``syncing``): ``resume()`` once the subscription is sent."""
        if self.seq.state != SYNC_CLOSED:
            self.seq.restart(SYNC_SYNCING)
        self._state_changed()

    def resume(self) -> None:
        """The stream is subscribed (again). Contiguous ids show on the next trade exactly
        what an outage took (a gap then); ids that are only observed cannot, so an
        outage is recorded as a loss of unknown range. ``gap`` while losses are held."""
        if self.seq.state == SYNC_SYNCING:
            self.seq.go_live(-1)
            if self._missing:
                self.seq.transition(SYNC_GAP)
        elif self.seq.state == SYNC_STALE:
            self.seq.go_live(-1)
            if self.id_rule == ID_OBSERVED and self.recorded:
                self.lost("reconnected: the trades of the outage cannot be told", -1, -1)
            elif self._missing:
                self.seq.transition(SYNC_GAP)
        self._state_changed()

    cdef int _state_changed(self) except -1:
        if self.shm_market != NULL:
            self.shm_publish(0)
        if self.fan_log != NULL and ff_fan_touch(self.fan_log, FF_FAN_STATE):
            self._fan_owner.wake()
        return 0

    @property
    def stream(self):
        """The trade stream recorded (``trade``, ``aggTrade``, ``market_trades``,
        ``matches``); None until the first trade when it was not given."""
        return _TRADE_STREAMS.get(self.stream_code)

    @property
    def state(self) -> str:
        """``live`` | ``gap`` (trades were lost: see ``missing``) | ``closed``; live
        streams also ``syncing`` (not subscribed yet) and ``stale`` (connection down)."""
        return _STATE_NAMES[self.seq.state]

    @property
    def held(self) -> int:
        """Trades in the ring now (at most ``capacity``)."""
        return self.count

    @property
    def missing(self) -> list:
        """Lost trade id ranges ``(first, last)``, inclusive, in detection order;
        ``(-1, -1)`` where the venue's ids cannot say which (docs/venues.md, "Trades")."""
        return list(self._missing)

    @property
    def rejects(self) -> dict:
        """Rejected inputs by reason (only reasons seen at least once)."""
        return reject_counts_by_name(self.reject_counts)

    @property
    def rejected(self) -> int:
        """Total rejected inputs."""
        return sum(self.rejects.values())

    def counters(self) -> dict:
        """All counters as a plain dict (for monitoring)."""
        return {
            "state": self.state,
            "stream": self.stream,
            "messages": self.messages,
            "recorded": self.recorded,
            "held": self.count,
            "overwritten": self.overwritten,
            "duplicates": self.duplicates,
            "gaps": self.gaps,
            "id_jumps": self.id_jumps,
            "other_stream": self.other_stream,
            "callback_errors": self.callback_errors,
            "rejects": self.rejects,
            "last_trade_id": self.last_trade_id,
            "last_exchange_ns": self.last_exchange_ns,
            "backfilled": self.backfilled,
        }

    def __repr__(self):
        return (f"<{type(self).__name__} {self.venue}:{self.symbol} {self.stream} "
                f"{self.state} held={self.count} last_id={self.last_trade_id}>")


cdef inline void _record(TradeCore core, DeltaBatch* b, Py_ssize_t i,
                         int64_t recv_wall) noexcept:
    """Append converted trade ``i`` of ``b`` to the ring (a backfilled trade: no id rule,
    no change of the live stream's last ids)."""
    cdef const Trade* tr = &b.trades[i]
    cdef TradeRecord* rec = &core.ring[core.head]
    rec.recv_ns = recv_wall
    rec.exchange_ns = tr.time_ns
    rec.trade_id = tr.trade_id
    rec.price = b.levels[i].price
    rec.size = b.levels[i].size
    rec.side = tr.side
    core.head += 1
    if core.head == core.capacity:
        core.head = 0
    if core.count < core.capacity:
        core.count += 1
    else:
        core.overwritten += 1


def _heal(list missing, list healed) -> list:
    """``missing`` without the (sorted) ``healed`` ids: each range split around them,
    unknown ranges ``(-1, -1)`` kept, in the original order."""
    out = []
    for a, z in missing:
        if a < 0:
            out.append((a, z))
            continue
        lo = bisect_left(healed, a)
        hi = bisect_right(healed, z)
        start = a
        for k in range(lo, hi):
            if healed[k] > start:
                out.append((start, healed[k] - 1))
            start = healed[k] + 1
        if start <= z:
            out.append((start, z))
    return out


cdef class OfflineTradeCore(TradeCore):
    """A trade stream with its own decode step: payloads pushed by hand (``TradeFeed``).

    Decoding, the connection-level sequence (Coinbase Advanced Trade ``sequence_num``,
    the check the router applies to books) and the unreadable-message rule are those a
    live connection applies; each trade segment for this symbol then goes through
    ``process_segment``.
    """

    def __cinit__(self):
        if batch_init(&self.batch, 64) != 0:
            raise MemoryError()

    def __dealloc__(self):
        batch_free(&self.batch)

    def __init__(self, str venue, str symbol, int price_decimals, int size_decimals,
                 int64_t price_tick=1, int64_t size_step=1, *, stream=None,
                 Py_ssize_t capacity=DEFAULT_CAPACITY, bint strict=True):
        TradeCore.__init__(self, venue, symbol, price_decimals, size_decimals, price_tick,
                           size_step, stream=stream, capacity=capacity, strict=strict)
        self.decode = venue_trade_decoder(venue)
        self.connection_sequence = get_venue(venue).connection_sequence
        self.conn_seq = -1

    cdef int route(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1:
        cdef DeltaBatch* b = &self.batch
        cdef Py_ssize_t i
        cdef int64_t prev
        cdef int recorded = 0
        batch_reset(b)
        if self.decode(p, n, b) != DEC_OK:
            self.reject_counts[b.error] += 1
            return self.unreadable(batch_error_message(b))
        if self.connection_sequence and b.last_id >= 0:
            prev = self.conn_seq
            if connection_sequence_broken(&self.conn_seq, b.last_id):
                self.sequence_gaps += 1
                self.connection_gap(sequence_break_reason(prev, b.last_id))
        if b.msg_kind == MSG_TRADES:
            for i in range(b.n_segs):
                if self.matches(&b.segs[i]):
                    recorded += self.process_segment(b, &b.segs[i], t_recv, p)
                else:
                    self.unknown_symbol += 1
        elif b.msg_kind == MSG_VENUE_ERROR:
            self.reject_counts[<int>REJECT_VENUE_ERROR] += 1
            self.note_reject("venue error: " + p[:min(n, 300)].decode("utf-8", "replace"))
        return recorded

    def apply_message(self, payload) -> int:
        """Push one WebSocket payload (bytes-like) through the compiled path.

        Returns the number of trades recorded from it (duplicates, other symbols and
        other messages record none).
        """
        cdef Py_buffer view
        cdef int64_t t_recv = monotonic_ns()
        if PyBytes_CheckExact(payload):
            return self.route(PyBytes_AS_STRING(payload), len(<bytes>payload), t_recv)
        PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
        try:
            return self.route(<const char*>view.buf, view.len, t_recv)
        finally:
            PyBuffer_Release(&view)

    def reset_connection(self) -> None:
        """A new connection: its sequence starts afresh."""
        self.conn_seq = -1

    @property
    def connection_sequence(self) -> int:
        """Last connection-level sequence seen (Coinbase AT ``sequence_num``; -1 if none)."""
        return self.conn_seq

    def counters(self) -> dict:
        """All counters as a plain dict (for monitoring)."""
        out = TradeCore.counters(self)
        out["sequence_gaps"] = self.sequence_gaps
        out["unknown_symbol"] = self.unknown_symbol
        return out
