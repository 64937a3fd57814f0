# Included by _parse.pyx, after trades.pxi. REST trade bodies for backfill
# (docs/venues.md, "Backfill"): an array of trade objects, decoded strictly with the
# same JSON rules and error vocabulary as every decoder, into one segment of the same
# Delta + Trade batch the WebSocket trade decoders fill (symbol NULL: a REST body is one
# symbol's, named by the request), oldest first. A top-level object is the venue's
# error body (Binance {"code":..,"msg":..}, Coinbase {"message":..}): MSG_VENUE_ERROR.
# The first problem in the body is the one reported; malformed JSON anywhere wins.

cdef enum:
    RB_a = 1 << 0
    RB_p = 1 << 1
    RB_q = 1 << 2
    RB_f = 1 << 3
    RB_l = 1 << 4
    RB_T = 1 << 5
    RB_m = 1 << 6
    RX_time = 1 << 0
    RX_trade_id = 1 << 1
    RX_price = 1 << 2
    RX_size = 1 << 3
    RX_side = 1 << 4


cdef int _rb_row(Cursor* c, DeltaBatch* b, Pending* first) noexcept nogil:
    """One Binance ``aggTrades`` row (``a p q f l T m``; spot's ``M`` and USD-M's ``nq``
    are skipped like any unknown member) appended to ``b``; its first problem goes to
    ``first``. 0, or -1 on a cursor failure."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef KeySet ks
    ks.n = 0
    cdef uint32_t seen = 0
    cdef uint32_t bit
    cdef Pending pd
    cdef const char* pp = NULL
    cdef const char* qp = NULL
    cdef Py_ssize_t pl = 0, ql = 0
    cdef int64_t a = 0, fill_first = 0, fill_last = 0, T = 0
    cdef bint m = False
    cdef Delta* d
    cdef Trade* tr
    pd.code = DEC_OK
    pd.at = -1
    pd.detail = NULL
    if cur_peek(c) != b'{':
        _pend(first, DEC_WRONG_TYPE, c.i, "trade has the wrong type (expected object)")
        return cur_skip_value(c, 0)
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            bit = 0
            if kl == 1:
                bit = (RB_a if k[0] == b'a' else RB_p if k[0] == b'p' else
                       RB_q if k[0] == b'q' else RB_f if k[0] == b'f' else
                       RB_l if k[0] == b'l' else RB_T if k[0] == b'T' else
                       RB_m if k[0] == b'm' else 0)
            if bit:
                if seen & bit:
                    return _dup(c)
                seen |= bit
            if bit == RB_a:
                rc = _int_field(c, &a, &pd, "field 'a' has the wrong type (expected integer)",
                                "field 'a' out of range")
            elif bit == RB_f:
                rc = _int_field(c, &fill_first, &pd,
                                "field 'f' has the wrong type (expected integer)",
                                "field 'f' out of range")
            elif bit == RB_l:
                rc = _int_field(c, &fill_last, &pd,
                                "field 'l' has the wrong type (expected integer)",
                                "field 'l' out of range")
            elif bit == RB_T:
                rc = _int_field(c, &T, &pd, "field 'T' has the wrong type (expected integer)",
                                "field 'T' out of range")
            elif bit == RB_p:
                rc = _str_field(c, &pp, &pl, &pd,
                                "field 'p' has the wrong type (expected string)")
            elif bit == RB_q:
                rc = _str_field(c, &qp, &ql, &pd,
                                "field 'q' has the wrong type (expected string)")
            elif bit == RB_m:
                rc = _bool_field(c, &m, &pd, "field 'm' has the wrong type (expected boolean)")
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
    if first.code != DEC_OK:
        return 0                    # an earlier row's problem is the one reported
    if pd.code != DEC_OK:
        _pend(first, pd.code, pd.at, pd.detail)
        return 0
    if not seen & RB_a:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'a' missing")
    elif not seen & RB_p:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'p' missing")
    elif not seen & RB_q:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'q' missing")
    elif not seen & RB_f:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'f' missing")
    elif not seen & RB_l:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'l' missing")
    elif not seen & RB_T:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'T' missing")
    elif not seen & RB_m:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'm' missing")
    elif not 0 <= a <= MAX_UPDATE_ID:
        _pend(first, DEC_OVERFLOW, -1, "field 'a' out of range (expected 0..2**62)")
    elif not _ns_from_ms_ok(T):
        _pend(first, DEC_OVERFLOW, -1, "field 'T' out of range")
    if first.code != DEC_OK:
        return 0
    tr = batch_next_trade(b, &d)
    if tr == NULL:
        _pend(first, DEC_TOO_MANY_LEVELS, -1, "too many trades")
        return 0
    d.price_ptr = pp
    d.price_len = <int32_t>pl
    d.size_ptr = qp
    d.size_len = <int32_t>ql
    d.price = d.size = 0        # read the text (no fast path here)
    d.side = SIDE_BID
    _trade_set(tr, a, fill_first, fill_last, T * 1000000, -1 if m else 1, TRADE_STREAM_AGG)
    return 0


cdef int _rx_row(Cursor* c, DeltaBatch* b, Pending* first) noexcept nogil:
    """One Coinbase Exchange ``/products/{id}/trades`` row (``time trade_id price size
    side``; ``side`` the maker's, as on ``matches``: UNCERTAIN for REST) appended to
    ``b``; its first problem goes to ``first``. 0, or -1 on a cursor failure."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef KeySet ks
    ks.n = 0
    cdef uint32_t seen = 0
    cdef uint32_t bit
    cdef Pending pd
    cdef const char* ts = NULL
    cdef const char* pp = NULL
    cdef const char* sp = NULL
    cdef const char* side = NULL
    cdef Py_ssize_t tl = 0, pl = 0, sl = 0, side_len = 0
    cdef Py_ssize_t ts_at = -1, side_at = -1
    cdef int64_t tid = 0, t_ns = 0
    cdef int8_t taker = 0
    cdef Delta* d
    cdef Trade* tr
    pd.code = DEC_OK
    pd.at = -1
    pd.detail = NULL
    if cur_peek(c) != b'{':
        _pend(first, DEC_WRONG_TYPE, c.i, "trade has the wrong type (expected object)")
        return cur_skip_value(c, 0)
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            bit = 0
            if key_is(k, kl, "time", 4):
                bit = RX_time
            elif key_is(k, kl, "trade_id", 8):
                bit = RX_trade_id
            elif key_is(k, kl, "price", 5):
                bit = RX_price
            elif key_is(k, kl, "size", 4):
                bit = RX_size
            elif key_is(k, kl, "side", 4):
                bit = RX_side
            if bit:
                if seen & bit:
                    return _dup(c)
                seen |= bit
            if bit == RX_time:
                cur_peek(c)
                ts_at = c.i
                rc = _str_field(c, &ts, &tl, &pd,
                                "field 'time' has the wrong type (expected string)")
            elif bit == RX_trade_id:
                rc = _int_field(c, &tid, &pd,
                                "field 'trade_id' has the wrong type (expected integer)",
                                "field 'trade_id' out of range")
            elif bit == RX_price:
                rc = _str_field(c, &pp, &pl, &pd,
                                "field 'price' has the wrong type (expected string)")
            elif bit == RX_size:
                rc = _str_field(c, &sp, &sl, &pd,
                                "field 'size' has the wrong type (expected string)")
            elif bit == RX_side:
                cur_peek(c)
                side_at = c.i
                rc = _str_field(c, &side, &side_len, &pd,
                                "field 'side' has the wrong type (expected string)")
                if rc == 0:
                    # the maker's side: a resting buy order was hit, so the taker sold
                    if _span_is(side, side_len, "buy", 3):
                        taker = -1
                    elif _span_is(side, side_len, "sell", 4):
                        taker = 1
                    else:
                        _pend(&pd, DEC_BAD_SIDE, side_at, "field 'side' is not 'buy' or 'sell'")
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
    if first.code != DEC_OK:
        return 0
    if pd.code != DEC_OK:
        _pend(first, pd.code, pd.at, pd.detail)
        return 0
    if not seen & RX_trade_id:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'trade_id' missing")
    elif not seen & RX_price:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'price' missing")
    elif not seen & RX_size:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'size' missing")
    elif not seen & RX_side:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'side' missing")
    elif not seen & RX_time:
        _pend(first, DEC_MISSING_FIELD, -1, "field 'time' missing")
    elif not 0 <= tid <= MAX_UPDATE_ID:
        _pend(first, DEC_OVERFLOW, -1, "field 'trade_id' out of range (expected 0..2**62)")
    elif parse_rfc3339_ns(ts, tl, &t_ns) < 0:
        _pend(first, DEC_BAD_TIMESTAMP, ts_at, "field 'time' is not an RFC 3339 timestamp")
    if first.code != DEC_OK:
        return 0
    tr = batch_next_trade(b, &d)
    if tr == NULL:
        _pend(first, DEC_TOO_MANY_LEVELS, -1, "too many trades")
        return 0
    d.price_ptr = pp
    d.price_len = <int32_t>pl
    d.size_ptr = sp
    d.size_len = <int32_t>sl
    d.price = d.size = 0
    d.side = SIDE_BID
    _trade_set(tr, tid, -1, -1, t_ns, taker, TRADE_STREAM_MATCHES)
    return 0


ctypedef int (*RestRowFn)(Cursor* c, DeltaBatch* b, Pending* first) noexcept nogil


cdef int _rest_trades(const char* p, Py_ssize_t n, DeltaBatch* b, RestRowFn row,
                      bint newest_first) noexcept nogil:
    cdef Cursor c
    cdef Pending first
    cdef Segment* seg
    cdef Delta dtmp
    cdef Trade ttmp
    cdef Py_ssize_t i, j
    cdef int rc
    batch_reset(b)
    first.code = DEC_OK
    first.at = -1
    first.detail = NULL
    cur_init(&c, p, n)
    rc = cur_peek(&c)
    if rc == b'{':
        if cur_skip_value(&c, 0) < 0 or _end_of_payload(&c) < 0:
            return _fail_cursor(b, &c)
        b.msg_kind = MSG_VENUE_ERROR
        return DEC_OK
    if rc != b'[':
        if cur_skip_value(&c, 0) < 0 or _end_of_payload(&c) < 0:
            return _fail_cursor(b, &c)
        return _fail_batch(b, DEC_WRONG_TYPE, 0, "body has the wrong type (expected array)")
    c.i += 1
    if cur_peek(&c) == b']':
        c.i += 1
    else:
        while True:
            if row(&c, b, &first) < 0:
                return _fail_cursor(b, &c)
            rc = cur_next(&c, b']')
            if rc < 0:
                return _fail_cursor(b, &c)
            if rc == 0:
                break
    if _end_of_payload(&c) < 0:
        return _fail_cursor(b, &c)
    if first.code != DEC_OK:
        return _fail_batch(b, first.code, first.at, first.detail)
    b.msg_kind = MSG_TRADES
    if b.n_levels == 0:
        return DEC_OK
    if newest_first:
        i = 0
        j = b.n_levels - 1
        while i < j:
            dtmp = b.levels[i]
            b.levels[i] = b.levels[j]
            b.levels[j] = dtmp
            ttmp = b.trades[i]
            b.trades[i] = b.trades[j]
            b.trades[j] = ttmp
            i += 1
            j -= 1
    seg = batch_next_seg(b)
    if seg == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "out of memory")
    seg.symbol_ptr = NULL
    seg.symbol_len = 0
    seg.kind = SEG_UPDATE
    seg.start = 0
    seg.count = b.n_levels
    seg.event_time_ns = b.trades[b.n_levels - 1].time_ns
    b.event_time_ns = seg.event_time_ns
    return DEC_OK


cdef int decode_binance_rest_aggtrades(const char* p, Py_ssize_t n,
                                       DeltaBatch* b) noexcept nogil:
    """Binance ``GET /api/v3/aggTrades`` / ``/fapi/v1/aggTrades`` body → MSG_TRADES, one
    segment (symbol NULL), rows in the venue's order (ascending ``a``); side from ``m``
    (buyer is maker: the taker sold), time ``T``; an object body → MSG_VENUE_ERROR."""
    return _rest_trades(p, n, b, _rb_row, False)


cdef int decode_coinbase_exchange_rest_trades(const char* p, Py_ssize_t n,
                                              DeltaBatch* b) noexcept nogil:
    """Coinbase Exchange ``GET /products/{id}/trades`` body (newest first) → MSG_TRADES,
    one segment (symbol NULL), reversed to oldest first; an object body (``{"message":
    ..}``) → MSG_VENUE_ERROR."""
    return _rest_trades(p, n, b, _rx_row, True)


_register("binance-rest-aggtrades", decode_binance_rest_aggtrades)
_register("coinbase-exchange-rest-trades", decode_coinbase_exchange_rest_trades)
