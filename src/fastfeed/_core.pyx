# cython: language_level=3
"""BookCore: one book's share of the hot path, behind the router (``_router.pyx``).

The router decodes a payload and hands each segment to its book; here one segment goes:
sequence check → convert the level strings at the book's scale → apply to the int64 book
→ record latency → optional Python callback. Only the callback (opt-in) and the cold
branches (buffering during a sync, gaps, rejects) touch Python objects. State changes go
through the sequencer's single transition function (``docs/states.md``).

A rejected message is never half-applied: the whole segment is converted before the
book is touched. For sequenced venues a rejected update means the book has missed
something, so it is marked ``gap`` at once (honest state) and resynced.
"""

import logging
import sys

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport int64_t, uint32_t
from libc.string cimport memcmp

from fastfeed._book cimport L2Book
from fastfeed._cdefs cimport ff_monotonic_ns as monotonic_ns, ff_wall_ns as wall_ns
from fastfeed._cdefs cimport FF_POW10, ff_shm_publish
from fastfeed._cdefs cimport (
    FF_FAN_FULL,
    FF_FAN_NEW_EPOCH,
    FF_FAN_STATE,
    ff_fan_log,
    ff_fan_level,
    ff_fan_message,
    ff_fan_touch,
)


cdef extern from "ff_crc32.h":
    # Kraken v2 book checksum over int64 sides stored best last (docs/venues.md, "Kraken");
    # declared here, not in _cdefs.pxd, as only this module uses it
    uint32_t ff_kraken_checksum(const int64_t* ask_px, const int64_t* ask_sz,
                                Py_ssize_t n_asks, const int64_t* bid_px,
                                const int64_t* bid_sz, Py_ssize_t n_bids, int levels,
                                int64_t pdiv, int64_t pmul, int64_t sdiv,
                                int64_t smul) noexcept nogil

from fastfeed._parse cimport (
    batch_error_message,
    convert_error_message,
    convert_segment,
    decoder_named,
    grid_init,
)
from fastfeed._sync cimport (
    RULE_IN_BAND,
    RULE_BYBIT,
    RULE_OKX,
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
    DEC_OK,
    MSG_DEPTH,
    MSG_SNAPSHOT,
    REJECT_N_REASONS,
    REJECT_BEFORE_SNAPSHOT,
    REJECT_BUFFER_OVERFLOW,
    SEG_SNAPSHOT,
    SIDE_ASK,
    SIDE_BID,
    Delta,
    DeltaBatch,
    Segment,
    batch_free,
    batch_init,
    batch_reset,
)

from fastfeed._parse import DecodeFailed, reason_name
from fastfeed._sync import STATE_NAMES as _STATE_NAMES
from fastfeed.latency import book_latency_set
from fastfeed.venues import get_venue

log = logging.getLogger("fastfeed.book")

# Decoding a message that exceeds these is refused before it reaches the book.
DEFAULT_MAX_BUFFER_MESSAGES = 50_000
DEFAULT_MAX_BUFFER_BYTES = 64 * 1024 * 1024

# Memory a book may hold beyond its level arrays (docs/memory.md): BookCore.memory()
# reports it, the tests hold every default book to it.
BOOK_MEMORY_BOUND = 64 * 1024

# Levels the snapshot/replay scratch batch keeps between snapshots; it grows for a
# snapshot (48 bytes a level) and is cut back to this afterwards (docs/memory.md).
cdef Py_ssize_t SCRATCH_LEVELS = 64


class DecodeRejected(DecodeFailed):
    """A payload was refused: malformed, mistyped, off-scale or otherwise unusable."""


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


cdef inline bint _fan_room(const ff_fan_log* g, Py_ssize_t n) noexcept nogil:
    """The log takes ``n`` more changes on either side (or is past caring: full already)."""
    return (g.flags & FF_FAN_FULL) != 0 or (g.n[0] + n <= g.cap and g.n[1] + n <= g.cap)


cdef inline void _fan_levels(ff_fan_log* g, const Delta* d, Py_ssize_t n) noexcept nogil:
    """Log one segment's applied level changes for the fan-out publisher."""
    cdef Py_ssize_t i
    for i in range(n):
        ff_fan_level(g, d[i].side, d[i].price, d[i].size)


