# cython: language_level=3
"""BookCore: the per-book hot path shared by the live listener and the offline BookFeed.

One message for one book goes: sequence check → convert the level strings at the book's
scale → apply to the int64 book → record latency → optional Python callback. Only the
callback (opt-in) and the cold branches (buffering during a sync, gaps, rejects) touch
Python objects.

A rejected message is never half-applied: the whole segment is converted before the
book is touched. For sequenced venues a rejected update means the book has missed
something, so it is marked ``gap`` at once (honest state) and resynced.
"""

import logging

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport int64_t
from libc.string cimport memcmp
from posix.time cimport CLOCK_MONOTONIC, CLOCK_REALTIME, clock_gettime, timespec

from fastfeed._book cimport L2Book
from fastfeed._parse cimport (
    convert_error_message,
    convert_segment,
    decode_binance_depth,
    decode_binance_snapshot,
    decode_coinbase_at,
    decode_coinbase_exchange,
)
from fastfeed._sync cimport (
    RULE_IN_BAND,
    SEQ_APPLY,
    SEQ_BUFFER,
    SEQ_OLD,
    SNAP_OK,
    SYNC_CLOSED,
    SYNC_GAP,
    SYNC_LIVE,
    SYNC_STALE,
    Sequencer,
    SeqVerdict,
)
from fastfeed._types cimport (
    DEC_BAD_DECIMAL,
    DEC_OK,
    MSG_DEPTH,
    MSG_SNAPSHOT,
    MSG_VENUE_ERROR,
    SEG_SNAPSHOT,
    DeltaBatch,
    Segment,
    batch_free,
    batch_init,
    batch_reset,
)

from fastfeed._parse import DecodeFailed
from fastfeed.latency import LatencySet
from fastfeed._sync import STATE_NAMES

log = logging.getLogger("fastfeed.book")

VENUE_KINDS = {
    "binance": VENUE_BINANCE_SPOT,
    "binance-usdm": VENUE_BINANCE_USDM,
    "coinbase": VENUE_COINBASE_AT,
    "coinbase-exchange": VENUE_COINBASE_EXCHANGE,
}
_RULES = {
    VENUE_BINANCE_SPOT: "binance-spot",
    VENUE_BINANCE_USDM: "binance-usdm",
    VENUE_COINBASE_AT: "in-band",
    VENUE_COINBASE_EXCHANGE: "in-band",
}
DECODE_ERROR_NAMES = (
    "ok", "malformed_json", "missing_field", "wrong_type", "bad_decimal", "too_many_levels",
    "unknown_message", "bad_side", "truncated", "bad_timestamp", "overflow",
)
DECIMAL_ERROR_NAMES = (
    "ok", "empty", "sign", "non_digit", "too_precise", "overflow", "exponent", "off_tick",
)
REJECT_NAMES = tuple(
    DECODE_ERROR_NAMES[i] if i < len(DECODE_ERROR_NAMES) else f"decode_{i}"
    for i in range(N_DECODE_CODES)
) + ("buffer_overflow", "venue_error", "before_snapshot")

# Decoding a message that exceeds these is refused before it reaches the book.
DEFAULT_MAX_BUFFER_MESSAGES = 50_000
DEFAULT_MAX_BUFFER_BYTES = 64 * 1024 * 1024


class DecodeRejected(DecodeFailed):
    """A payload was refused: malformed, mistyped, off-scale or otherwise unusable."""


cdef int64_t monotonic_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef int64_t wall_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


# wall - monotonic, refreshed at most once a second: one clock read per message instead of
# two (NTP slews the wall clock slowly; a second-old offset is good to well under 1 µs).
cdef int64_t _offset_ns = 0
cdef int64_t _offset_taken_ns = -2000000000


cdef inline int64_t _wall_offset(int64_t mono_now) noexcept nogil:
    global _offset_ns, _offset_taken_ns
    if mono_now - _offset_taken_ns > 1000000000:
        _offset_ns = wall_ns() - monotonic_ns()
        _offset_taken_ns = mono_now
    return _offset_ns


cdef int decode_payload(int venue_kind, const char* p, Py_ssize_t n,
                        DeltaBatch* b) noexcept nogil:
    """Phase-1 decode of one WebSocket payload for a venue; returns a DecodeError."""
    batch_reset(b)
    if venue_kind == VENUE_BINANCE_SPOT or venue_kind == VENUE_BINANCE_USDM:
        return decode_binance_depth(p, n, b)
    if venue_kind == VENUE_COINBASE_AT:
        return decode_coinbase_at(p, n, b)
    return decode_coinbase_exchange(p, n, b)


