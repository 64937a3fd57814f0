# Included by _parse.pyx. Coinbase Advanced Trade market_trades channel:
# {"channel":"market_trades","timestamp":..,"sequence_num":..,"events":[{"type":
# "snapshot"|"update","trades":[{"trade_id":..,"product_id":..,"price":..,"size":..,
# "side":..,"time":..}]}]} (docs/venues.md, "Trades").

cdef enum:
    AT_channel = 1 << 0
    AT_timestamp = 1 << 1
    AT_sequence = 1 << 2
    AT_events = 1 << 3
    AT_type = 1 << 4
    AT_trades = 1 << 5
    AT_trade_id = 1 << 6
    AT_product = 1 << 7
    AT_price = 1 << 8
    AT_size = 1 << 9
    AT_side = 1 << 10
    AT_time = 1 << 11


cdef int _at_trade(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """One ``{"trade_id","product_id","price","size","side","time"}`` (at '{') → a trade.
    ``side`` is the maker's (``BUY``: the taker sold); ``trade_id`` is a string, kept as
    an int64 when it is a plain integer in 0..2**62, else -1."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef const char* s
    cdef Py_ssize_t slen
    cdef uint32_t seen = 0
    cdef int rc
    cdef KeySet ks              # every other key, for duplicates
    ks.n = 0
    cdef Py_ssize_t at
    cdef Delta* d
    cdef Trade* tr = batch_next_trade(b, &d)
    if tr == NULL:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, NULL)
    d.price_ptr = d.size_ptr = NULL
    d.price_len = d.size_len = 0
    d.price = d.size = 0            # no pre-parse: phase 2 reads the text
    d.side = SIDE_BID
    _trade_set(tr, -1, -1, -1, 0, 0, TRADE_STREAM_MARKET_TRADES)
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            if key_is(k, kl, "trade_id", 8):
                if seen & AT_trade_id:
                    return _dup(c)
                seen |= AT_trade_id
                rc = _str_field(c, &s, &slen, pd,
                                "trade field 'trade_id' has the wrong type (expected string)")
                if rc == 0:
                    tr.trade_id = _numeric_id(s, slen)
            elif key_is(k, kl, "product_id", 10):
                if seen & AT_product:
                    return _dup(c)
                seen |= AT_product
                rc = _sym_field(c, &s, &slen, pd,
                                "trade field 'product_id' has the wrong type (expected string)",
                                "trade field 'product_id' contains an escape "
                                "(symbols must be plain strings)",
                                "trade field 'product_id' is not valid UTF-8")
                if rc == 0:
                    tr.symbol_ptr = s
                    tr.symbol_len = <int32_t>slen
            elif key_is(k, kl, "price", 5):
                if seen & AT_price:
                    return _dup(c)
                seen |= AT_price
                rc = _str_field(c, &s, &slen, pd,
                                "trade field 'price' has the wrong type (expected string)")
                if rc == 0:
                    d.price_ptr = s
                    d.price_len = <int32_t>slen
            elif key_is(k, kl, "size", 4):
                if seen & AT_size:
                    return _dup(c)
                seen |= AT_size
                rc = _str_field(c, &s, &slen, pd,
                                "trade field 'size' has the wrong type (expected string)")
                if rc == 0:
                    d.size_ptr = s
                    d.size_len = <int32_t>slen
            elif key_is(k, kl, "side", 4):
                if seen & AT_side:
                    return _dup(c)
                seen |= AT_side
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &slen, pd,
                                "trade field 'side' has the wrong type (expected string)")
                if rc == 0:
                    if _span_is(s, slen, "BUY", 3):
                        tr.side = -1            # a resting buy order was hit
                    elif _span_is(s, slen, "SELL", 4):
                        tr.side = 1
                    else:
                        _pend(pd, DEC_BAD_SIDE, at, "trade side is not 'BUY' or 'SELL'")
            elif key_is(k, kl, "time", 4):
                if seen & AT_time:
                    return _dup(c)
                seen |= AT_time
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &slen, pd,
                                "trade field 'time' has the wrong type (expected string)")
                if rc == 0 and parse_rfc3339_ns(s, slen, &tr.time_ns) < 0:
                    _pend(pd, DEC_BAD_TIMESTAMP, at,
                          "trade field 'time' is not an RFC 3339 timestamp")
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
    if not seen & AT_trade_id:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'trade_id' missing")
    if not seen & AT_product:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'product_id' missing")
    if not seen & AT_price:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'price' missing")
    if not seen & AT_size:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'size' missing")
    if not seen & AT_side:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'side' missing")
    if not seen & AT_time:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'time' missing")
    return 0


cdef int _at_trade_tight(Cursor* c, DeltaBatch* b) noexcept nogil:
    """At '{': one trade exactly as Coinbase sends it, ``{"trade_id":"..","product_id":
    "..","price":"..","size":"..","side":"BUY"|"SELL","time":".."}`` without whitespace or
    escapes, an ASCII product and a valid time, decimals pre-parsed while scanning.
    0: parsed (the same trade _at_trade records, nothing to report); -1: any deviation,
    nothing recorded (the caller restores the cursor and runs _at_trade)."""
    cdef const char* p = c.p
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t i = c.i
    cdef Py_ssize_t j, k, tid_at, tid_end, sym_at, sym_end, px_at, px_end, sz_at, sz_end
    cdef int64_t px_pre, sz_pre, t_ns
    cdef int8_t side
    cdef Delta* d
    cdef Trade* tr
    if not _lit(p, i, n, '{"trade_id":"', 13):
        return -1
    tid_at = i + 13
    tid_end = ff_scan_string(p, tid_at, n)
    if not _lit(p, tid_end, n, '","product_id":"', 16):
        return -1
    sym_at = tid_end + 16
    sym_end = ff_scan_string(p, sym_at, n)
    for k in range(sym_at, sym_end):        # non-ASCII: the general path validates it
        if <unsigned char>p[k] >= 0x80:
            return -1
    if not _lit(p, sym_end, n, '","price":"', 11):
        return -1
    px_at = sym_end + 11
    px_end = _dec_string(p, px_at, n, &px_pre)
    if px_end < 0 or not _lit(p, px_end, n, '","size":"', 10):
        return -1
    sz_at = px_end + 10
    sz_end = _dec_string(p, sz_at, n, &sz_pre)
    if sz_end < 0:
        return -1
    if _lit(p, sz_end, n, '","side":"BUY","time":"', 23):
        side = -1                   # the maker's side: a resting buy order was hit
        i = sz_end + 23
    elif _lit(p, sz_end, n, '","side":"SELL","time":"', 24):
        side = 1
        i = sz_end + 24
    else:
        return -1
    j = ff_scan_string(p, i, n)
    if not _lit(p, j, n, '"}', 2) or parse_rfc3339_ns(p + i, j - i, &t_ns) < 0:
        return -1
    tr = batch_next_trade(b, &d)
    if tr == NULL:
        return -1
    d.price_ptr = p + px_at
    d.price_len = <int32_t>(px_end - px_at)
    d.price = px_pre
    d.size_ptr = p + sz_at
    d.size_len = <int32_t>(sz_end - sz_at)
    d.size = sz_pre
    d.side = SIDE_BID
    _trade_set(tr, _numeric_id(p + tid_at, tid_end - tid_at), -1, -1, t_ns, side,
               TRADE_STREAM_MARKET_TRADES)
    tr.symbol_ptr = p + sym_at
    tr.symbol_len = <int32_t>(sym_end - sym_at)
    c.i = j + 2
    return 0


cdef inline bint _same_symbol(const Trade* a, const Trade* b) noexcept nogil:
    return (a.symbol_len == b.symbol_len
            and (a.symbol_len == 0
                 or memcmp(a.symbol_ptr, b.symbol_ptr, <size_t>a.symbol_len) == 0))


cdef int _at_close_event(DeltaBatch* b, Py_ssize_t start, uint8_t kind) noexcept nogil:
    """The event's trades, levels[start:] and trades[start:], arrive newest first:
    reverse them to the venue's order oldest first, then make one segment per run of
    one product. 0, or -1 past the segment cap."""
    cdef Py_ssize_t i = start
    cdef Py_ssize_t j = b.n_levels - 1
    cdef Delta dt
    cdef Trade tt
    cdef Segment* seg
    while i < j:
        dt = b.levels[i]
        b.levels[i] = b.levels[j]
        b.levels[j] = dt
        tt = b.trades[i]
        b.trades[i] = b.trades[j]
        b.trades[j] = tt
        i += 1
        j -= 1
    i = start
    while i < b.n_levels:
        j = i + 1
        while j < b.n_levels and _same_symbol(&b.trades[j], &b.trades[i]):
            j += 1
        seg = batch_next_seg(b)
        if seg == NULL:
            return -1
        seg.symbol_ptr = b.trades[i].symbol_ptr
        seg.symbol_len = b.trades[i].symbol_len
        seg.kind = kind
        seg.start = i
        seg.count = j - i
        seg.event_time_ns = b.trades[i].time_ns
        i = j
    return 0


cdef int _at_event(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """One ``{"type":..,"trades":[..]}`` (at '{') → its trades, one segment per run of a
    product, kind from the event type."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef const char* s
    cdef Py_ssize_t slen
    cdef uint32_t seen = 0
    cdef int rc
    cdef KeySet ks              # every other key, for duplicates
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
            elif key_is(k, kl, "trades", 6):
                if seen & AT_trades:
                    return _dup(c)
                seen |= AT_trades
                rc = _at_array(c, b, pd, False,
                               "field 'trades' has the wrong type (expected array of objects)")
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
    if not seen & AT_trades:
        _pend(pd, DEC_MISSING_FIELD, -1, "event field 'trades' missing")
    if _at_close_event(b, start, kind) < 0:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, "too many segments")
    return 0


