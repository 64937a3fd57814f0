# Included by _parse.pyx. Coinbase Exchange ticker channel (docs/venues.md, "Best
# bid/offer" and "Tickers"): {"type":"ticker","sequence":..,"product_id":..,"price":..,
# "open_24h":..,"volume_24h":..,"low_24h":..,"high_24h":..,"volume_30d":..,"best_bid":..,
# "best_bid_size":..,"best_ask":..,"best_ask_size":..,"side":..,"time":..,"trade_id":..,
# "last_size":..}. best_bid_size/best_ask_size are in the current feed but not in the
# 2022 documentation example: a ticker without them is a BBO without sizes.

cdef enum:
    XQ_type = 0
    XQ_product = 1
    XQ_sequence = 2
    XQ_time = 3
    XQ_bid = 4
    XQ_bid_size = 5
    XQ_ask = 6
    XQ_ask_size = 7
    XQ_price = 8
    XQ_open = 9
    XQ_volume = 10
    XQ_low = 11
    XQ_high = 12
    XQ_last_size = 13
    XQ_trade_id = 14

cdef QTable _XQ
_qtable(&_XQ, "field", ("type", "product_id", "sequence", "time", "best_bid",
                        "best_bid_size", "best_ask", "best_ask_size", "price", "open_24h",
                        "volume_24h", "low_24h", "high_24h", "last_size", "trade_id"))


cdef int _decode_coinbase_exchange_quotes(const char* p, Py_ssize_t n, DeltaBatch* b,
                                          bint bbo) noexcept nogil:
    cdef Cursor c
    cdef QVal v[Q_MAX_FIELDS]
    cdef const QTable* t = &_XQ
    cdef Quote* q
    cdef int rc
    cdef int64_t t_ns = 0
    cdef bint sizes
    batch_reset(b)
    cur_init(&c, p, n)
    if _q_object(&c, t, v) < 0 or _end_of_payload(&c) < 0:
        return _fail_cursor(b, &c)
    if _q_str(b, t, v, XQ_type, True) < 0:
        return b.error
    if not _span_is(v[XQ_type].s, v[XQ_type].len, "ticker", 6):
        return _q_other_type(b, &v[XQ_type], "field 'type' is not valid UTF-8")
    if (_q_sym(b, t, v, XQ_product) < 0
            or _q_int(b, t, v, XQ_sequence, True, 0, MAX_UPDATE_ID) < 0
            or _q_str(b, t, v, XQ_time, False) < 0):
        return b.error
    if v[XQ_time].kind != QK_ABSENT and parse_rfc3339_ns(
            v[XQ_time].s, v[XQ_time].len, &t_ns) < 0:
        return _fail_batch(b, DEC_BAD_TIMESTAMP, v[XQ_time].at,
                           "field 'time' is not an RFC 3339 timestamp")
    if bbo:
        sizes = v[XQ_bid_size].kind != QK_ABSENT or v[XQ_ask_size].kind != QK_ABSENT
        if (_q_str(b, t, v, XQ_bid, True) < 0 or _q_str(b, t, v, XQ_bid_size, sizes) < 0
                or _q_str(b, t, v, XQ_ask, True) < 0
                or _q_str(b, t, v, XQ_ask_size, sizes) < 0):
            return b.error
        rc = _q_bbo(b, &v[XQ_product], &v[XQ_bid], &v[XQ_bid_size] if sizes else NULL,
                    &v[XQ_ask], &v[XQ_ask_size] if sizes else NULL, v[XQ_sequence].v,
                    t_ns, SEG_UPDATE)
        if rc != DEC_OK:
            return rc
        b.msg_kind = MSG_BBO
    else:
        if (_q_str(b, t, v, XQ_price, True) < 0 or _q_str(b, t, v, XQ_open, True) < 0
                or _q_str(b, t, v, XQ_volume, True) < 0 or _q_str(b, t, v, XQ_low, True) < 0
                or _q_str(b, t, v, XQ_high, True) < 0
                or _q_str(b, t, v, XQ_last_size, False) < 0
                or _q_int(b, t, v, XQ_trade_id, False, 0, MAX_UPDATE_ID) < 0):
            return b.error
        q = _q_ticker(b, &v[XQ_product], t_ns, SEG_UPDATE)
        if q == NULL:
            return b.error
        q.update_id = v[XQ_sequence].v
        _q_text(q, TK_LAST, &v[XQ_price])
        _q_text(q, TK_OPEN, &v[XQ_open])
        _q_text(q, TK_VOLUME, &v[XQ_volume])
        _q_text(q, TK_LOW, &v[XQ_low])
        _q_text(q, TK_HIGH, &v[XQ_high])
        if v[XQ_last_size].kind != QK_ABSENT:
            _q_text(q, TK_LAST_SIZE, &v[XQ_last_size])
        if v[XQ_trade_id].kind != QK_ABSENT:
            q.last_trade_id = v[XQ_trade_id].v
        b.msg_kind = MSG_TICKER
    b.last_id = v[XQ_sequence].v
    b.event_time_ns = t_ns
    return DEC_OK


cdef int decode_coinbase_exchange_bbo(const char* p, Py_ssize_t n,
                                      DeltaBatch* b) noexcept nogil:
    """Coinbase Exchange ``ticker`` → MSG_BBO with one segment (best_bid, best_ask and,
    both or neither, best_bid_size, best_ask_size), update id ``sequence`` (the product's
    full-feed sequence: it only orders); ``heartbeat`` → MSG_HEARTBEAT, ``subscriptions``
    → MSG_CONTROL, ``error`` → MSG_VENUE_ERROR, others → MSG_IGNORED. Checked in order:
    type product_id sequence time best_bid best_bid_size best_ask best_ask_size."""
    return _decode_coinbase_exchange_quotes(p, n, b, True)


cdef int decode_coinbase_exchange_ticker(const char* p, Py_ssize_t n,
                                         DeltaBatch* b) noexcept nogil:
    """Coinbase Exchange ``ticker`` → MSG_TICKER with one segment (price, open_24h,
    volume_24h, low_24h, high_24h; last_size and trade_id when present); the rest as the
    BBO decoder. Checked in order: type product_id sequence time price open_24h
    volume_24h low_24h high_24h last_size trade_id."""
    return _decode_coinbase_exchange_quotes(p, n, b, False)


_register("coinbase-exchange-bbo", decode_coinbase_exchange_bbo)
_register("coinbase-exchange-ticker", decode_coinbase_exchange_ticker)