def monotonic_time_ns() -> int:
    """The clock the hot path stamps frames with (CLOCK_MONOTONIC, ns)."""
    return monotonic_ns()


def describe_batch_error(int code, int decimal_code, Py_ssize_t offset, detail) -> str:
    """Human-readable reason for a decode/convert failure."""
    name = DECODE_ERROR_NAMES[code] if 0 <= code < len(DECODE_ERROR_NAMES) else f"error {code}"
    text = name.replace("_", " ")
    if code == DEC_BAD_DECIMAL and 0 < decimal_code < len(DECIMAL_ERROR_NAMES):
        text += f" ({DECIMAL_ERROR_NAMES[decimal_code].replace('_', ' ')})"
    if detail:
        text += f": {detail}"
    if offset >= 0:
        text += f" at byte {offset}"
    return text


cdef inline str _batch_error_text(DeltaBatch* b):
    detail = None
    if b.error_detail != NULL:
        detail = (<bytes>b.error_detail).decode("utf-8", "replace")
    return describe_batch_error(b.error, b.decimal_error, b.error_offset, detail)


cdef class BookCore:
    """One book: int64 L2 book, sequencer, counters, latency histograms, sync buffer.

    ``venue`` is a venue id (``binance``, ``binance-usdm``, ``coinbase``,
    ``coinbase-exchange``); ``symbol`` is what the venue's messages call the instrument
    (``BTCUSDT``, ``BTC-USD``). Scales come from :func:`fastfeed._parse.scale_from_increment`.
    With ``strict`` (the offline default) a rejected payload raises ``DecodeRejected`` after
    being counted; the live engine counts and logs instead.
    """

    def __cinit__(self):
        if batch_init(&self.batch, 256) != 0:
            raise MemoryError()

    def __dealloc__(self):
        batch_free(&self.batch)

    def __init__(self, str venue, str symbol, int price_decimals, int size_decimals,
                 int64_t price_tick=1, int64_t size_step=1, bint strict=True):
        if venue not in VENUE_KINDS:
            raise ValueError(f"unknown venue {venue!r}; expected one of {sorted(VENUE_KINDS)}")
        if price_tick < 1 or size_step < 1:
            raise ValueError("price_tick and size_step must be positive integers")
        self.venue = venue
        self.venue_kind = VENUE_KINDS[venue]
        self.symbol = symbol.upper()
        self._symbol_key = self.symbol.encode("ascii")
        self.symbol_ptr = PyBytes_AS_STRING(self._symbol_key)
        self.symbol_len = len(self._symbol_key)
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self.price_tick = price_tick
        self.size_step = size_step
        self.strict = strict
        self.book = L2Book(price_decimals, size_decimals)
        self.seq = Sequencer(_RULES[self.venue_kind])
        self._buffer = []
        self.max_buffer_messages = DEFAULT_MAX_BUFFER_MESSAGES
        self.max_buffer_bytes = DEFAULT_MAX_BUFFER_BYTES
        self.conn_seq = -1
        # The hot path records into the LatencySet's live histograms; rotating it swaps
        # their buffers in place, so these references stay valid.
        self.latency = LatencySet()
        self.recv_to_apply = self.latency.recv_to_apply
        self.recv_to_publish = self.latency.recv_to_publish
        self.exchange_to_recv = self.latency.exchange_to_recv
        self.resync_duration = self.latency.resync_duration
        self.last_reject = None
        self.last_gap_reason = None

    # ------------------------------------------------------------------ hot path

    cdef bint matches(self, const Segment* seg) noexcept nogil:
        if seg.symbol_ptr == NULL:
            return True
        return (seg.symbol_len == self.symbol_len
                and memcmp(seg.symbol_ptr, self.symbol_ptr, self.symbol_len) == 0)

    cdef int process_segment(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                             const char* payload, Py_ssize_t n) except -1:
        """One book's share of a decoded message."""
        cdef SeqVerdict verdict
        cdef int rc
        cdef int64_t t_done
        if self.seq.state == SYNC_CLOSED:
            return 0
        if not self._replaying:     # a replayed message was counted when it arrived
            self.messages += 1
        self.last_recv_ns = t_recv
        if self.seq.rule == RULE_IN_BAND:
            if seg.kind == SEG_SNAPSHOT:
                return self._load_in_band(b, seg, t_recv, payload, n)
            if self.seq.state != SYNC_LIVE:
                self.reject_counts[REJ_BEFORE_SNAPSHOT] += 1
                return 0
            verdict = SEQ_APPLY
        else:
            verdict = self.seq.check(b.first_id, b.last_id, b.prev_id)

        if verdict == SEQ_APPLY:
            rc = convert_segment(b, seg, self.price_decimals, self.size_decimals,
                                 self.price_tick, self.size_step)
            if rc != DEC_OK:
                self._reject_convert(b, seg, payload, "update")
                return 0
            self.book.apply_deltas(b.levels + seg.start, seg.count)
            self.seq.applied(b.last_id)
            self.level_changes += seg.count
            if self.book.is_crossed_c():
                self.crossed_events += 1
            t_done = monotonic_ns()
            self.last_applied_ns = t_done
            self.recv_to_apply.record(t_done - t_recv)
            if b.event_time_ns > 0:
                self.last_event_time_ns = b.event_time_ns
                # wall time at receive = monotonic stamp + (wall - monotonic) offset
                self.exchange_to_recv.record(t_recv + _wall_offset(t_done) - b.event_time_ns)
            elif seg.event_time_ns > 0:
                self.last_event_time_ns = seg.event_time_ns
            if self.callback is not None:
                self._run_callback()
                self.recv_to_publish.record(monotonic_ns() - t_recv)
            return seg.count
        if verdict == SEQ_BUFFER:
            self.buffer_payload(payload, n, b.first_id)
            return 0
        if verdict == SEQ_OLD:
            self.old_messages += 1
            return 0
        # SEQ_GAP: keep the message (it starts the stream the next snapshot must cover)
        self.mark_gap(f"sequence gap: book at {self.seq.book_id}, message covers "
                      f"{b.first_id}..{b.last_id} (prev {b.prev_id})", SYNC_GAP)
        self.buffer_payload(payload, n, b.first_id)
        return 0

    cdef int _load_in_band(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                           const char* payload, Py_ssize_t n) except -1:
        """An in-band snapshot (Coinbase) replaces the book and makes it live."""
        cdef int rc = convert_segment(b, seg, self.price_decimals, self.size_decimals,
                                      self.price_tick, self.size_step)
        if rc != DEC_OK:
            self._reject_convert(b, seg, payload, "snapshot")
            return 0
        self.book.load_deltas(b.levels + seg.start, seg.count)
        self._went_live(t_recv)
        self.level_changes += seg.count
        self.last_applied_ns = monotonic_ns()
        if self.callback is not None:
            self._run_callback()
        return seg.count

    cdef int process_payload(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1:
        """Decode a whole payload with this book's venue and apply what concerns it."""
        cdef DeltaBatch* b = &self.batch
        cdef Py_ssize_t i
        cdef int applied = 0
        cdef int rc = decode_payload(self.venue_kind, p, n, b)
        if rc != DEC_OK:
            if self.seq.rule == RULE_IN_BAND and self.seq.state == SYNC_LIVE:
                # Coinbase: the message may have carried this book's update. Exchange has
                # no sequence to tell later; AT would only tell at the next message.
                # (Binance: the next event's ids tell exactly, so no guess is made.)
                self.mark_gap("unreadable message on the connection", SYNC_GAP)
            self.reject(b, rc, p, n)
            return 0
        if b.last_id >= 0 and self.venue_kind == VENUE_COINBASE_AT:
            if self.conn_seq >= 0 and b.last_id != self.conn_seq + 1 \
                    and self.seq.state == SYNC_LIVE:
                self.gaps_on_connection(f"sequence_num jumped from {self.conn_seq} "
                                        f"to {b.last_id}")
            self.conn_seq = b.last_id
        if b.msg_kind == MSG_DEPTH or b.msg_kind == MSG_SNAPSHOT:
            for i in range(b.n_segs):
                if self.matches(&b.segs[i]):
                    applied += self.process_segment(b, &b.segs[i], t_recv, p, n)
        elif b.msg_kind == MSG_VENUE_ERROR:
            self.reject_counts[REJ_VENUE_ERROR] += 1
            self._note_reject("venue error: " + PyBytes_FromStringAndSize(
                p, min(n, 300)).decode("utf-8", "replace"))
        return applied

    # ------------------------------------------------------------------ cold path

    cdef int _run_callback(self) except -1:
        """The user's callback. Live (not strict), an exception is counted and logged
        instead of escaping into the listener, where it would drop the connection."""
        try:
            self.callback(self)
        except Exception:
            if self.strict:
                raise
            self.callback_errors += 1
            if self.callback_errors <= 10 or self.callback_errors % 1000 == 0:
                log.exception("%s %s: callback failed (%d so far)", self.venue, self.symbol,
                              self.callback_errors)
        return 0

    cdef _reject_convert(self, DeltaBatch* b, const Segment* seg, const char* payload,
                         str what):
        """A level did not convert at this book's scale: count, and stop trusting the book."""
        cdef str text = convert_error_message(b, seg, payload, self.price_decimals,
                                              self.size_decimals, self.price_tick,
                                              self.size_step)
        self.reject_counts[b.error] += 1
        if self.seq.state == SYNC_LIVE:
            # mark first, raise (strict) after: the state must be honest either way
            self.mark_gap(f"rejected {what}: {text}", SYNC_GAP)
        self._note_reject(text)

    def gaps_on_connection(self, str reason):
        """The connection lost messages: this book can no longer be trusted."""
        self.mark_gap(reason, SYNC_GAP)

    cdef int reject(self, DeltaBatch* b, int reason, const char* p, Py_ssize_t n) except -1:
        """Count a payload that could not be decoded at all."""
        if 0 <= reason < N_REJECT_REASONS:
            self.reject_counts[reason] += 1
        self._note_reject(_batch_error_text(b))
        return 0

    def _note_reject(self, str text):
        self.last_reject = text
        if self.on_reject is not None:
            self.on_reject(self, text)
        if self.strict:
            raise DecodeRejected(f"{self.venue} {self.symbol}: {text}")

    cdef int mark_gap(self, str reason, int state) except -1:
        if self.seq.state == SYNC_LIVE:
            self.gaps += 1
            self.gap_started_ns = monotonic_ns()
        self.seq.restart(state)
        self.last_gap_reason = reason
        self._buffer = []
        self.buffer_bytes = 0
        if self.on_gap is not None:
            self.on_gap(self, reason)
        return 0

    cdef int buffer_payload(self, const char* p, Py_ssize_t n, int64_t first_id) except -1:
        if (len(self._buffer) >= self.max_buffer_messages
                or self.buffer_bytes + n > self.max_buffer_bytes):
            # Restart the sync window: the next snapshot must cover what comes next.
            self.reject_counts[REJ_BUFFER_OVERFLOW] += 1
            log.warning("%s %s: sync buffer full (%d messages, %d bytes); restarting sync",
                        self.venue, self.symbol, len(self._buffer), self.buffer_bytes)
            self._buffer = []
            self.buffer_bytes = 0
            self.seq.first_buffered_id = -1
        if self.seq.first_buffered_id < 0:
            self.seq.first_buffered_id = first_id
        self._buffer.append(PyBytes_FromStringAndSize(p, n))
        self.buffer_bytes += n
        self.buffered_messages += 1
        return 0

    cdef _went_live(self, int64_t now):
        """The book is exact again; a pending gap/stale period ends with a resync."""
        if self.gap_started_ns:
            self.resync_duration.record(now - self.gap_started_ns)
            self.resyncs += 1
            self.gap_started_ns = 0
        self.seq.state = SYNC_LIVE

    # ------------------------------------------------------------------ Python API

    def apply_message(self, payload) -> int:
        """Push one WebSocket payload (bytes-like) through the compiled path.

        Returns the number of level changes applied to this book. Messages for other
        symbols are ignored; control messages update only the counters.
        """
        cdef Py_buffer view
        cdef int64_t t_recv = monotonic_ns()
        if PyBytes_CheckExact(payload):
            return self.process_payload(PyBytes_AS_STRING(payload), len(<bytes>payload), t_recv)
        PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
        try:
            return self.process_payload(<const char*>view.buf, view.len, t_recv)
        finally:
            PyBuffer_Release(&view)

    def apply_snapshot(self, body) -> str:
        """Load a REST snapshot body and replay the events buffered meanwhile.

        Returns ``"live"``; ``"too_old"`` when the snapshot predates the first buffered
        event (fetch another one; the book is left as it was); or ``"gap"`` when replay
        found missing updates. Raises ``DecodeRejected`` for an unusable body.
        """
        cdef Py_buffer view
        cdef DeltaBatch* b = &self.batch
        cdef int rc
        cdef int64_t t0 = monotonic_ns()
        if self.seq.rule == RULE_IN_BAND:
            raise TypeError(f"{self.venue} snapshots arrive in-band: pass them to apply_message")
        PyObject_GetBuffer(body, &view, PyBUF_SIMPLE)
        try:
            batch_reset(b)
            rc = decode_binance_snapshot(<const char*>view.buf, view.len, b)
            if rc == DEC_OK and b.msg_kind != MSG_SNAPSHOT:
                # e.g. {"code":-1121,"msg":"Invalid symbol."}: not a book, never load it
                text = PyBytes_FromStringAndSize(<const char*>view.buf, min(view.len, 300))
                self.last_reject = "snapshot: venue error " + text.decode("utf-8", "replace")
                raise DecodeRejected(f"{self.venue} {self.symbol}: {self.last_reject}")
            if rc == DEC_OK and b.n_segs == 1:
                rc = convert_segment(b, &b.segs[0], self.price_decimals, self.size_decimals,
                                     self.price_tick, self.size_step)
                if rc != DEC_OK:
                    text = convert_error_message(b, &b.segs[0], <const char*>view.buf,
                                                 self.price_decimals, self.size_decimals,
                                                 self.price_tick, self.size_step)
                    self.last_reject = "snapshot: " + text
                    raise DecodeRejected(f"{self.venue} {self.symbol} snapshot: {text}")
            if rc != DEC_OK:
                text = _batch_error_text(b)
                self.last_reject = "snapshot: " + text
                raise DecodeRejected(f"{self.venue} {self.symbol} snapshot: {text}")
            if self.seq.snapshot_loaded(b.last_id) != SNAP_OK:
                return "too_old"
            self.book.load_deltas(b.levels + b.segs[0].start, b.segs[0].count)
        finally:
            PyBuffer_Release(&view)
        self._went_live(t0)
        return self._replay_buffer()

    def _replay_buffer(self) -> str:
        buffered = self._buffer
        self._buffer = []
        self.buffer_bytes = 0
        cdef bytes payload
        for i, payload in enumerate(buffered):
            self._replaying = True
            try:
                self.process_payload(PyBytes_AS_STRING(payload), len(payload), monotonic_ns())
            finally:
                self._replaying = False
            if self.seq.state != SYNC_LIVE:
                # gap during replay: keep the rest for the next snapshot
                for rest in buffered[i + 1:]:
                    self._buffer.append(rest)
                    self.buffer_bytes += len(rest)
                return STATE_NAMES[self.seq.state]
        return "live"

    def start_sync(self, str state="syncing") -> None:
        """Begin (re)synchronising: buffer live events until a snapshot is loaded."""
        cdef int code = STATE_NAMES.index(state)
        if self.seq.state == SYNC_LIVE and code != SYNC_LIVE:
            self.gap_started_ns = monotonic_ns()
        self.seq.restart(code)
        self._buffer = []
        self.buffer_bytes = 0
        self.conn_seq = -1

    def mark_stale(self, str reason) -> None:
        """The connection dropped or went silent: freeze and stop trusting the book."""
        self.mark_gap(reason, SYNC_STALE)

    def close(self) -> None:
        """Stop applying anything to this book."""
        self.seq.restart(SYNC_CLOSED)
        self._buffer = []
        self.buffer_bytes = 0

    @property
    def state(self) -> str:
        """``syncing`` | ``live`` | ``gap`` | ``stale`` | ``closed``."""
        return STATE_NAMES[self.seq.state]

    @property
    def is_live(self) -> bool:
        """True when the book is exact as of ``last_update_id``."""
        return self.seq.state == SYNC_LIVE

    @property
    def last_update_id(self) -> int:
        """The venue update id the book reflects (-1 before a snapshot / in-band venues)."""
        return self.seq.book_id

    @property
    def connection_sequence(self) -> int:
        """Last connection-level sequence seen by this offline feed (Coinbase AT)."""
        return self.conn_seq

    @property
    def buffered(self) -> int:
        """Messages currently held for replay after the next snapshot."""
        return len(self._buffer)

    @property
    def rejects(self) -> dict:
        """Rejected messages by reason (only reasons seen at least once)."""
        return {REJECT_NAMES[i]: self.reject_counts[i]
                for i in range(N_REJECT_REASONS) if self.reject_counts[i]}

    @property
    def rejected(self) -> int:
        """Total rejected messages."""
        cdef int64_t total = 0
        for i in range(N_REJECT_REASONS):
            total += self.reject_counts[i]
        return total

    def counters(self) -> dict:
        """All counters as a plain dict (for monitoring and the CLI)."""
        return {
            "state": self.state,
            "messages": self.messages,
            "level_changes": self.level_changes,
            "gaps": self.gaps,
            "resyncs": self.resyncs,
            "old_messages": self.old_messages,
            "buffered_messages": self.buffered_messages,
            "crossed_events": self.crossed_events,
            "callback_errors": self.callback_errors,
            "rejects": self.rejects,
            "last_update_id": self.last_update_id,
            "last_event_time_ns": self.last_event_time_ns,
        }

    def __repr__(self):
        return (f"<{type(self).__name__} {self.venue}:{self.symbol} {self.state} "
                f"id={self.seq.book_id} bids={self.book.bid_depth} asks={self.book.ask_depth}>")