cdef inline void _fan_truncated(ff_fan_log* g, L2Book bk, int depth) noexcept nogil:
    """Log the levels truncation to ``depth`` is about to drop, as deletes (the worst
    levels sit at the start of each side's used region)."""
    cdef Py_ssize_t i
    for i in range(bk.n_bids - depth):
        ff_fan_level(g, SIDE_BID, bk.bid_px[i], 0)
    for i in range(bk.n_asks - depth):
        ff_fan_level(g, SIDE_ASK, bk.ask_px[i], 0)


cdef int load_rules(VenueRules* rules, str venue) except -1:
    spec = get_venue(venue)
    # every channel of a connection (parse/streams.pxi); books only without one
    rules.decode = decoder_named(spec.stream_decoder or spec.decoder)
    rules.decode_snapshot = NULL
    if spec.snapshot_decoder is not None:
        rules.decode_snapshot = decoder_named(spec.snapshot_decoder)
    rules.connection_sequence = spec.connection_sequence
    rules.unreadable_is_gap = spec.unreadable_is_gap
    return 0


cdef dict reject_counts_by_name(const int64_t* counts):
    return {reason_name(i): counts[i] for i in range(<int>REJECT_N_REASONS) if counts[i]}


def monotonic_time_ns() -> int:
    """The clock the hot path stamps frames with (CLOCK_MONOTONIC, ns)."""
    return monotonic_ns()


