# Included by _parse.pyx. Coinbase Advanced Trade:
# {"channel":..,"timestamp":..,"sequence_num":..,"events":[..]}. The CB_* field bits,
# CbObj and _cb_init are shared with coinbase_exchange.pxi (included after this file).

from fastfeed._cdefs cimport ff_load8, ff_same_bytes

# False: the updates fast path is skipped (the general decoder alone decides); only the
# differential check flips it (registry.pxi _decode_raw, benches/fuzz_fast.py).
cdef bint _cb_fast = True

cdef enum:
    CB_channel = 1 << 0
    CB_timestamp = 1 << 1
    CB_sequence = 1 << 2
    CB_events = 1 << 3
    CB_type = 1 << 4
    CB_product = 1 << 5
    CB_updates = 1 << 6
    CB_side = 1 << 7
    CB_price = 1 << 8
    CB_qty = 1 << 9
    CB_time = 1 << 10
    CB_bids = 1 << 11
    CB_asks = 1 << 12
    CB_changes = 1 << 13


ctypedef struct CbObj:
    uint32_t seen
    Pending pd                  # envelope / message fields
    Pending ev_pd               # Advanced Trade: inside "events"
    const char* channel
    Py_ssize_t channel_len
    const char* ts
    Py_ssize_t ts_len
    Py_ssize_t ts_at
    const char* type
    Py_ssize_t type_len         # -1: present but not a string
    Py_ssize_t type_at
    const char* product
    Py_ssize_t product_len
    int64_t seq


cdef inline void _cb_init(CbObj* o) noexcept nogil:
    o.seen = 0
    o.pd.code = DEC_OK
    o.pd.at = -1
    o.pd.detail = NULL
    o.ev_pd.code = DEC_OK
    o.ev_pd.at = -1
    o.ev_pd.detail = NULL
    o.channel = o.ts = o.type = o.product = NULL
    o.channel_len = o.ts_len = o.type_len = o.product_len = 0
    o.ts_at = o.type_at = -1
    o.seq = 0