cdef int _at_array(Cursor* c, DeltaBatch* b, Pending* pd, bint events,
                   const char* wrong) noexcept nogil:
    """``events`` (events=True) or an event's ``trades``: an array of objects."""
    cdef int rc
    cdef Py_ssize_t start
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
            rc = _at_event(c, b, pd)
        else:
            start = c.i
            rc = _at_trade_tight(c, b)
            if rc < 0:
                c.i = start
                rc = _at_trade(c, b, pd)
        if rc < 0:
            return -1
        rc = cur_next(c, b']')
        if rc <= 0:
            return rc


cdef int decode_coinbase_at_trades(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Coinbase Advanced Trade ``market_trades`` → MSG_TRADES (snapshot and update events
    alike, each event's trades reversed to oldest first), ``heartbeats`` →
    MSG_HEARTBEAT, ``subscriptions`` → MSG_CONTROL, ``{"type":"error"}`` →
    MSG_VENUE_ERROR, other channels → MSG_IGNORED. ``last_id`` is ``sequence_num``
    whenever present, as in the book decoder (it counts every message on the connection)."""
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
                rc = _at_array(&c, b, &ev_pd, True,
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
    if _span_is(channel, channel_len, "market_trades", 13):
        if not seen & AT_sequence:
            return _missing(b, "field 'sequence_num' missing")
        if not seen & AT_timestamp:
            return _missing(b, "field 'timestamp' missing")
        if not seen & AT_events:
            return _missing(b, "field 'events' missing")
        if ev_pd.code != DEC_OK:
            return _fail_batch(b, ev_pd.code, ev_pd.at, ev_pd.detail)
        b.msg_kind = MSG_TRADES
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


_register("coinbase-at-trades", decode_coinbase_at_trades)
