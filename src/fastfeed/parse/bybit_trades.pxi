# Included by _parse.pyx after bybit.pxi. Bybit v5 public trades (docs/venues.md, "Bybit"):
# {"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":N,"data":[{"T":N,"s":..,"S":"Buy"|
# "Sell","v":..,"p":..,"L":..,"i":..,"BT":false,"seq":N},...]}, keys in any order, trades
# oldest first; then the venue's stream decoder (books and trades on one connection).

TRADE_STREAMS[TRADE_STREAM_PUBLIC_TRADE] = "publicTrade"

cdef enum:
    BYT_T = 1 << 0
    BYT_s = 1 << 1
    BYT_S = 1 << 2
    BYT_v = 1 << 3
    BYT_p = 1 << 4
    BYT_i = 1 << 5


cdef int _bt_trade(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """One trade object (at '{') → a trade: ``S`` is the taker's side, ``i`` a string id
    kept as an int64 when it is a plain integer in 0..2**62 (spot), else -1 (the UUIDs of
    derivatives). Problems are pended in payload order; 0, or -1 with the cursor failed."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef const char* s
    cdef Py_ssize_t slen
    cdef uint32_t seen = 0
    cdef int rc
    cdef int64_t ms = 0
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
    _trade_set(tr, -1, -1, -1, 0, 0, TRADE_STREAM_PUBLIC_TRADE)
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            if key_is(k, kl, "T", 1):
                if seen & BYT_T:
                    return _dup(c)
                seen |= BYT_T
                rc = _int_field(c, &ms, pd,
                                "trade field 'T' has the wrong type (expected integer)",
                                "trade field 'T' out of range")
            elif key_is(k, kl, "s", 1):
                if seen & BYT_s:
                    return _dup(c)
                seen |= BYT_s
                rc = _sym_field(c, &s, &slen, pd,
                                "trade field 's' has the wrong type (expected string)",
                                "trade field 's' contains an escape "
                                "(symbols must be plain strings)",
                                "trade field 's' is not valid UTF-8")
                if rc == 0:
                    tr.symbol_ptr = s
                    tr.symbol_len = <int32_t>slen
            elif key_is(k, kl, "S", 1):
                if seen & BYT_S:
                    return _dup(c)
                seen |= BYT_S
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &slen, pd,
                                "trade field 'S' has the wrong type (expected string)")
                if rc == 0:
                    if _span_is(s, slen, "Buy", 3):
                        tr.side = 1             # the taker's side
                    elif _span_is(s, slen, "Sell", 4):
                        tr.side = -1
                    else:
                        _pend(pd, DEC_BAD_SIDE, at, "trade field 'S' is not 'Buy' or 'Sell'")
            elif key_is(k, kl, "v", 1):
                if seen & BYT_v:
                    return _dup(c)
                seen |= BYT_v
                rc = _str_field(c, &s, &slen, pd,
                                "trade field 'v' has the wrong type (expected string)")
                if rc == 0:
                    d.size_ptr = s
                    d.size_len = <int32_t>slen
            elif key_is(k, kl, "p", 1):
                if seen & BYT_p:
                    return _dup(c)
                seen |= BYT_p
                rc = _str_field(c, &s, &slen, pd,
                                "trade field 'p' has the wrong type (expected string)")
                if rc == 0:
                    d.price_ptr = s
                    d.price_len = <int32_t>slen
            elif key_is(k, kl, "i", 1):
                if seen & BYT_i:
                    return _dup(c)
                seen |= BYT_i
                rc = _str_field(c, &s, &slen, pd,
                                "trade field 'i' has the wrong type (expected string)")
                if rc == 0:
                    tr.trade_id = _numeric_id(s, slen)
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
    if not seen & BYT_T:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'T' missing")
    if not seen & BYT_s:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 's' missing")
    if not seen & BYT_S:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'S' missing")
    if not seen & BYT_v:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'v' missing")
    if not seen & BYT_p:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'p' missing")
    if not seen & BYT_i:
        _pend(pd, DEC_MISSING_FIELD, -1, "trade field 'i' missing")
    if not _ns_from_ms_ok(ms):
        _pend(pd, DEC_OVERFLOW, -1, "trade field 'T' out of range")
    tr.time_ns = ms * 1000000
    return 0


cdef int _bt_data(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """``data``: an array of trade objects (anything else pended and skipped). 0 or -1."""
    cdef int rc
    if cur_peek(c) != b'[':
        _pend(pd, DEC_WRONG_TYPE, c.i,
              "field 'data' has the wrong type (expected an array of objects)")
        return cur_skip_value(c, 0)
    c.i += 1
    if cur_peek(c) == b']':
        c.i += 1
        return 0
    while True:
        if cur_peek(c) == b'{':
            rc = _bt_trade(c, b, pd)
        else:
            _pend(pd, DEC_WRONG_TYPE, c.i,
                  "field 'data' has the wrong type (expected an array of objects)")
            rc = cur_skip_value(c, 0)
        if rc < 0:
            return -1
        rc = cur_next(c, b']')
        if rc < 0:
            return -1
        if rc == 0:
            return 0


cdef int decode_bybit_trades(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Bybit ``publicTrade.*`` → MSG_TRADES, one segment per run of a symbol (trades
    oldest first, as sent; ``last_id`` -1: no usable sequence); other topics →
    MSG_IGNORED; acks, pongs and errors as the book decoder reads them."""
    cdef Cursor c
    cdef KeySet ks
    cdef Pending pd, scratch
    cdef const char* k
    cdef Py_ssize_t kl, i, j
    cdef int rc
    cdef uint32_t seen = 0
    cdef const char* topic = NULL
    cdef Py_ssize_t topic_len = 0
    cdef const char* typ = NULL
    cdef Py_ssize_t typ_len = 0, typ_at = -1
    cdef int64_t ts = 0
    cdef Segment* seg
    batch_reset(b)
    cur_init(&c, p, n)
    ks.n = 0
    pd.code = DEC_OK
    pd.at = -1
    pd.detail = NULL
    scratch = pd
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            if key_is(k, kl, "topic", 5):
                if seen & BY_topic:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= BY_topic
                rc = _str_field(&c, &topic, &topic_len, &scratch, NULL)
                if rc == 1:
                    topic_len = -1
            elif key_is(k, kl, "type", 4):
                if seen & BY_type:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= BY_type
                cur_peek(&c)
                typ_at = c.i
                rc = _str_field(&c, &typ, &typ_len, &scratch, NULL)
                if rc == 1:
                    typ_len = -1
            elif key_is(k, kl, "ts", 2):
                if seen & BY_ts:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= BY_ts
                rc = _by_ms(&c, &ts, &pd)
            elif key_is(k, kl, "data", 4):
                if seen & BY_data:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= BY_data
                rc = _bt_data(&c, b, &pd)
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
    if not seen & BY_topic:
        return decode_bybit(p, n, b)    # an ack, a pong or an error: the book decoder's
    if topic_len < 0:
        b.n_levels = 0
        return _fail_batch(b, DEC_WRONG_TYPE, -1,
                           "field 'topic' has the wrong type (expected string)")
    if topic_len < 12 or memcmp(topic, b"publicTrade.", 12) != 0:
        b.n_levels = 0
        b.msg_kind = MSG_IGNORED        # another channel's topic (orderbook, tickers, ...)
        return DEC_OK
    if not seen & BY_type:
        return _missing(b, "field 'type' missing")
    if typ_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, typ_at,
                           "field 'type' has the wrong type (expected string)")
    if not _span_is(typ, typ_len, "snapshot", 8):
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, typ_at, "field 'type' is not 'snapshot'")
    if pd.code != DEC_OK:
        return _fail_batch(b, pd.code, pd.at, pd.detail)
    if not seen & BY_ts:
        return _missing(b, "field 'ts' missing")
    if not seen & BY_data:
        return _missing(b, "field 'data' missing")
    if not _ns_from_ms_ok(ts):
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'ts' out of range")
    i = 0
    while i < b.n_levels:       # one segment per run of one symbol
        j = i + 1
        while j < b.n_levels and _same_symbol(&b.trades[j], &b.trades[i]):
            j += 1
        seg = batch_next_seg(b)
        if seg == NULL:
            return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
        seg.symbol_ptr = b.trades[i].symbol_ptr
        seg.symbol_len = b.trades[i].symbol_len
        seg.kind = SEG_UPDATE
        seg.start = i
        seg.count = j - i
        seg.event_time_ns = b.trades[i].time_ns
        i = j
    b.event_time_ns = ts * 1000000
    b.msg_kind = MSG_TRADES
    return DEC_OK


