# Included by _parse.pyx. Kraken WebSocket v2 (docs/venues.md, "Kraken"):
# {"channel":"book","type":"snapshot"|"update","data":[{"symbol":"BTC/USD",
#  "bids":[{"price":45283.5,"qty":0.1}],"asks":[...],"checksum":N,"timestamp":"..."}]}.
# Prices and sizes are bare JSON numbers: a level's text is the number token itself
# (converted by parse_number, exponent allowed: parse/decimal.pxi).

cdef enum:
    KR_channel = 1
    KR_type = 2
    KR_data = 4
    KR_method = 8
    KR_success = 16
    KR_error = 32
    # a book entry's fields
    KE_symbol = 1
    KE_bids = 2
    KE_asks = 4
    KE_checksum = 8
    KE_timestamp = 16
    # a level's fields
    KL_price = 1
    KL_qty = 2


ctypedef struct KrBook:
    int seen
    int n_entries
    const char* symbol
    Py_ssize_t symbol_len
    int64_t checksum
    int64_t ts_ns


cdef int _kr_number(Cursor* c, const char** s, int32_t* slen, Pending* pd,
                    const char* wrong) noexcept nogil:
    """A bare JSON number's span (0), another JSON value (1, pended, skipped) or -1."""
    cdef int ch = cur_peek(c)
    cdef Py_ssize_t start = c.i
    if ch == b'-' or (b'0' <= ch <= b'9'):
        if _skip_number(c) < 0:
            return -1
        if c.i - start > INT32_MAX:
            return cur_fail(c, DEC_OVERFLOW, "number too long")
        s[0] = c.p + start
        slen[0] = <int32_t>(c.i - start)
        return 0
    _pend(pd, DEC_WRONG_TYPE, start, wrong)
    return 1 if cur_skip_value(c, 0) == 0 else -1


