# Included by _parse.pyx. Coinbase Advanced Trade ticker and ticker_batch channels:
# {"channel":"ticker","timestamp":..,"sequence_num":..,"events":[{"type":"snapshot"|
# "update","tickers":[{"type":"ticker","product_id":..,"price":..,"volume_24_h":..,
# "low_24_h":..,"high_24_h":..,"best_bid":..,"best_bid_quantity":..,"best_ask":..,
# "best_ask_quantity":..,...}]}]} (docs/venues.md, "Best bid/offer" and "Tickers").
# ticker_batch has no best bid/ask: the BBO decoder ignores it.

cdef enum:
    AQ_channel = 0
    AQ_timestamp = 1
    AQ_sequence = 2
    AQ_events = 3
    AQ_type = 4
    AQE_type = 0
    AQE_tickers = 1
    AQT_product = 0
    AQT_price = 1
    AQT_volume = 2
    AQT_low = 3
    AQT_high = 4
    AQT_bid = 5
    AQT_bid_size = 6
    AQT_ask = 7
    AQT_ask_size = 8

cdef QTable _AQ_ENV
cdef QTable _AQ_EVENT
cdef QTable _AQ_TICKER
_qtable(&_AQ_ENV, "field", ("channel", "timestamp", "sequence_num", "events", "type"),
        ("events",))
_qtable(&_AQ_EVENT, "event field", ("type", "tickers"), ("tickers",))
_qtable(&_AQ_TICKER, "ticker field", ("product_id", "price", "volume_24_h", "low_24_h",
                                      "high_24_h", "best_bid", "best_bid_quantity",
                                      "best_ask", "best_ask_quantity"))


cdef int _aq_tickers(Cursor* c, DeltaBatch* b, Py_ssize_t at, bint bbo, int64_t t_ns,
                     uint8_t kind) noexcept nogil:
    """An event's ``tickers`` array (at offset ``at``): one segment per ticker."""
    cdef QVal v[Q_MAX_FIELDS]
    cdef const QTable* t = &_AQ_TICKER
    cdef Quote* q
    cdef int rc
    c.i = at + 1
    if cur_peek(c) == b']':
        return DEC_OK
    while True:
        if cur_peek(c) != b'{':
            return _fail_batch(b, DEC_WRONG_TYPE, c.i, _AQ_EVENT.wrong_arr[AQE_tickers])
        if _q_object(c, t, v) < 0:
            return _fail_cursor(b, c)
        if _q_sym(b, t, v, AQT_product) < 0:
            return b.error
        if bbo:
            if (_q_str(b, t, v, AQT_bid, True) < 0 or _q_str(b, t, v, AQT_bid_size, True) < 0
                    or _q_str(b, t, v, AQT_ask, True) < 0
                    or _q_str(b, t, v, AQT_ask_size, True) < 0):
                return b.error
            rc = _q_bbo(b, &v[AQT_product], &v[AQT_bid], &v[AQT_bid_size], &v[AQT_ask],
                        &v[AQT_ask_size], -1, t_ns, kind)
            if rc != DEC_OK:
                return rc
        else:
            if (_q_str(b, t, v, AQT_price, True) < 0 or _q_str(b, t, v, AQT_volume, True) < 0
                    or _q_str(b, t, v, AQT_low, True) < 0
                    or _q_str(b, t, v, AQT_high, True) < 0):
                return b.error
            q = _q_ticker(b, &v[AQT_product], t_ns, kind)
            if q == NULL:
                return b.error
            _q_text(q, TK_LAST, &v[AQT_price])
            _q_text(q, TK_VOLUME, &v[AQT_volume])
            _q_text(q, TK_LOW, &v[AQT_low])
            _q_text(q, TK_HIGH, &v[AQT_high])
        rc = cur_next(c, b']')
        if rc < 0:
            return _fail_cursor(b, c)
        if rc == 0:
            return DEC_OK


cdef int _aq_events(Cursor* c, DeltaBatch* b, Py_ssize_t at, bint bbo,
                    int64_t t_ns) noexcept nogil:
    """The envelope's ``events`` array (at offset ``at``, validated by the first pass)."""
    cdef QVal v[Q_MAX_FIELDS]
    cdef const QTable* t = &_AQ_EVENT
    cdef Py_ssize_t resume
    cdef uint8_t kind
    cdef int rc
    c.i = at + 1
    if cur_peek(c) == b']':
        return DEC_OK
    while True:
        if cur_peek(c) != b'{':
            return _fail_batch(b, DEC_WRONG_TYPE, c.i, _AQ_ENV.wrong_arr[AQ_events])
        if _q_object(c, t, v) < 0:
            return _fail_cursor(b, c)
        if _q_str(b, t, v, AQE_type, True) < 0:
            return b.error
        if _span_is(v[AQE_type].s, v[AQE_type].len, "snapshot", 8):
            kind = SEG_SNAPSHOT
        elif _span_is(v[AQE_type].s, v[AQE_type].len, "update", 6):
            kind = SEG_UPDATE
        else:
            return _fail_batch(b, DEC_UNKNOWN_MESSAGE, v[AQE_type].at,
                               "event type is not 'snapshot' or 'update'")
        if v[AQE_tickers].kind == QK_ABSENT:
            return _missing(b, _AQ_EVENT.missing[AQE_tickers])
        if v[AQE_tickers].kind != QK_ARR:
            return _fail_batch(b, DEC_WRONG_TYPE, v[AQE_tickers].at,
                               _AQ_EVENT.wrong_arr[AQE_tickers])
        resume = c.i
        rc = _aq_tickers(c, b, v[AQE_tickers].at, bbo, t_ns, kind)
        if rc != DEC_OK:
            return rc
        c.i = resume
        rc = cur_next(c, b']')
        if rc < 0:
            return _fail_cursor(b, c)
        if rc == 0:
            return DEC_OK