cdef int _cb_update(Cursor* c, DeltaBatch* b, Segment* seg, bint* got_time,
                    Pending* pd) noexcept nogil:
    """One ``{"side":..,"event_time":..,"price_level":..,"new_quantity":..}`` (at '{')."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef const char* s
    cdef Py_ssize_t slen
    cdef uint32_t seen = 0
    cdef KeySet ks              # every other key, for duplicates
    cdef int rc
    cdef Py_ssize_t at
    cdef Delta* d = batch_next_level(b)
    ks.n = 0
    if d == NULL:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, NULL)
    d.price_ptr = d.size_ptr = NULL
    d.price_len = d.size_len = 0
    d.price = d.size = 0            # no pre-parse: phase 2 reads the text
    d.side = SIDE_BID
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            if key_is(k, kl, "side", 4):
                if seen & CB_side:
                    return _dup(c)
                seen |= CB_side
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &slen, pd,
                                "field 'side' has the wrong type (expected string)")
                if rc == 0:
                    if _span_is(s, slen, "bid", 3):
                        d.side = SIDE_BID
                    elif _span_is(s, slen, "offer", 5):
                        d.side = SIDE_ASK
                    else:
                        _pend(pd, DEC_BAD_SIDE, at, "update side is not 'bid' or 'offer'")
            elif key_is(k, kl, "price_level", 11):
                if seen & CB_price:
                    return _dup(c)
                seen |= CB_price
                rc = _str_field(c, &s, &slen, pd,
                                "field 'price_level' has the wrong type (expected string)")
                if rc == 0:
                    d.price_ptr = s
                    d.price_len = <int32_t>slen
            elif key_is(k, kl, "new_quantity", 12):
                if seen & CB_qty:
                    return _dup(c)
                seen |= CB_qty
                rc = _str_field(c, &s, &slen, pd,
                                "field 'new_quantity' has the wrong type (expected string)")
                if rc == 0:
                    d.size_ptr = s
                    d.size_len = <int32_t>slen
            elif key_is(k, kl, "event_time", 10):
                if seen & CB_time:
                    return _dup(c)
                seen |= CB_time
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &slen, pd,
                                "field 'event_time' has the wrong type (expected string)")
                if not got_time[0]:
                    # The event's time: that of its first update (parsing every one
                    # would cost ~20 ns a level for nothing).
                    got_time[0] = True
                    if rc == 0 and parse_rfc3339_ns(s, slen, &seg.event_time_ns) < 0:
                        _pend(pd, DEC_BAD_TIMESTAMP, at,
                              "field 'event_time' is not an RFC 3339 timestamp")
            elif key_set_add(c, &ks, k, kl) < 0:
                return -1
            else:
                rc = cur_skip_value(c, 0)
            if rc < 0:
                return -1
            rc = cur_next(c, b'}')
            if rc < 0:
                return -1
            if rc == 0:
                break
    if not seen & CB_side:
        _pend(pd, DEC_MISSING_FIELD, -1, "update field 'side' missing")
    if not seen & CB_price:
        _pend(pd, DEC_MISSING_FIELD, -1, "update field 'price_level' missing")
    if not seen & CB_qty:
        _pend(pd, DEC_MISSING_FIELD, -1, "update field 'new_quantity' missing")
    return 0


ctypedef struct CbTimeRef:
    # A time text the fast path has checked clean (no quote, backslash or control byte):
    # the envelope's timestamp, then the last event_time that was not the same as it;
    # len 0: none yet, or too short to compare. ns: its value when has_ns (the envelope's).
    const char* ref
    Py_ssize_t len
    int64_t ns
    bint has_ns


cdef int _cb_update_tight(Cursor* c, DeltaBatch* b, Segment* seg, bint* got_time,
                          CbTimeRef* tm, Pending* pd) noexcept nogil:
    """At '{': a run of updates exactly as Coinbase sends them, ``{"side":"bid"|"offer",
    "event_time":"..","price_level":"..","new_quantity":".."}`` joined by ``,`` without
    whitespace or escapes, decimals pre-parsed while scanning (docs/venues.md, "Coinbase
    Advanced Trade fast path"). 0: at least one parsed (same result as _cb_update), c.i
    just past the last one's '}'; -1: the first deviates and nothing is recorded. A
    deviating update later in the run is left to the caller (levels restored)."""
    cdef const char* p = c.p
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t i = c.i
    cdef Py_ssize_t t, te, q
    cdef Py_ssize_t saved
    cdef int64_t pre
    cdef uint64_t v
    cdef bint offer, same
    cdef bint any_done = False
    cdef Delta* d
    while True:
        saved = b.n_levels
        # '{"side":"' + 'bid' or 'offer' + '","event_time":"': fixed 8-byte words, and
        # the side picked without a branch (it alternates unpredictably)
        if n - i < 30 or ff_load8(p + i) != ff_load8('{"side":') or p[i + 8] != b'"':
            break
        v = ff_load8(p + i + 9)
        offer = v == ff_load8('offer","')
        if not offer and v != ff_load8('bid","ev'):
            break
        t = i + 12 + 2 * offer
        if (ff_load8(p + t) != ff_load8('","event') or
                ff_load8(p + t + 8) != ff_load8('_time":"')):
            break
        t += 16
        # event_time: only the first is parsed (see _cb_update), the others only have to
        # be plain strings; the same bytes as an earlier clean one prove that cheaper than
        # a scan (they are almost always equal within an event)
        same = tm.len and n - t > tm.len and ff_same_bytes(p + t, tm.ref, tm.len)
        if same:
            te = t + tm.len
        else:
            te = ff_scan_string(p, t, n)
        if not _lit(p, te, n, '","price_level":"', 17):
            break
        if not same and te - t >= 8:
            # compare the next ones with this one (times change rarely within a run)
            tm.ref = p + t
            tm.len = te - t
            tm.has_ns = False
        d = batch_next_level(b)
        if d == NULL:
            break
        d.side = SIDE_ASK if offer else SIDE_BID
        i = te + 17
        q = _dec_string(p, i, n, &pre)
        if q < 0 or q - i > INT32_MAX:
            b.n_levels = saved
            break
        d.price_ptr = p + i
        d.price_len = <int32_t>(q - i)
        d.price = pre
        if not _lit(p, q, n, '","new_quantity":"', 18):
            b.n_levels = saved
            break
        i = q + 18
        q = _dec_string(p, i, n, &pre)
        if q < 0 or q - i > INT32_MAX or not _lit(p, q, n, '"}', 2):
            b.n_levels = saved
            break
        d.size_ptr = p + i
        d.size_len = <int32_t>(q - i)
        d.size = pre
        c.i = q + 2
        any_done = True
        if not got_time[0]:
            # the event's time is its first update's (as in _cb_update)
            got_time[0] = True
            if same and tm.has_ns:
                seg.event_time_ns = tm.ns       # the envelope's timestamp, same text
            elif parse_rfc3339_ns(p + t, te - t, &seg.event_time_ns) < 0:
                _pend(pd, DEC_BAD_TIMESTAMP, t - 1,
                      "field 'event_time' is not an RFC 3339 timestamp")
        if not _lit(p, c.i, n, ',{', 2):
            return 0
        i = c.i + 1
    return 0 if any_done else -1


cdef int _cb_array(Cursor* c, DeltaBatch* b, Segment* seg, Pending* pd, bint events,
                   const char* wrong, const CbTimeRef* known) noexcept nogil:
    """``events`` (events=True) or an event's ``updates`` array of objects; ``known``: a
    checked time text for the fast path to compare event times with, or NULL."""
    cdef int rc
    cdef Py_ssize_t saved, start
    cdef bint got_time = False
    cdef CbTimeRef tm
    if known != NULL:
        tm = known[0]
    else:
        tm.ref = NULL
        tm.len = 0
        tm.ns = 0               # read only when has_ns (set with it); keeps gcc's
        tm.has_ns = False       # -Wmaybe-uninitialized quiet
    if cur_peek(c) != b'[':
        _pend(pd, DEC_WRONG_TYPE, c.i, wrong)
        return cur_skip_value(c, 0)
    c.i += 1
    if cur_peek(c) == b']':
        c.i += 1
        return 0
    while True:
        if cur_peek(c) != b'{':
            _pend(pd, DEC_WRONG_TYPE, c.i, wrong)
            rc = cur_skip_value(c, 0)
        elif events:
            rc = _cb_event(c, b, pd)
        else:
            saved = b.n_levels
            start = c.i
            rc = _cb_update_tight(c, b, seg, &got_time, &tm, pd) if _cb_fast else -1
            if rc < 0:
                b.n_levels = saved
                c.i = start
                rc = _cb_update(c, b, seg, &got_time, pd)
        if rc < 0:
            return -1
        rc = cur_next(c, b']')
        if rc <= 0:
            return rc


cdef int _cb_event(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """One ``{"type":..,"product_id":..,"updates":[..]}`` (at '{') → one Segment."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef const char* s
    cdef Py_ssize_t slen
    cdef uint32_t seen = 0
    cdef KeySet ks              # every other key, for duplicates
    cdef int rc
    cdef Py_ssize_t at
    cdef Py_ssize_t seg_index = b.n_segs
    cdef Segment* seg = batch_next_seg(b)
    ks.n = 0
    if seg == NULL:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, "too many segments")
    seg.symbol_ptr = NULL
    seg.symbol_len = 0
    seg.kind = SEG_UPDATE
    seg.start = b.n_levels
    seg.count = 0
    seg.event_time_ns = 0
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            if key_is(k, kl, "type", 4):
                if seen & CB_type:
                    return _dup(c)
                seen |= CB_type
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &slen, pd,
                                "event field 'type' has the wrong type (expected string)")
                if rc == 0:
                    if _span_is(s, slen, "update", 6):
                        b.segs[seg_index].kind = SEG_UPDATE
                    elif _span_is(s, slen, "snapshot", 8):
                        b.segs[seg_index].kind = SEG_SNAPSHOT
                    else:
                        _pend(pd, DEC_UNKNOWN_MESSAGE, at,
                              "event type is not 'snapshot' or 'update'")
            elif key_is(k, kl, "product_id", 10):
                if seen & CB_product:
                    return _dup(c)
                seen |= CB_product
                rc = _sym_field(c, &s, &slen, pd,
                                "event field 'product_id' has the wrong type (expected string)",
                                "event field 'product_id' contains an escape "
                                "(symbols must be plain strings)",
                                "event field 'product_id' is not valid UTF-8")
                if rc == 0:
                    b.segs[seg_index].symbol_ptr = s
                    b.segs[seg_index].symbol_len = <int32_t>slen
            elif key_is(k, kl, "updates", 7):
                if seen & CB_updates:
                    return _dup(c)
                seen |= CB_updates
                # the segment array does not move while levels are appended
                rc = _cb_array(c, b, &b.segs[seg_index], pd, False,
                               "field 'updates' has the wrong type (expected array of objects)",
                               NULL)
            elif key_set_add(c, &ks, k, kl) < 0:
                return -1
            else:
                rc = cur_skip_value(c, 0)
            if rc < 0:
                return -1
            rc = cur_next(c, b'}')
            if rc < 0:
                return -1
            if rc == 0:
                break
    seg = &b.segs[seg_index]
    seg.count = b.n_levels - seg.start
    if not seen & CB_type:
        _pend(pd, DEC_MISSING_FIELD, -1, "event field 'type' missing")
    if not seen & CB_product:
        _pend(pd, DEC_MISSING_FIELD, -1, "event field 'product_id' missing")
    if not seen & CB_updates:
        _pend(pd, DEC_MISSING_FIELD, -1, "event field 'updates' missing")
    return 0


