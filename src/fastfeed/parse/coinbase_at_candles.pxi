# Included by _parse.pyx, after the trade decoders (it shares their AT_* field bits).
# Coinbase Advanced Trade candles channel: {"channel":"candles","timestamp":..,
# "sequence_num":..,"events":[{"type":"snapshot"|"update","candles":[{"start":..,"high":..,
# "low":..,"open":..,"close":..,"volume":..,"product_id":..}]}]}: fixed 5-minute buckets,
# ``start`` in seconds as a string (docs/venues.md, "Candles").

cdef enum:
    AC_candles = 1 << 12
    AC_start = 1 << 13
    AC_high = 1 << 14
    AC_low = 1 << 15
    AC_open = 1 << 16
    AC_close = 1 << 17
    AC_volume = 1 << 18

#: Advanced Trade's one granularity (there is no interval parameter).
cdef int64_t AT_CANDLE_NS = 300 * 1000000000
# largest start (s) whose bucket end in ns fits int64
cdef int64_t _AC_MAX_START = 9223372036 - 300


cdef int _ac_str(Cursor* c, uint32_t* seen, uint32_t bit, const char** s, int32_t* slen,
                 Pending* pd, const char* wrong) noexcept nogil:
    cdef Py_ssize_t length = 0
    cdef int rc
    if seen[0] & bit:
        return _dup(c)
    seen[0] |= bit
    rc = _str_field(c, s, &length, pd, wrong)
    slen[0] = <int32_t>length
    return rc