cdef class BookCore:
    """One book: int64 L2 book, sequencer, counters, latency histograms, sync buffer.

    ``venue`` is a venue id (``binance``, ``binance-usdm``, ``coinbase``,
    ``coinbase-exchange``); its rules come from the venue description
    (``fastfeed.venues``). ``symbol`` is what the venue's messages call the instrument
    (``BTCUSDT``, ``BTC-USD``). Prices are int64 counts of ``10**-price_decimals``, sizes of
    ``10**-size_decimals``; ``price_tick``/``size_step`` are the instrument's increments in
    those units (:func:`fastfeed.feed.instrument_scales` derives all four from the venue and
    the tick/step strings). A level whose price or size is not a multiple of them is kept
    exactly and counted (``off_grid_levels``), never rejected.
    With ``strict`` (the offline default) a rejected payload raises ``DecodeRejected`` after
    being counted; the live engine counts and logs instead. Payloads reach a book through
    a router (``fastfeed._router``): the offline ``BookFeed`` owns one, a live connection's
    listener another. ``book_latency`` is the precision of the book's latency histograms
    (``coarse``, ``full`` or ``off``: ``fastfeed.latency.BOOK_LATENCY``); ``memory()``
    reports what the book holds (docs/memory.md).
    """

    def __cinit__(self):
        if batch_init(&self.batch, SCRATCH_LEVELS) != 0:
            raise MemoryError()

    def __dealloc__(self):
        batch_free(&self.batch)

    def __init__(self, str venue, str symbol, int price_decimals, int size_decimals,
                 int64_t price_tick=1, int64_t size_step=1, bint strict=True,
                 str book_latency="coarse"):
        load_rules(&self.rules, venue)
        if price_tick < 1 or size_step < 1:
            raise ValueError("price_tick and size_step must be positive integers")
        if grid_init(&self.price_grid, price_decimals, price_tick) != 0:
            raise ValueError(f"price_decimals must be in 0..18, got {price_decimals}")
        if grid_init(&self.size_grid, size_decimals, size_step) != 0:
            raise ValueError(f"size_decimals must be in 0..18, got {size_decimals}")
        self.venue = venue
        self.symbol = symbol.upper()
        self._symbol_key = self.symbol.encode("ascii")
        self.symbol_ptr = PyBytes_AS_STRING(self._symbol_key)
        self.symbol_len = len(self._symbol_key)
        self.strict = strict
        self.book = L2Book(price_decimals, size_decimals)
        self.seq = Sequencer(get_venue(venue).sequencing)
        self._buffer = []
        self.max_buffer_messages = DEFAULT_MAX_BUFFER_MESSAGES
        self.max_buffer_bytes = DEFAULT_MAX_BUFFER_BYTES
        # The hot path records into the LatencySet's live histograms; rotating it swaps
        # their buffers in place, so these references stay valid. "off": none (None).
        self.latency = book_latency_set(book_latency)
        self.book_latency = book_latency
        if self.latency is not None:
            self.recv_to_apply = self.latency.recv_to_apply
            self.recv_to_publish = self.latency.recv_to_publish
            self.exchange_to_recv = self.latency.exchange_to_recv
            self.resync_duration = self.latency.resync_duration
        self.last_reject = None
        self.last_gap_reason = None
        spec = get_venue(venue)
        if getattr(spec, "book_checksum", None) == "kraken-crc32":
            self.depth_limit = spec.book_depth
            self.checksum_levels = 10
        self.set_checksum_precisions(price_decimals, size_decimals)

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
        cdef int64_t t_done, ns
        if self.seq.state == SYNC_CLOSED:
            return 0
        if not self._replaying:     # a replayed message was counted when it arrived
            self.messages += 1
        self.last_recv_ns = t_recv
        if (self.seq.rule == RULE_IN_BAND or self.seq.rule == RULE_BYBIT
                or self.seq.rule == RULE_OKX):
            if seg.kind == SEG_SNAPSHOT:
                return self._load_in_band(b, seg, t_recv, payload, n)
            if self.seq.state != SYNC_LIVE:
                self.reject_counts[<int>REJECT_BEFORE_SNAPSHOT] += 1
                return 0
            # Bybit: each delta's u must follow the last (docs/venues.md, "Bybit"); OKX:
            # each update's prevSeqId must be the last seqId (docs/venues.md, "OKX")
            verdict = (SEQ_APPLY if self.seq.rule == RULE_IN_BAND
                       else self.seq.check(b.first_id, b.last_id, b.prev_id))
        else:
            verdict = self.seq.check(b.first_id, b.last_id, b.prev_id)

        if verdict == SEQ_APPLY:
            rc = convert_segment(b, seg, &self.price_grid, &self.size_grid)
            if rc != DEC_OK:
                self._reject_convert(b, seg, payload, "update")
                return 0
            self.off_grid_levels += b.off_grid
            self.book.apply_deltas(b.levels + seg.start, seg.count)
            self.seq.applied(b.last_id)
            if self.fan_log != NULL:
                if not _fan_room(self.fan_log, seg.count):
                    # a burst: send the log now rather than let it overflow into a
                    # snapshot (docs/fanout.md, "How it stays off the hot path")
                    self._fan_owner.flush_full(self)
                _fan_levels(self.fan_log, b.levels + seg.start, seg.count)
            if self.seq.rule == RULE_OKX and b.last_id < 0:
                self.unchained_messages += 1
            self.level_changes += seg.count
            if self.depth_limit or self.checksum_levels:
                if self._check_book(b) != 0:
                    return seg.count  # applied, then the checksum marked the book gap
            if self._tap is not None:
                self._tap_payload(payload, n)
            if self.book.is_crossed_c():
                self.crossed_events += 1
            t_done = monotonic_ns()
            self.last_applied_ns = t_done
            # the book's own histogram (None when book_latency="off") and its connection's
            # (explicit tests, not record_into(): passing an attribute costs a refcount)
            ns = t_done - t_recv
            if self.recv_to_apply is not None:
                self.recv_to_apply.record(ns)
            if self._conn_recv_to_apply is not None:
                self._conn_recv_to_apply.record(ns)
            if b.event_time_ns > 0:
                self.last_event_time_ns = b.event_time_ns
                # wall time at receive = monotonic stamp + (wall - monotonic) offset
                ns = t_recv + _wall_offset(t_done) - b.event_time_ns
                if self.exchange_to_recv is not None:
                    self.exchange_to_recv.record(ns)
                if self._conn_exchange_to_recv is not None:
                    self._conn_exchange_to_recv.record(ns)
            elif seg.event_time_ns > 0:
                self.last_event_time_ns = seg.event_time_ns
            if self.shm_slot != NULL:
                if self._read_queue is not None:
                    # readers see the book as of the end of the read: one copy a read
                    self._shm_pending = True
                    self._defer_to_read_end()
                else:
                    self.shm_publish()
            if self.fan_log != NULL:
                ff_fan_message(self.fan_log, b.first_id, b.last_id, self.last_event_time_ns,
                               t_recv)
                if ff_fan_touch(self.fan_log, 0):
                    self._fan_owner.wake()
            if self.top_sink_fn != NULL and self.seq.state == SYNC_LIVE:
                self._publish_top(t_recv)
            if self.callback is not None:
                if self.callback_per_read and self._read_queue is not None:
                    self._callback_pending = True
                    self._defer_to_read_end()
                else:
                    self._run_callback()
                    self._record_publish(t_recv)
            return seg.count
        if verdict == SEQ_BUFFER:
            self.buffer_payload(payload, n, b.first_id)
            return 0
        if verdict == SEQ_OLD:
            self.old_messages += 1
            return 0
        # SEQ_GAP: keep the message (it starts the stream the next snapshot must cover;
        # an in-band venue's next snapshot replaces everything: nothing to keep)
        self.mark_gap(f"sequence gap: book at {self.seq.book_id}, message covers "
                      f"{b.first_id}..{b.last_id} (prev {b.prev_id})", SYNC_GAP)
        if self.seq.rule != RULE_BYBIT and self.seq.rule != RULE_OKX:
            self.buffer_payload(payload, n, b.first_id)
        return 0

    cdef int _load_in_band(self, DeltaBatch* b, const Segment* seg, int64_t t_recv,
                           const char* payload, Py_ssize_t n) except -1:
        """An in-band snapshot (Coinbase, Bybit) replaces the book and makes it live."""
        cdef int rc = convert_segment(b, seg, &self.price_grid, &self.size_grid)
        if rc != DEC_OK:
            self._reject_convert(b, seg, payload, "snapshot")
            return 0
        self.off_grid_levels += b.off_grid
        self.off_grid_snapshot_levels += b.off_grid
        self.book.load_deltas(b.levels + seg.start, seg.count)
        # Coinbase has no per-book update id; Bybit's snapshot carries its u, OKX's its
        # seqId (-1: none, an old recording: the chain check is off, docs/venues.md "OKX")
        if self.seq.rule == RULE_OKX:
            self.seq.go_live(b.last_id)
            if b.last_id < 0:
                self.unchained_messages += 1
        else:
            self.seq.go_live(-1 if self.seq.rule == RULE_IN_BAND else b.last_id)
        self._went_live(t_recv)     # publishes to shared memory, if on
        self.level_changes += seg.count
        if self.depth_limit or self.checksum_levels:
            if self._check_book(b) != 0:
                return seg.count  # applied, then the checksum marked the book gap
        self.last_applied_ns = monotonic_ns()
        if self.callback is not None:
            self._run_callback()
        return seg.count

    cdef int _replay_one(self, const char* p, Py_ssize_t n, int64_t t_recv) except -1:
        """Re-decode one buffered payload and apply this book's segments of it.

        Connection-level checks ran when the payload arrived (in the router); a buffered
        payload decoded then, so it decodes now.
        """
        cdef DeltaBatch* b = &self.batch
        cdef Py_ssize_t i
        batch_reset(b)
        if self.rules.decode(p, n, b) != DEC_OK:
            return 0
        if b.msg_kind == MSG_DEPTH or b.msg_kind == MSG_SNAPSHOT:
            for i in range(b.n_segs):
                if self.matches(&b.segs[i]):
                    self.process_segment(b, &b.segs[i], t_recv, p, n)
        return 0

    cdef int _check_book(self, DeltaBatch* b) except -1:
        """Truncate to the subscribed depth (levels pushed out get no delete), then
        verify the message's checksum (docs/venues.md, "Kraken"). 1: mismatch, the book
        is marked ``gap`` (its symbol alone is resynced); 0: fine."""
        cdef L2Book bk = self.book
        cdef uint32_t crc
        if self.depth_limit:
            if self.fan_log != NULL:
                _fan_truncated(self.fan_log, bk, self.depth_limit)
            bk.truncate_levels(self.depth_limit)
        if self.checksum_levels == 0 or b.prev_id < 0:
            return 0
        crc = ff_kraken_checksum(bk.ask_px, bk.ask_sz, bk.n_asks, bk.bid_px, bk.bid_sz,
                                 bk.n_bids, self.checksum_levels, self._ck_pdiv,
                                 self._ck_pmul, self._ck_sdiv, self._ck_smul)
        if <int64_t>crc == b.prev_id:
            return 0
        self.checksum_mismatches += 1
        self.mark_gap(f"checksum mismatch: message says {b.prev_id}, book gives {crc}",
                      SYNC_GAP)
        return 1

    # ------------------------------------------------------------------ cold path

    def set_checksum_precisions(self, int price_precision, int qty_precision) -> None:
        """The fixed decimals the book checksum formats prices and sizes with (Kraken
        ``price_precision``/``qty_precision`` from the ``instrument`` channel; default:
        the book's scales)."""
        cdef int pd = self.price_grid.decimals, sd = self.size_grid.decimals
        if not (0 <= price_precision <= 18 and 0 <= qty_precision <= 18):
            raise ValueError("checksum precisions must be in 0..18")
        self._ck_pdiv = <int64_t>FF_POW10[max(pd - price_precision, 0)]
        self._ck_pmul = <int64_t>FF_POW10[max(price_precision - pd, 0)]
        self._ck_sdiv = <int64_t>FF_POW10[max(sd - qty_precision, 0)]
        self._ck_smul = <int64_t>FF_POW10[max(qty_precision - sd, 0)]

    def checksum(self) -> int:
        """The book's current checksum (CRC32, unsigned) as the hot path computes it."""
        cdef L2Book bk = self.book
        return ff_kraken_checksum(bk.ask_px, bk.ask_sz, bk.n_asks, bk.bid_px, bk.bid_sz,
                                  bk.n_bids, self.checksum_levels or 10, self._ck_pdiv,
                                  self._ck_pmul, self._ck_sdiv, self._ck_smul)

    cdef int _defer_to_read_end(self) except -1:
        if not self._in_read_queue:
            self._in_read_queue = True
            self._read_queue.append(self)
        return 0

    cdef void _record_publish(self, int64_t t_recv) noexcept:
        """recv → publish latency: the message's (or the read's) receive stamp to now."""
        cdef int64_t ns = monotonic_ns() - t_recv
        if self.recv_to_publish is not None:
            self.recv_to_publish.record(ns)
        if self._conn_recv_to_publish is not None:
            self._conn_recv_to_publish.record(ns)

    cdef int read_done(self) except -1:
        """The socket read ended (or a snapshot's replay did): publish to shared memory
        once, and run a per-read callback once, for everything the read applied."""
        self._in_read_queue = False
        if self._shm_pending:
            self._shm_pending = False
            if self.shm_slot != NULL:
                self.shm_publish()
        if self._callback_pending:
            self._callback_pending = False
            if self.callback is not None:
                self._run_callback()
                self._record_publish(self.last_recv_ns)
        return 0

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
        cdef str text = convert_error_message(b, seg, payload, self.price_grid.decimals,
                                              self.size_grid.decimals)
        self.reject_counts[b.error] += 1
        if self.seq.state == SYNC_LIVE:
            # mark first, raise (strict) after: the state must be honest either way
            self.mark_gap(f"rejected {what}: {text}", SYNC_GAP)
        self.note_reject(text)

    def gaps_on_connection(self, str reason):
        """The connection lost messages: a live book can no longer be trusted."""
        if self.seq.state == SYNC_LIVE:
            self.mark_gap(reason, SYNC_GAP)

    cdef int note_reject(self, str text) except -1:
        """Remember and report a rejected input; offline (strict) it raises."""
        self.last_reject = text
        if self._owner is not None:
            self._owner.on_book_reject(self, text)
        if self.strict:
            raise DecodeRejected(f"{self.venue} {self.symbol}: {text}")
        return 0

    cdef int mark_gap(self, str reason, int state) except -1:
        """The book is no longer exact (``gap``) or frozen (``stale``)."""
        if self.seq.state == SYNC_LIVE:
            self.gaps += 1
            self.gap_started_ns = monotonic_ns()
        self.seq.restart(state)
        self.last_gap_reason = reason
        self._buffer = []
        self.buffer_bytes = 0
        if self.shm_slot != NULL:
            self.shm_publish()
        if self.fan_log != NULL:
            self._fan_touch(FF_FAN_STATE)
        if self._owner is not None:
            self._owner.on_book_gap(self, reason)
        return 0

    cdef int buffer_payload(self, const char* p, Py_ssize_t n, int64_t first_id) except -1:
        if (len(self._buffer) >= self.max_buffer_messages
                or self.buffer_bytes + n > self.max_buffer_bytes):
            # Restart the sync window: the next snapshot must cover what comes next.
            self.reject_counts[<int>REJECT_BUFFER_OVERFLOW] += 1
            log.warning("%s %s: sync buffer full (%d messages, %d bytes); restarting sync",
                        self.venue, self.symbol, len(self._buffer), self.buffer_bytes)
            self._buffer = []
            self.buffer_bytes = 0
            self.seq.forget_buffered()
        self.seq.buffered(first_id)
        self._buffer.append(PyBytes_FromStringAndSize(p, n))
        self.buffer_bytes += n
        self.buffered_messages += 1
        if self._owner is not None and len(self._buffer) == 1:
            # the stream proved it carries this book: its snapshot may be fetched now
            self._owner.on_book_buffered(self)
        return 0

    cdef int _tap_payload(self, const char* p, Py_ssize_t n) except -1:
        # an audit's shadow replays exactly what this book applied; past the buffer
        # bound the audit is abandoned (the tap closes) rather than holding memory
        if self._tap_bytes + n > self.max_buffer_bytes:
            self._tap = None
            return 0
        self._tap.append(PyBytes_FromStringAndSize(p, n))
        self._tap_bytes += n
        return 0

    cdef int _went_live(self, int64_t now) except -1:
        """The book is exact again; a pending gap/stale period ends with a resync."""
        if self.gap_started_ns:
            if self.resync_duration is not None:
                self.resync_duration.record(now - self.gap_started_ns)
            if self._conn_resync_duration is not None:
                self._conn_resync_duration.record(now - self.gap_started_ns)
            self.resyncs += 1
            self.gap_started_ns = 0
        if self.shm_slot != NULL:
            self.shm_publish()
        if self.fan_log != NULL:
            # the book was loaded wholesale: a new epoch starts with its snapshot
            self._fan_touch(FF_FAN_FULL | FF_FAN_NEW_EPOCH | FF_FAN_STATE)
        if self._owner is not None:
            self._owner.on_book_live(self)
        return 0

    cdef int _trim_scratch(self) except -1:
        """Cut the scratch batch back to SCRATCH_LEVELS after a snapshot grew it (a 5000-
        level side is ~470 KiB of scratch otherwise kept for good; docs/memory.md)."""
        if self.batch.cap_levels > SCRATCH_LEVELS or self.batch.cap_segs > 16:
            batch_free(&self.batch)
            if batch_init(&self.batch, SCRATCH_LEVELS) != 0:
                batch_free(&self.batch)     # empty: it grows again from nothing
        return 0

    cdef void shm_publish(self) noexcept nogil:
        """Copy the top ``shm_depth`` levels and the state into the shared-memory slot."""
        cdef int64_t recv_wall = 0
        if self.last_recv_ns:
            recv_wall = self.last_recv_ns + _wall_offset(self.last_recv_ns)
        ff_shm_publish(self.shm_slot, self.shm_depth,
                       self.book.bid_px, self.book.bid_sz, self.book.n_bids,
                       self.book.ask_px, self.book.ask_sz, self.book.n_asks,
                       self.seq.state, self.seq.book_id, self.last_event_time_ns, recv_wall)

    cdef int _fan_touch(self, unsigned int flags) except -1:
        """Tell the fan-out publisher this book changed other than by a delta."""
        if ff_fan_touch(self.fan_log, flags):
            self._fan_owner.wake()
        return 0

    cdef int _publish_top(self, int64_t t_recv) except -1:
        """Hand the book's top to the BBO stream that follows it."""
        cdef L2Book bk = self.book
        cdef int64_t bp = 0, bs = 0, ap = 0, asz = 0
        if bk.n_bids:
            bp = bk.bid_px[bk.n_bids - 1]
            bs = bk.bid_sz[bk.n_bids - 1]
        if bk.n_asks:
            ap = bk.ask_px[bk.n_asks - 1]
            asz = bk.ask_sz[bk.n_asks - 1]
        return self.top_sink_fn(self.top_sink, t_recv, self.last_event_time_ns,
                                self.seq.book_id, bp, bs, ap, asz)

    # ------------------------------------------------------------------ Python API

    def _attach(self, owner) -> None:
        """Engine wiring: ``owner.on_book_gap(core, reason)`` when the book turns invalid,
        ``owner.on_book_reject(core, text)`` for each rejected input,
        ``owner.on_book_buffered(core)`` when a syncing book buffers its first event and
        ``owner.on_book_live(core)`` when a snapshot made it live (None detaches). They run
        inside the frame callback: they must be cheap and must not raise."""
        self._owner = owner

    def _attach_latency(self, latency) -> None:
        """Engine wiring: also record every sample into ``latency`` (a
        ``fastfeed.latency.LatencySet``: the connection's), or stop (None)."""
        if latency is None:
            self._conn_recv_to_apply = None
            self._conn_recv_to_publish = None
            self._conn_exchange_to_recv = None
            self._conn_resync_duration = None
            return
        self._conn_recv_to_apply = latency.recv_to_apply
        self._conn_recv_to_publish = latency.recv_to_publish
        self._conn_exchange_to_recv = latency.exchange_to_recv
        self._conn_resync_duration = latency.resync_duration

    def memory(self) -> dict:
        """Bytes this book holds, by part (docs/memory.md): ``levels`` (the level
        arrays), ``latency`` (its histograms), ``scratch`` (the snapshot/replay batch),
        ``buffer`` (the sync buffer), ``objects`` (the book's other objects), ``total``
        (their sum) and ``beyond_levels`` (``total - levels``: the part
        ``BOOK_MEMORY_BOUND`` holds a live book to)."""
        cdef Py_ssize_t scratch = (self.batch.cap_levels * sizeof(Delta)
                                   + self.batch.cap_segs * sizeof(Segment))
        cdef L2Book bk = self.book
        arrays = (bk._bid_px_arr, bk._bid_sz_arr, bk._ask_px_arr, bk._ask_sz_arr)
        levels = sum(a.nbytes for a in arrays)
        buffer = (sys.getsizeof(self._buffer) + self.buffer_bytes
                  + len(self._buffer) * sys.getsizeof(b""))
        objects = (sys.getsizeof(self) + sys.getsizeof(bk) + sys.getsizeof(self.seq)
                   + sum(sys.getsizeof(a) - a.nbytes for a in arrays)
                   + sys.getsizeof(self._symbol_key) + sys.getsizeof(self.symbol))
        out = {"levels": levels,
               "latency": self.latency.memory_bytes() if self.latency is not None else 0,
               "scratch": scratch, "buffer": buffer, "objects": objects}
        out["total"] = sum(out.values())
        out["beyond_levels"] = out["total"] - out["levels"]
        return out

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
        if self.rules.decode_snapshot == NULL:
            raise TypeError(f"{self.venue} snapshots arrive in-band: pass them to apply_message")
        PyObject_GetBuffer(body, &view, PyBUF_SIMPLE)
        try:
            batch_reset(b)
            rc = self.rules.decode_snapshot(<const char*>view.buf, view.len, b)
            if rc == DEC_OK and b.msg_kind != MSG_SNAPSHOT:
                # e.g. {"code":-1121,"msg":"Invalid symbol."}: not a book, never load it
                text = PyBytes_FromStringAndSize(<const char*>view.buf, min(view.len, 300))
                self.last_reject = "snapshot: venue error " + text.decode("utf-8", "replace")
                raise DecodeRejected(f"{self.venue} {self.symbol}: {self.last_reject}")
            if rc == DEC_OK and b.n_segs == 1:
                rc = convert_segment(b, &b.segs[0], &self.price_grid, &self.size_grid)
                if rc != DEC_OK:
                    text = convert_error_message(b, &b.segs[0], <const char*>view.buf,
                                                 self.price_grid.decimals,
                                                 self.size_grid.decimals)
                    self.last_reject = "snapshot: " + text
                    raise DecodeRejected(f"{self.venue} {self.symbol} snapshot: {text}")
            if rc != DEC_OK:
                text = batch_error_message(b)
                self.last_reject = "snapshot: " + text
                raise DecodeRejected(f"{self.venue} {self.symbol} snapshot: {text}")
            if self.seq.snapshot_loaded(b.last_id) != SNAP_OK:
                return "too_old"
            self.book.load_deltas(b.levels + b.segs[0].start, b.segs[0].count)
            self.off_grid_levels += b.off_grid
            self.off_grid_snapshot_levels += b.off_grid
        finally:
            PyBuffer_Release(&view)
            self._trim_scratch()
        self._went_live(t0)
        try:
            return self._replay_buffer()
        finally:
            self._trim_scratch()
            self.read_done()        # the replay was not part of any socket read

    def _replay_buffer(self) -> str:
        buffered = self._buffer
        self._buffer = []
        self.buffer_bytes = 0
        cdef bytes payload
        for i, payload in enumerate(buffered):
            self._replaying = True
            try:
                self._replay_one(PyBytes_AS_STRING(payload), len(payload), monotonic_ns())
            finally:
                self._replaying = False
            if self.seq.state != SYNC_LIVE:
                # gap during replay: keep the rest for the next snapshot
                for rest in buffered[i + 1:]:
                    self._buffer.append(rest)
                    self.buffer_bytes += len(rest)
                return _STATE_NAMES[self.seq.state]
        return "live"

    def start_tap(self) -> None:
        """Keep a copy of every payload applied from now on (``take_tap``), for an audit
        (``fastfeed.audit``); bounded by ``max_buffer_bytes``, past which it stops."""
        self._tap = []
        self._tap_bytes = 0

    def take_tap(self):
        """The payloads applied since ``start_tap`` or the last ``take_tap`` (the tap
        stays open), or None if the tap is closed (never opened, stopped, or overflowed)."""
        if self._tap is None:
            return None
        out = self._tap
        self._tap = []
        return out

    def stop_tap(self) -> None:
        """Close the tap and drop what it holds."""
        self._tap = None
        self._tap_bytes = 0

    def replace_levels(self, bids, asks) -> None:
        """Replace the book's levels (``(price, size)`` ints, as ``L2Book.load``) without
        touching its state or sequence: an audit healing a diverged live book."""
        self.book.load(bids, asks)
        if self.shm_slot != NULL:
            self.shm_publish()
        if self.fan_log != NULL:
            self._fan_touch(FF_FAN_FULL)

    def start_sync(self, str state="syncing") -> None:
        """Begin (re)synchronising: buffer live events until a snapshot is loaded."""
        cdef int code = _STATE_NAMES.index(state)
        if self.seq.state == SYNC_LIVE and code != SYNC_LIVE:
            self.gap_started_ns = monotonic_ns()
        self.seq.restart(code)
        self._buffer = []
        self.buffer_bytes = 0
        if self.shm_slot != NULL:
            self.shm_publish()
        if self.fan_log != NULL:
            self._fan_touch(FF_FAN_STATE)

    def mark_stale(self, str reason) -> None:
        """The connection dropped or went silent: freeze and stop trusting the book."""
        self.mark_gap(reason, SYNC_STALE)

    def close(self) -> None:
        """Stop applying anything to this book."""
        self.seq.restart(SYNC_CLOSED)
        self._buffer = []
        self.buffer_bytes = 0
        if self.shm_slot != NULL:
            self.shm_publish()
        if self.fan_log != NULL:
            self._fan_touch(FF_FAN_STATE)

    @property
    def price_decimals(self) -> int:
        """The price scale: a price is ``ticks / 10**price_decimals``."""
        return self.price_grid.decimals

    @property
    def size_decimals(self) -> int:
        """The size scale: a size is ``lots / 10**size_decimals``."""
        return self.size_grid.decimals

    @property
    def absent_deletes(self) -> int:
        """Deletes of prices the book did not hold: normal (OKX sends many), applied as
        no-ops, counted (docs/venues.md#common-rules)."""
        return self.book.absent_deletes

    @property
    def price_tick(self) -> int:
        """The instrument's tick size in units of ``10**-price_decimals``."""
        return self.price_grid.step

    @property
    def size_step(self) -> int:
        """The instrument's step size in units of ``10**-size_decimals``."""
        return self.size_grid.step

    @property
    def state(self) -> str:
        """``syncing`` | ``live`` | ``gap`` | ``stale`` | ``closed``."""
        return _STATE_NAMES[self.seq.state]

    @property
    def is_live(self) -> bool:
        """True when the book is exact as of ``last_update_id``."""
        return self.seq.state == SYNC_LIVE

    @property
    def last_update_id(self) -> int:
        """The venue update id the book reflects (-1 before a snapshot / in-band venues)."""
        return self.seq.book_id

    @property
    def buffered(self) -> int:
        """Messages currently held for replay after the next snapshot."""
        return len(self._buffer)

    @property
    def rejects(self) -> dict:
        """Rejected messages by reason (only reasons seen at least once)."""
        return reject_counts_by_name(self.reject_counts)

    @property
    def rejected(self) -> int:
        """Total rejected messages."""
        return sum(self.rejects.values())

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
            "off_grid_levels": self.off_grid_levels,
            "off_grid_snapshot_levels": self.off_grid_snapshot_levels,
            "rejects": self.rejects,
            "last_update_id": self.last_update_id,
            "last_event_time_ns": self.last_event_time_ns,
        }

    def __repr__(self):
        return (f"<{type(self).__name__} {self.venue}:{self.symbol} {self.state} "
                f"id={self.seq.book_id} bids={self.book.bid_depth} asks={self.book.ask_depth}>")