cdef int _kr_levels(Cursor* c, DeltaBatch* b, uint8_t side, Pending* pd) noexcept nogil:
    """``[{"price":N,"qty":N},...]`` appended as Deltas (no pre-parse: phase 2 reads the
    number text). 0, 1 (another shape: pended, skipped) or -1."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef Delta* d
    cdef int seen, rc
    cdef Py_ssize_t start
    if cur_peek(c) != b'[':
        start = c.i
        _pend(pd, DEC_WRONG_TYPE, start,
              "field 'bids'/'asks' has the wrong type (expected an array of levels)")
        return 1 if cur_skip_value(c, 0) == 0 else -1
    c.i += 1
    if cur_peek(c) == b']':
        c.i += 1
        return 0
    while True:
        start = c.i
        if cur_peek(c) != b'{':
            _pend(pd, DEC_WRONG_TYPE, c.i,
                  "a level has the wrong type (expected {\"price\":N,\"qty\":N})")
            if cur_skip_value(c, 0) < 0:
                return -1
        else:
            c.i += 1
            d = batch_next_level(b)
            if d == NULL:
                return cur_fail(c, DEC_TOO_MANY_LEVELS, NULL)
            d.side = side
            d.price = d.size = 0
            d.price_ptr = d.size_ptr = NULL
            d.price_len = d.size_len = 0
            seen = 0
            if cur_peek(c) == b'}':
                c.i += 1
            else:
                while True:
                    if cur_key(c, &k, &kl) < 0:
                        return -1
                    if key_is(k, kl, "price", 5):
                        if seen & KL_price:
                            return _dup(c)
                        seen |= KL_price
                        rc = _kr_number(c, &d.price_ptr, &d.price_len, pd,
                                        "field 'price' has the wrong type (expected number)")
                    elif key_is(k, kl, "qty", 3):
                        if seen & KL_qty:
                            return _dup(c)
                        seen |= KL_qty
                        rc = _kr_number(c, &d.size_ptr, &d.size_len, pd,
                                        "field 'qty' has the wrong type (expected number)")
                    else:
                        _pend(pd, DEC_WRONG_TYPE, start,
                              "a level has an unknown field (expected price and qty)")
                        rc = cur_skip_value(c, 0)
                    if rc < 0:
                        return -1
                    rc = cur_next(c, b'}')
                    if rc < 0:
                        return -1
                    if rc == 0:
                        break
            if seen != (KL_price | KL_qty):
                _pend(pd, DEC_MISSING_FIELD, start, "a level lacks 'price' or 'qty'")
        rc = cur_next(c, b']')
        if rc < 0:
            return -1
        if rc == 0:
            return 0


cdef int _kr_entry(Cursor* c, DeltaBatch* b, KrBook* e, Pending* pd) noexcept nogil:
    """One element of ``data``: a book entry (other channels' entries are skipped by the
    same reader: their fields are unknown keys)."""
    cdef const char* k
    cdef const char* ts = NULL
    cdef Py_ssize_t kl, ts_len = 0, ts_at = -1
    cdef KeySet ks
    cdef int rc
    cdef int mine = 0             # this entry's fields (duplicates)
    ks.n = 0
    if cur_peek(c) != b'{':
        _pend(pd, DEC_WRONG_TYPE, c.i, "field 'data' has the wrong type (expected objects)")
        return cur_skip_value(c, 0)
    c.i += 1
    e.n_entries += 1
    if cur_peek(c) == b'}':
        c.i += 1
        return 0
    while True:
        if cur_key(c, &k, &kl) < 0:
            return -1
        if key_is(k, kl, "symbol", 6):
            if mine & KE_symbol:
                return _dup(c)
            mine |= KE_symbol
            e.seen |= KE_symbol
            rc = _sym_field(c, &e.symbol, &e.symbol_len, pd,
                            "field 'symbol' has the wrong type (expected string)",
                            "field 'symbol' contains an escape (symbols must be plain strings)",
                            "field 'symbol' is not valid UTF-8")
        elif key_is(k, kl, "bids", 4):
            if mine & KE_bids:
                return _dup(c)
            mine |= KE_bids
            e.seen |= KE_bids
            rc = _kr_levels(c, b, SIDE_BID, pd)
        elif key_is(k, kl, "asks", 4):
            if mine & KE_asks:
                return _dup(c)
            mine |= KE_asks
            e.seen |= KE_asks
            rc = _kr_levels(c, b, SIDE_ASK, pd)
        elif key_is(k, kl, "checksum", 8):
            if mine & KE_checksum:
                return _dup(c)
            mine |= KE_checksum
            e.seen |= KE_checksum
            rc = _int_field(c, &e.checksum, pd,
                            "field 'checksum' has the wrong type (expected integer)",
                            "field 'checksum' out of range")
            if rc == 0 and (e.checksum < 0 or e.checksum > <int64_t>0xFFFFFFFF):
                _pend(pd, DEC_OVERFLOW, c.i, "field 'checksum' out of range (unsigned 32-bit)")
        elif key_is(k, kl, "timestamp", 9):
            if mine & KE_timestamp:
                return _dup(c)
            mine |= KE_timestamp
            e.seen |= KE_timestamp
            cur_peek(c)
            ts_at = c.i
            rc = _str_field(c, &ts, &ts_len, pd,
                            "field 'timestamp' has the wrong type (expected string)")
            if rc == 0 and parse_rfc3339_ns(ts, ts_len, &e.ts_ns) < 0:
                _pend(pd, DEC_BAD_TIMESTAMP, ts_at,
                      "field 'timestamp' is not an RFC 3339 timestamp")
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
            return 0


cdef int decode_kraken(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Kraken v2: ``book`` ``snapshot`` → MSG_SNAPSHOT, ``update`` → MSG_DEPTH (one
    segment; ``prev_id`` = the message's CRC32 ``checksum``), ``heartbeat`` →
    MSG_HEARTBEAT, ``status`` and method replies (``subscribe``, ``pong``, ...) →
    MSG_CONTROL, a reply with ``"success":false`` or an ``error`` field →
    MSG_VENUE_ERROR, other channels → MSG_IGNORED. A book message must hold exactly one
    entry in ``data`` (the checksum is per book)."""
    cdef Cursor c
    cdef Pending pd
    cdef KrBook e
    cdef KeySet ks
    cdef const char* k
    cdef const char* chan = NULL
    cdef const char* typ = NULL
    cdef Py_ssize_t kl, chan_len = -1, typ_len = -1, chan_at = -1, typ_at = -1
    cdef int seen = 0
    cdef int rc
    cdef bint success = True, snap, upd
    cdef Segment* seg
    batch_reset(b)
    cur_init(&c, p, n)
    pd.code = DEC_OK
    pd.at = -1
    pd.detail = NULL
    e.seen = 0
    e.n_entries = 0
    e.symbol = NULL
    e.symbol_len = 0
    e.checksum = -1
    e.ts_ns = 0
    ks.n = 0
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            rc = 0
            if key_is(k, kl, "channel", 7):
                if seen & KR_channel:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= KR_channel
                cur_peek(&c)
                chan_at = c.i
                rc = _str_field(&c, &chan, &chan_len, &pd,
                                "field 'channel' has the wrong type (expected string)")
                if rc == 1:
                    chan_len = -1
                    rc = 0
            elif key_is(k, kl, "type", 4):
                if seen & KR_type:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= KR_type
                cur_peek(&c)
                typ_at = c.i
                rc = _str_field(&c, &typ, &typ_len, &pd,
                                "field 'type' has the wrong type (expected string)")
                if rc == 1:
                    typ_len = -1
                    rc = 0
            elif key_is(k, kl, "data", 4):
                if seen & KR_data:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= KR_data
                if cur_peek(&c) != b'[':
                    rc = cur_skip_value(&c, 0)      # instrument: an object
                else:
                    c.i += 1
                    if cur_peek(&c) == b']':
                        c.i += 1
                    else:
                        while True:
                            if _kr_entry(&c, b, &e, &pd) < 0:
                                return _fail_cursor(b, &c)
                            rc = cur_next(&c, b']')
                            if rc < 0:
                                return _fail_cursor(b, &c)
                            if rc == 0:
                                break
            elif key_is(k, kl, "method", 6):
                if seen & KR_method:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= KR_method
                rc = cur_skip_value(&c, 0)
            elif key_is(k, kl, "success", 7):
                if seen & KR_success:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= KR_success
                success = not _lit(c.p, c.i, c.n, "false", 5)
                rc = cur_skip_value(&c, 0)
            elif key_is(k, kl, "error", 5) or key_is(k, kl, "Error", 5):
                seen |= KR_error
                rc = cur_skip_value(&c, 0)
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
    if seen & KR_error or not success:
        b.n_levels = 0
        b.msg_kind = MSG_VENUE_ERROR
        return DEC_OK
    if seen & KR_method:
        b.n_levels = 0
        b.msg_kind = MSG_CONTROL
        return DEC_OK
    if not seen & KR_channel:
        return _missing(b, "field 'channel' missing")
    if chan_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, chan_at,
                           "field 'channel' has the wrong type (expected string)")
    if not _span_is(chan, chan_len, "book", 4):
        b.n_levels = 0
        if _span_is(chan, chan_len, "heartbeat", 9):
            b.msg_kind = MSG_HEARTBEAT
        elif _span_is(chan, chan_len, "status", 6):
            b.msg_kind = MSG_CONTROL
        elif not utf8_ok(chan, chan_len):
            return _fail_batch(b, DEC_BAD_UTF8, chan_at, "field 'channel' is not valid UTF-8")
        else:
            b.msg_kind = MSG_IGNORED
        return DEC_OK
    if not seen & KR_type:
        return _missing(b, "field 'type' missing")
    if typ_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, typ_at,
                           "field 'type' has the wrong type (expected string)")
    snap = _span_is(typ, typ_len, "snapshot", 8)
    upd = _span_is(typ, typ_len, "update", 6)
    if not (snap or upd):
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, typ_at,
                           "book message type is not 'snapshot' or 'update'")
    if pd.code != DEC_OK:
        return _fail_batch(b, pd.code, pd.at, pd.detail)
    if not seen & KR_data:
        return _missing(b, "field 'data' missing")
    if e.n_entries != 1:
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, -1,
                           "a book message must carry exactly one entry in 'data'")
    if not e.seen & KE_symbol:
        return _missing(b, "field 'symbol' missing")
    if not e.seen & KE_checksum:
        return _missing(b, "field 'checksum' missing")
    if snap and (e.seen & (KE_bids | KE_asks)) != (KE_bids | KE_asks):
        return _missing(b, "field 'bids'/'asks' missing")
    seg = batch_next_seg(b)
    if seg == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
    seg.symbol_ptr = e.symbol
    seg.symbol_len = <int32_t>e.symbol_len
    seg.kind = SEG_SNAPSHOT if snap else SEG_UPDATE
    seg.start = 0
    seg.count = b.n_levels
    seg.event_time_ns = e.ts_ns
    b.prev_id = e.checksum
    b.msg_kind = MSG_SNAPSHOT if snap else MSG_DEPTH
    return DEC_OK


_register("kraken", decode_kraken)