cdef int _ac_candle(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """One candle object (at '{') → a Candle: prices and base volume as text, ``start``
    (a plain whole number of seconds in a string) into the bucket's ns bounds."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef const char* s = NULL
    cdef int32_t slen = 0
    cdef Py_ssize_t at
    cdef Py_ssize_t sym_len = 0
    cdef int64_t start
    cdef uint32_t seen = 0
    cdef int rc
    cdef KeySet ks
    ks.n = 0
    cdef Delta* d
    cdef Candle* cd = batch_next_candle(b, &d)
    if cd == NULL:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, NULL)
    memset(cd, 0, sizeof(Candle))
    cd.trades = cd.first_id = cd.last_id = -1
    cd.closed = -1                  # no closed flag: a later start finalizes a bucket
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            if key_is(k, kl, "start", 5):
                cur_peek(c)
                at = c.i
                rc = _ac_str(c, &seen, AC_start, &s, &slen, pd,
                             "candle field 'start' has the wrong type (expected string)")
                if rc == 0:
                    start = _numeric_id(s, slen)
                    if start < 0:
                        _pend(pd, DEC_BAD_TIMESTAMP, at,
                              "candle field 'start' is not a whole number of seconds")
                    elif start > _AC_MAX_START:
                        _pend(pd, DEC_OVERFLOW, at, "candle field 'start' out of range")
                    else:
                        cd.open_ns = start * 1000000000
                        cd.close_ns = cd.open_ns + AT_CANDLE_NS
            elif key_is(k, kl, "high", 4):
                rc = _ac_str(c, &seen, AC_high, &cd.high_ptr, &cd.high_len, pd,
                             "candle field 'high' has the wrong type (expected string)")
            elif key_is(k, kl, "low", 3):
                rc = _ac_str(c, &seen, AC_low, &cd.low_ptr, &cd.low_len, pd,
                             "candle field 'low' has the wrong type (expected string)")
            elif key_is(k, kl, "open", 4):
                rc = _ac_str(c, &seen, AC_open, &cd.open_ptr, &cd.open_len, pd,
                             "candle field 'open' has the wrong type (expected string)")
            elif key_is(k, kl, "close", 5):
                rc = _ac_str(c, &seen, AC_close, &cd.close_ptr, &cd.close_len, pd,
                             "candle field 'close' has the wrong type (expected string)")
            elif key_is(k, kl, "volume", 6):
                rc = _ac_str(c, &seen, AC_volume, &cd.volume_ptr, &cd.volume_len, pd,
                             "candle field 'volume' has the wrong type (expected string)")
            elif key_is(k, kl, "product_id", 10):
                if seen & AT_product:
                    return _dup(c)
                seen |= AT_product
                rc = _sym_field(c, &cd.symbol_ptr, &sym_len, pd,
                                "candle field 'product_id' has the wrong type (expected string)",
                                "candle field 'product_id' contains an escape "
                                "(symbols must be plain strings)",
                                "candle field 'product_id' is not valid UTF-8")
                cd.symbol_len = <int32_t>sym_len
            else:
                if key_set_add(c, &ks, k, kl) < 0:
                    return -1
                rc = cur_skip_value(c, 0)
            if rc < 0:
                return -1
            rc = cur_next(c, b'}')
            if rc < 0:
                return -1
            if rc == 0:
                break
    if not seen & AC_start:
        _pend(pd, DEC_MISSING_FIELD, -1, "candle field 'start' missing")
    if not seen & AC_high:
        _pend(pd, DEC_MISSING_FIELD, -1, "candle field 'high' missing")
    if not seen & AC_low:
        _pend(pd, DEC_MISSING_FIELD, -1, "candle field 'low' missing")
    if not seen & AC_open:
        _pend(pd, DEC_MISSING_FIELD, -1, "candle field 'open' missing")
    if not seen & AC_close:
        _pend(pd, DEC_MISSING_FIELD, -1, "candle field 'close' missing")
    if not seen & AC_volume:
        _pend(pd, DEC_MISSING_FIELD, -1, "candle field 'volume' missing")
    if not seen & AT_product:
        _pend(pd, DEC_MISSING_FIELD, -1, "candle field 'product_id' missing")
    d.price_ptr = cd.close_ptr
    d.price_len = cd.close_len
    d.size_ptr = cd.volume_ptr
    d.size_len = cd.volume_len
    d.price = d.size = 0
    d.side = SIDE_BID
    return 0


cdef inline bint _same_candle_symbol(const Candle* a, const Candle* b) noexcept nogil:
    return (a.symbol_len == b.symbol_len
            and (a.symbol_len == 0
                 or memcmp(a.symbol_ptr, b.symbol_ptr, <size_t>a.symbol_len) == 0))


cdef int _ac_close_event(DeltaBatch* b, Py_ssize_t start, uint8_t kind) noexcept nogil:
    """One segment per run of one product among candles[start:]; -1 past the cap."""
    cdef Py_ssize_t i = start
    cdef Py_ssize_t j
    cdef Segment* seg
    while i < b.n_levels:
        j = i + 1
        while j < b.n_levels and _same_candle_symbol(&b.candles[j], &b.candles[i]):
            j += 1
        seg = batch_next_seg(b)
        if seg == NULL:
            return -1
        seg.symbol_ptr = b.candles[i].symbol_ptr
        seg.symbol_len = b.candles[i].symbol_len
        seg.kind = kind
        seg.start = i
        seg.count = j - i
        seg.event_time_ns = 0
        i = j
    return 0


cdef int _ac_event(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """One ``{"type":..,"candles":[..]}`` (at '{')."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef const char* s
    cdef Py_ssize_t slen
    cdef uint32_t seen = 0
    cdef int rc
    cdef KeySet ks
    ks.n = 0
    cdef Py_ssize_t at
    cdef Py_ssize_t start = b.n_levels
    cdef uint8_t kind = SEG_UPDATE
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            if key_is(k, kl, "type", 4):
                if seen & AT_type:
                    return _dup(c)
                seen |= AT_type
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &slen, pd,
                                "event field 'type' has the wrong type (expected string)")
                if rc == 0:
                    if _span_is(s, slen, "snapshot", 8):
                        kind = SEG_SNAPSHOT
                    elif not _span_is(s, slen, "update", 6):
                        _pend(pd, DEC_UNKNOWN_MESSAGE, at,
                              "event type is not 'snapshot' or 'update'")
            elif key_is(k, kl, "candles", 7):
                if seen & AC_candles:
                    return _dup(c)
                seen |= AC_candles
                rc = _ac_array(c, b, pd, False,
                               "field 'candles' has the wrong type (expected array of objects)")
            else:
                if key_set_add(c, &ks, k, kl) < 0:
                    return -1
                rc = cur_skip_value(c, 0)
            if rc < 0:
                return -1
            rc = cur_next(c, b'}')
            if rc < 0:
                return -1
            if rc == 0:
                break
    if not seen & AT_type:
        _pend(pd, DEC_MISSING_FIELD, -1, "event field 'type' missing")
    if not seen & AC_candles:
        _pend(pd, DEC_MISSING_FIELD, -1, "event field 'candles' missing")
    if _ac_close_event(b, start, kind) < 0:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, "too many segments")
    return 0


cdef int _ac_array(Cursor* c, DeltaBatch* b, Pending* pd, bint events,
                   const char* wrong) noexcept nogil:
    """``events`` (events=True) or an event's ``candles``: an array of objects."""
    cdef int rc
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
            rc = _ac_event(c, b, pd)
        else:
            rc = _ac_candle(c, b, pd)
        if rc < 0:
            return -1
        rc = cur_next(c, b']')
        if rc <= 0:
            return rc