cdef int _cb_tight(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """The whole ``l2_data`` envelope exactly as Coinbase sends it: ``{"channel":"l2_data",
    ["client_id":"..",]"timestamp":"..","sequence_num":N,"events":[{"type":"update"|
    "snapshot","product_id":"..","updates":[..]},..]}`` without whitespace or escapes,
    ending the payload (docs/venues.md, "Coinbase Advanced Trade fast path"). 0: decoded,
    the same batch as the general decoder; -1: any deviation or anything the general
    decoder would pend (the caller resets the batch and runs it: it alone decides)."""
    cdef Cursor c
    cdef Pending pd
    cdef Py_ssize_t i = 21
    cdef Py_ssize_t t, te, q
    cdef Py_ssize_t seg_index
    cdef int64_t seq
    cdef Segment* seg
    cdef uint8_t kind
    cdef CbTimeRef tm
    pd.code = DEC_OK
    pd.at = -1
    pd.detail = NULL
    if not _lit(p, 0, n, '{"channel":"l2_data",', 21):
        return -1
    if _lit(p, i, n, '"client_id":"', 13):
        i = ff_scan_string(p, i + 13, n)
        if not _lit(p, i, n, '",', 2):
            return -1
        i += 2
    if not _lit(p, i, n, '"timestamp":"', 13):
        return -1
    t = i + 13
    te = ff_scan_string(p, t, n)
    if not _lit(p, te, n, '","sequence_num":', 17):
        return -1
    q = ff_fast_uint(p, te + 17, n, &seq)
    if q < 0 or seq > MAX_UPDATE_ID or not _lit(p, q, n, ',"events":[', 11):
        return -1
    if parse_rfc3339_ns(p + t, te - t, &b.event_time_ns) < 0:
        return -1
    # the first event_time is usually the envelope's timestamp, byte for byte
    tm.ref = p + t
    tm.len = te - t if te - t >= 8 else 0
    tm.ns = b.event_time_ns
    tm.has_ns = True
    cur_init(&c, p, n)
    i = q + 11
    while True:
        if _lit(p, i, n, '{"type":"update","product_id":"', 31):
            kind = SEG_UPDATE
            i += 31
        elif _lit(p, i, n, '{"type":"snapshot","product_id":"', 33):
            kind = SEG_SNAPSHOT
            i += 33
        else:
            return -1
        t = i
        te = ff_scan_string(p, t, n)
        if not _lit(p, te, n, '","updates":[', 13) or not utf8_ok(p + t, te - t):
            return -1
        seg_index = b.n_segs
        seg = batch_next_seg(b)
        if seg == NULL:
            return -1
        seg.symbol_ptr = p + t
        seg.symbol_len = <int32_t>(te - t)
        seg.kind = kind
        seg.start = b.n_levels
        seg.count = 0
        seg.event_time_ns = 0
        c.i = te + 12
        if _cb_array(&c, b, seg, &pd, False, NULL, &tm) < 0 or pd.code != DEC_OK:
            return -1
        seg = &b.segs[seg_index]
        seg.count = b.n_levels - seg.start
        if _lit(p, c.i, n, '},', 2):
            i = c.i + 2
        elif c.i == n - 3 and _lit(p, c.i, n, '}]}', 3):
            break
        else:
            return -1
    b.last_id = seq
    b.msg_kind = MSG_DEPTH
    return 0


cdef int decode_coinbase_at(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Coinbase Advanced Trade: ``l2_data`` → MSG_DEPTH (one Segment per event, kind from
    the event type), ``heartbeats`` → MSG_HEARTBEAT, ``subscriptions`` → MSG_CONTROL,
    ``{"type":"error"}`` → MSG_VENUE_ERROR, other channels → MSG_IGNORED. ``last_id`` is
    ``sequence_num`` whenever present (it counts every message on the connection)."""
    cdef Cursor c
    cdef CbObj o
    cdef KeySet ks
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef bint seq_ok = False
    cdef Pending ignored
    ignored.code = DEC_OK
    batch_reset(b)
    if _cb_fast:
        if _cb_tight(p, n, b) == 0:
            return DEC_OK
        batch_reset(b)          # a deviation: the general decoder alone decides
    cur_init(&c, p, n)
    _cb_init(&o)
    ks.n = 0
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            if key_is(k, kl, "channel", 7):
                if o.seen & CB_channel:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_channel
                rc = _str_field(&c, &o.channel, &o.channel_len, &o.pd,
                                "field 'channel' has the wrong type (expected string)")
            elif key_is(k, kl, "timestamp", 9):
                if o.seen & CB_timestamp:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_timestamp
                cur_peek(&c)
                o.ts_at = c.i
                rc = _str_field(&c, &o.ts, &o.ts_len, &o.pd,
                                "field 'timestamp' has the wrong type (expected string)")
            elif key_is(k, kl, "sequence_num", 12):
                if o.seen & CB_sequence:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_sequence
                rc = _int_field(&c, &o.seq, &o.pd,
                                "field 'sequence_num' has the wrong type (expected integer)",
                                "field 'sequence_num' out of range")
                seq_ok = rc == 0
                if seq_ok and not 0 <= o.seq <= MAX_UPDATE_ID:
                    # -1 would read as "absent" and skip the connection check
                    seq_ok = False
                    _pend(&o.pd, DEC_OVERFLOW, c.i,
                          "field 'sequence_num' out of range (expected 0..2**62)")
            elif key_is(k, kl, "events", 6):
                if o.seen & CB_events:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_events
                rc = _cb_array(&c, b, NULL, &o.ev_pd, True,
                               "field 'events' has the wrong type (expected array of objects)",
                               NULL)
            elif key_is(k, kl, "type", 4):
                # only {"type":"error"} matters here; any other type or value is ignored
                if o.seen & CB_type:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_type
                rc = _str_field(&c, &o.type, &o.type_len, &ignored, NULL)
            elif key_set_add(&c, &ks, k, kl) < 0:
                return _fail_cursor(b, &c)
            else:
                rc = cur_skip_value(&c, 0)
            if rc < 0:
                return _fail_cursor(b, &c)
            rc = cur_next(&c, b'}')
            if rc < 0:
                return _fail_cursor(b, &c)
            if rc == 0:
                break
    if _end_of_payload(&c) < 0:
        return _fail_cursor(b, &c)
    if seq_ok:
        b.last_id = o.seq
    if o.type != NULL and _span_is(o.type, o.type_len, "error", 5):
        b.n_levels = b.n_segs = 0
        b.msg_kind = MSG_VENUE_ERROR
        return DEC_OK
    if o.pd.code != DEC_OK:
        return _fail_batch(b, o.pd.code, o.pd.at, o.pd.detail)
    if not o.seen & CB_channel:
        return _missing(b, "field 'channel' missing")
    if o.seen & CB_timestamp:
        if parse_rfc3339_ns(o.ts, o.ts_len, &b.event_time_ns) < 0:
            return _fail_batch(b, DEC_BAD_TIMESTAMP, o.ts_at,
                               "field 'timestamp' is not an RFC 3339 timestamp")
    if _span_is(o.channel, o.channel_len, "l2_data", 7):
        if not o.seen & CB_sequence:
            return _missing(b, "field 'sequence_num' missing")
        if not o.seen & CB_timestamp:
            return _missing(b, "field 'timestamp' missing")
        if not o.seen & CB_events:
            return _missing(b, "field 'events' missing")
        if o.ev_pd.code != DEC_OK:
            return _fail_batch(b, o.ev_pd.code, o.ev_pd.at, o.ev_pd.detail)
        b.msg_kind = MSG_DEPTH
        return DEC_OK
    b.n_levels = b.n_segs = 0
    if _span_is(o.channel, o.channel_len, "heartbeats", 10):
        b.msg_kind = MSG_HEARTBEAT
    elif _span_is(o.channel, o.channel_len, "subscriptions", 13):
        b.msg_kind = MSG_CONTROL
    elif not utf8_ok(o.channel, o.channel_len):
        return _fail_batch(b, DEC_BAD_UTF8, -1, "field 'channel' is not valid UTF-8")
    else:
        b.msg_kind = MSG_IGNORED
    return DEC_OK


_register("coinbase-at", decode_coinbase_at)


def _decode_raw(str venue, payload, int price_decimals, int size_decimals, *,
                bint fast=True) -> tuple:
    """Private (differential checks): decode ``payload`` and return the whole DeltaBatch
    as a tuple — return code, kind, ids, times, the error code, offset and detail, each
    segment ``(symbol offset, symbol length, kind, start, count, event_time_ns)`` and each
    level ``(side, price offset, price length, size offset, size length)`` with its
    phase 2 result ``(convert code, decimal error, price, size)`` per segment at the given
    scale. ``fast=False`` runs the Coinbase AT decoder without its updates fast path, so
    ``_decode_raw(v, p, ..., fast=True) == _decode_raw(v, p, ..., fast=False)`` is the
    fast path's contract (benches/fuzz_fast.py, tests/test_decode_coinbase.py)."""
    global _cb_fast
    cdef DecodeFn fn = venue_decoder(venue, False)
    cdef bytes data = bytes(payload)
    cdef const char* p = data
    cdef DeltaBatch b
    cdef Grid price_grid, size_grid
    cdef Segment* seg
    cdef Delta* d
    cdef Py_ssize_t si, li
    cdef int rc
    _check_scale(price_decimals, size_decimals, 1, 1)
    grid_init(&price_grid, price_decimals, 1)
    grid_init(&size_grid, size_decimals, 1)
    if batch_init(&b, 64) < 0:
        raise MemoryError()
    try:
        _cb_fast = fast
        try:
            rc = fn(p, len(data), &b)
        finally:
            _cb_fast = True
        detail = None if b.error_detail == NULL else <bytes>b.error_detail
        head = (rc, b.msg_kind, b.first_id, b.last_id, b.prev_id, b.event_time_ns,
                b.txn_time_ns, b.error, b.error_offset, detail)
        if rc != DEC_OK:
            return head
        segs = []
        levels = []
        for si in range(b.n_segs):
            seg = &b.segs[si]
            segs.append((-1 if seg.symbol_ptr == NULL else seg.symbol_ptr - p,
                         seg.symbol_len, seg.kind, seg.start, seg.count, seg.event_time_ns))
            for li in range(seg.start, seg.start + seg.count):
                d = &b.levels[li]
                levels.append((d.side, d.price_ptr - p, d.price_len, d.size_ptr - p,
                               d.size_len))
            rc = convert_segment(&b, seg, &price_grid, &size_grid)
            segs.append((rc, b.decimal_error if rc != DEC_OK else 0,
                         [(b.levels[li].price, b.levels[li].size) if rc == DEC_OK else None
                          for li in range(seg.start, seg.start + seg.count)]))
        return head + (tuple(segs), tuple(levels))
    finally:
        batch_free(&b)