cdef int _decode_coinbase_at_quotes(const char* p, Py_ssize_t n, DeltaBatch* b,
                                    bint bbo) noexcept nogil:
    cdef Cursor c
    cdef QVal v[Q_MAX_FIELDS]
    cdef const QTable* t = &_AQ_ENV
    cdef int rc
    cdef bint ours
    cdef int64_t t_ns = 0
    batch_reset(b)
    cur_init(&c, p, n)
    if _q_object(&c, t, v) < 0 or _end_of_payload(&c) < 0:
        return _fail_cursor(b, &c)
    if v[AQ_sequence].kind == QK_INT and 0 <= v[AQ_sequence].v <= MAX_UPDATE_ID:
        b.last_id = v[AQ_sequence].v
    if ((v[AQ_type].kind == QK_STR or v[AQ_type].kind == QK_ESC)
            and _span_is(v[AQ_type].s, v[AQ_type].len, "error", 5)):
        b.msg_kind = MSG_VENUE_ERROR
        return DEC_OK
    if (_q_str(b, t, v, AQ_channel, True) < 0 or _q_str(b, t, v, AQ_timestamp, False) < 0
            or _q_int(b, t, v, AQ_sequence, False, 0, MAX_UPDATE_ID) < 0):
        return b.error
    if v[AQ_timestamp].kind != QK_ABSENT and parse_rfc3339_ns(
            v[AQ_timestamp].s, v[AQ_timestamp].len, &t_ns) < 0:
        return _fail_batch(b, DEC_BAD_TIMESTAMP, v[AQ_timestamp].at,
                           "field 'timestamp' is not an RFC 3339 timestamp")
    b.event_time_ns = t_ns
    ours = _span_is(v[AQ_channel].s, v[AQ_channel].len, "ticker", 6) or (
        not bbo and _span_is(v[AQ_channel].s, v[AQ_channel].len, "ticker_batch", 12))
    if ours:
        if (_q_int(b, t, v, AQ_sequence, True, 0, MAX_UPDATE_ID) < 0
                or _q_str(b, t, v, AQ_timestamp, True) < 0):
            return b.error
        if v[AQ_events].kind == QK_ABSENT:
            return _missing(b, t.missing[AQ_events])
        if v[AQ_events].kind != QK_ARR:
            return _fail_batch(b, DEC_WRONG_TYPE, v[AQ_events].at, t.wrong_arr[AQ_events])
        rc = _aq_events(&c, b, v[AQ_events].at, bbo, t_ns)
        if rc != DEC_OK:
            return rc
        b.msg_kind = MSG_BBO if bbo else MSG_TICKER
        return DEC_OK
    if _span_is(v[AQ_channel].s, v[AQ_channel].len, "heartbeats", 10):
        b.msg_kind = MSG_HEARTBEAT
    elif _span_is(v[AQ_channel].s, v[AQ_channel].len, "subscriptions", 13):
        b.msg_kind = MSG_CONTROL
    elif not utf8_ok(v[AQ_channel].s, v[AQ_channel].len):
        return _fail_batch(b, DEC_BAD_UTF8, v[AQ_channel].at,
                           "field 'channel' is not valid UTF-8")
    else:
        b.msg_kind = MSG_IGNORED
    return DEC_OK


cdef int decode_coinbase_at_bbo(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Coinbase Advanced Trade ``ticker`` → MSG_BBO, one segment per ticker (best_bid,
    best_bid_quantity, best_ask, best_ask_quantity; time: the envelope timestamp);
    ``ticker_batch`` (no BBO fields) and other channels → MSG_IGNORED, ``heartbeats`` →
    MSG_HEARTBEAT, ``subscriptions`` → MSG_CONTROL, ``{"type":"error"}`` →
    MSG_VENUE_ERROR. ``last_id`` is ``sequence_num`` whenever valid (the router's
    connection sequence)."""
    return _decode_coinbase_at_quotes(p, n, b, True)


cdef int decode_coinbase_at_ticker(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Coinbase Advanced Trade ``ticker`` and ``ticker_batch`` → MSG_TICKER, one segment
    per ticker (price, volume_24_h, low_24_h, high_24_h); the rest as the BBO decoder."""
    return _decode_coinbase_at_quotes(p, n, b, False)


_register("coinbase-at-bbo", decode_coinbase_at_bbo)
_register("coinbase-at-ticker", decode_coinbase_at_ticker)