cdef int decode_coinbase_at_candles(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Coinbase Advanced Trade ``candles`` → MSG_CANDLES (snapshot and update events
    alike, candles in the order given), ``heartbeats`` → MSG_HEARTBEAT,
    ``subscriptions`` → MSG_CONTROL, ``{"type":"error"}`` → MSG_VENUE_ERROR, other
    channels → MSG_IGNORED. ``last_id`` is ``sequence_num`` whenever present, as in the
    book and trade decoders (it counts every message on the connection)."""
    cdef Cursor c
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef KeySet ks              # every other key, for duplicates
    ks.n = 0
    cdef uint32_t seen = 0
    cdef bint seq_ok = False
    cdef Pending pd
    cdef Pending ev_pd
    cdef Pending ignored
    cdef const char* channel = NULL
    cdef Py_ssize_t channel_len = 0
    cdef const char* ts = NULL
    cdef Py_ssize_t ts_len = 0
    cdef Py_ssize_t ts_at = -1
    cdef const char* typ = NULL
    cdef Py_ssize_t typ_len = 0
    cdef int64_t seq = 0
    pd.code = ev_pd.code = ignored.code = DEC_OK
    pd.at = ev_pd.at = -1
    pd.detail = ev_pd.detail = NULL
    batch_reset(b)
    cur_init(&c, p, n)
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            if key_is(k, kl, "channel", 7):
                if seen & AT_channel:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= AT_channel
                rc = _str_field(&c, &channel, &channel_len, &pd,
                                "field 'channel' has the wrong type (expected string)")
            elif key_is(k, kl, "timestamp", 9):
                if seen & AT_timestamp:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= AT_timestamp
                cur_peek(&c)
                ts_at = c.i
                rc = _str_field(&c, &ts, &ts_len, &pd,
                                "field 'timestamp' has the wrong type (expected string)")
            elif key_is(k, kl, "sequence_num", 12):
                if seen & AT_sequence:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= AT_sequence
                rc = _int_field(&c, &seq, &pd,
                                "field 'sequence_num' has the wrong type (expected integer)",
                                "field 'sequence_num' out of range")
                seq_ok = rc == 0
                if seq_ok and not 0 <= seq <= MAX_UPDATE_ID:
                    seq_ok = False
                    _pend(&pd, DEC_OVERFLOW, c.i,
                          "field 'sequence_num' out of range (expected 0..2**62)")
            elif key_is(k, kl, "events", 6):
                if seen & AT_events:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= AT_events
                rc = _ac_array(&c, b, &ev_pd, True,
                               "field 'events' has the wrong type (expected array of objects)")
            elif key_is(k, kl, "type", 4):
                # only {"type":"error"} matters here; any other type or value is ignored
                if seen & AT_type:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= AT_type
                rc = _str_field(&c, &typ, &typ_len, &ignored, NULL)
            else:
                if key_set_add(&c, &ks, k, kl) < 0:
                    return _fail_cursor(b, &c)
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
        b.last_id = seq
    if typ != NULL and _span_is(typ, typ_len, "error", 5):
        b.n_levels = b.n_segs = 0
        b.msg_kind = MSG_VENUE_ERROR
        return DEC_OK
    if pd.code != DEC_OK:
        return _fail_batch(b, pd.code, pd.at, pd.detail)
    if not seen & AT_channel:
        return _missing(b, "field 'channel' missing")
    if seen & AT_timestamp:
        if parse_rfc3339_ns(ts, ts_len, &b.event_time_ns) < 0:
            return _fail_batch(b, DEC_BAD_TIMESTAMP, ts_at,
                               "field 'timestamp' is not an RFC 3339 timestamp")
    if _span_is(channel, channel_len, "candles", 7):
        if not seen & AT_sequence:
            return _missing(b, "field 'sequence_num' missing")
        if not seen & AT_timestamp:
            return _missing(b, "field 'timestamp' missing")
        if not seen & AT_events:
            return _missing(b, "field 'events' missing")
        if ev_pd.code != DEC_OK:
            return _fail_batch(b, ev_pd.code, ev_pd.at, ev_pd.detail)
        b.msg_kind = MSG_CANDLES
        return DEC_OK
    b.n_levels = b.n_segs = 0
    if _span_is(channel, channel_len, "heartbeats", 10):
        b.msg_kind = MSG_HEARTBEAT
    elif _span_is(channel, channel_len, "subscriptions", 13):
        b.msg_kind = MSG_CONTROL
    elif not utf8_ok(channel, channel_len):
        return _fail_batch(b, DEC_BAD_UTF8, -1, "field 'channel' is not valid UTF-8")
    else:
        b.msg_kind = MSG_IGNORED
    return DEC_OK


_register("coinbase-at-candles", decode_coinbase_at_candles)