_register("bybit-trades", decode_bybit_trades)


# -- the Bybit stream decoder (parse/streams.pxi) ---------------------------------------

# (the ticker and BBO decoders are defined later, in bybit_quotes.pxi, the candle decoder
# in bybit_candles.pxi: one compilation unit). The BBO decoder first: it takes only
# orderbook.1 (the book decoder would take it as a book) and otherwise gives the book
# decoder's verdict.
cdef DecodeFn _BYBIT_CHANNELS[5]
_BYBIT_CHANNELS[0] = decode_bybit_bbo
_BYBIT_CHANNELS[1] = decode_bybit
_BYBIT_CHANNELS[2] = decode_bybit_trades
_BYBIT_CHANNELS[3] = decode_bybit_ticker
_BYBIT_CHANNELS[4] = decode_bybit_candles


cdef int decode_bybit_stream(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Bybit, any channel, by ``topic`` when it comes first: ``orderbook.1.*`` to the BBO
    decoder, other ``orderbook.*`` to the book decoder, ``publicTrade.*`` to the trade
    decoder, ``tickers.*`` to the ticker decoder, ``kline.*`` to the candle decoder;
    otherwise each decoder in turn."""
    if _head_is(p, n, '{"topic":"', 10):
        if _value_starts(p, n, 10, "orderbook.1.", 12):
            return _as_channel(decode_bybit_bbo(p, n, b), b, MSG_BBO)
        if _value_starts(p, n, 10, "orderbook.", 10):
            return decode_bybit(p, n, b)
        if _value_starts(p, n, 10, "publicTrade.", 12):
            return _as_channel(decode_bybit_trades(p, n, b), b, MSG_TRADES)
        if _value_starts(p, n, 10, "tickers.", 8):
            return _as_channel(decode_bybit_ticker(p, n, b), b, MSG_TICKER)
        if _value_starts(p, n, 10, "kline.", 6):
            return _as_channel(decode_bybit_candles(p, n, b), b, MSG_CANDLES)
    return _first_taker(p, n, b, _BYBIT_CHANNELS, 5)


_register("bybit-stream", decode_bybit_stream)
