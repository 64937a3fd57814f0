# Included by _parse.pyx after kraken.pxi. Kraken WebSocket v2 `trade` (docs/venues.md,
# "Kraken trades"): {"channel":"trade","type":"snapshot"|"update","data":[{"symbol":
# "MATIC/USD","side":"buy","price":0.5147,"qty":6423.46326,"ord_type":"limit",
# "trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"},...]}, keys in any order.
# One Trade per `data` element in the venue's order, one segment per run of a symbol;
# `side` is the taker's; `price`/`qty` are bare JSON numbers (exponent allowed, converted
# exactly by phase 2: parse/decimal.pxi); `ord_type` is not read. The Kraken stream
# decoder is in kraken_quotes.pxi (after every Kraken channel decoder).

TRADE_STREAMS[TRADE_STREAM_KRAKEN] = "kraken-trade"   # "trade" is Binance's

cdef enum:
    KT_symbol = 1 << 0
    KT_side = 1 << 1
    KT_price = 1 << 2
    KT_qty = 1 << 3
    KT_trade_id = 1 << 4
    KT_timestamp = 1 << 5

cdef const char* _KT_DATA_WRONG = ("field 'data' has the wrong type "
                                   "(expected an array of trade objects)")


cdef int _kt_element(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """One ``data`` object (the cursor at its '{') as one Trade; a field problem or a
    missing field is pended. 0, or -1 (cursor failed)."""
    cdef KeySet ks
    cdef const char* k
    cdef Py_ssize_t kl, at
    cdef const char* s
    cdef Py_ssize_t sl
    cdef int rc
    cdef uint32_t seen = 0
    cdef int64_t v
    cdef Delta* d
    cdef Trade* tr = batch_next_trade(b, &d)
    if tr == NULL:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, NULL)
    ks.n = 0
    d.price_ptr = d.size_ptr = NULL
    d.price_len = d.size_len = 0
    d.price = d.size = 0            # no pre-parse: phase 2 reads the number text
    d.side = SIDE_BID
    _trade_set(tr, -1, -1, -1, 0, 0, TRADE_STREAM_KRAKEN)
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            if key_is(k, kl, "symbol", 6):
                if seen & KT_symbol:
                    return _dup(c)
                seen |= KT_symbol
                rc = _sym_field(c, &tr.symbol_ptr, &sl, pd,
                                "field 'symbol' has the wrong type (expected string)",
                                "field 'symbol' contains an escape (symbols must be plain "
                                "strings)", "field 'symbol' is not valid UTF-8")
                if rc == 0:
                    tr.symbol_len = <int32_t>sl
            elif key_is(k, kl, "side", 4):
                if seen & KT_side:
                    return _dup(c)
                seen |= KT_side
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &sl, pd,
                                "field 'side' has the wrong type (expected string)")
                if rc == 0:
                    if _span_is(s, sl, "buy", 3):       # the taker's side
                        tr.side = 1
                    elif _span_is(s, sl, "sell", 4):
                        tr.side = -1
                    else:
                        _pend(pd, DEC_BAD_SIDE, at, "field 'side' is not 'buy' or 'sell'")
            elif key_is(k, kl, "price", 5):
                if seen & KT_price:
                    return _dup(c)
                seen |= KT_price
                rc = _kr_number(c, &d.price_ptr, &d.price_len, pd,
                                "field 'price' has the wrong type (expected number)")
            elif key_is(k, kl, "qty", 3):
                if seen & KT_qty:
                    return _dup(c)
                seen |= KT_qty
                rc = _kr_number(c, &d.size_ptr, &d.size_len, pd,
                                "field 'qty' has the wrong type (expected number)")
            elif key_is(k, kl, "trade_id", 8):
                if seen & KT_trade_id:
                    return _dup(c)
                seen |= KT_trade_id
                cur_peek(c)
                at = c.i
                rc = _int_field(c, &v, pd,
                                "field 'trade_id' has the wrong type (expected integer)",
                                "field 'trade_id' out of range (expected 0..2**62)")
                if rc == 0:
                    if 0 <= v <= MAX_UPDATE_ID:
                        tr.trade_id = v
                    else:
                        _pend(pd, DEC_OVERFLOW, at,
                              "field 'trade_id' out of range (expected 0..2**62)")
            elif key_is(k, kl, "timestamp", 9):
                if seen & KT_timestamp:
                    return _dup(c)
                seen |= KT_timestamp
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &sl, pd,
                                "field 'timestamp' has the wrong type (expected string)")
                if rc == 0 and parse_rfc3339_ns(s, sl, &tr.time_ns) < 0:
                    _pend(pd, DEC_BAD_TIMESTAMP, at,
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
                break
    if not seen & KT_symbol:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'symbol' missing")
    elif not seen & KT_side:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'side' missing")
    elif not seen & KT_price:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'price' missing")
    elif not seen & KT_qty:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'qty' missing")
    elif not seen & KT_trade_id:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'trade_id' missing")
    elif not seen & KT_timestamp:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'timestamp' missing")
    return 0


cdef int _kt_data(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """The ``data`` value: an array whose objects are Trades (a non-object, or another
    type than an array, pended). 0, or -1 (cursor failed)."""
    cdef int rc
    if cur_peek(c) != b'[':
        _pend(pd, DEC_WRONG_TYPE, c.i, _KT_DATA_WRONG)
        return cur_skip_value(c, 0)
    c.i += 1
    if cur_peek(c) == b']':
        c.i += 1
        return 0
    while True:
        if cur_peek(c) == b'{':
            if _kt_element(c, b, pd) < 0:
                return -1
        else:
            _pend(pd, DEC_WRONG_TYPE, c.i, _KT_DATA_WRONG)
            if cur_skip_value(c, 0) < 0:
                return -1
        rc = cur_next(c, b']')
        if rc < 0:
            return -1
        if rc == 0:
            return 0


cdef int _kr_top(const char* p, Py_ssize_t n, DeltaBatch* b, const char* channel,
                 Py_ssize_t channel_len, int (*data_fn)(Cursor*, DeltaBatch*, Pending*)
                 noexcept nogil, bint* snap, Pending* pd) noexcept nogil:
    """The top level of a Kraken v2 data message of one channel (``channel``, ``type``,
    ``data`` read by ``data_fn``). DEC_OK with ``b.msg_kind`` MSG_NONE when it is a
    message of ``channel`` whose data the caller turns into segments (``snap``: its type
    is ``snapshot``); else the final verdict: a message without ``channel`` (a method
    reply, an error, ...) is the book decoder's; ``heartbeat`` MSG_HEARTBEAT,
    ``status`` MSG_CONTROL, another channel MSG_IGNORED."""
    cdef Cursor c
    cdef KeySet ks
    cdef Pending scratch
    cdef const char* k
    cdef const char* chan = NULL
    cdef const char* typ = NULL
    cdef Py_ssize_t kl, chan_len = -1, typ_len = -1, chan_at = -1, typ_at = -1
    cdef int seen = 0
    cdef int rc
    batch_reset(b)
    cur_init(&c, p, n)
    ks.n = 0
    pd.code = DEC_OK
    pd.at = -1
    pd.detail = NULL
    scratch = pd[0]
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            if key_is(k, kl, "channel", 7):
                if seen & KR_channel:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= KR_channel
                cur_peek(&c)
                chan_at = c.i
                rc = _str_field(&c, &chan, &chan_len, &scratch, NULL)
                if rc == 1:
                    chan_len = -1
            elif key_is(k, kl, "type", 4):
                if seen & KR_type:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= KR_type
                cur_peek(&c)
                typ_at = c.i
                rc = _str_field(&c, &typ, &typ_len, &scratch, NULL)
                if rc == 1:
                    typ_len = -1
            elif key_is(k, kl, "data", 4):
                if seen & KR_data:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= KR_data
                rc = data_fn(&c, b, pd)
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
    if not seen & KR_channel:
        return decode_kraken(p, n, b)   # method replies and errors: the book decoder's
    if chan_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, chan_at,
                           "field 'channel' has the wrong type (expected string)")
    if not _span_is(chan, chan_len, channel, channel_len):
        b.n_levels = 0
        b.n_segs = 0
        if _span_is(chan, chan_len, "heartbeat", 9):
            b.msg_kind = MSG_HEARTBEAT
        elif _span_is(chan, chan_len, "status", 6):
            b.msg_kind = MSG_CONTROL
        elif not utf8_ok(chan, chan_len):
            return _fail_batch(b, DEC_BAD_UTF8, chan_at, "field 'channel' is not valid UTF-8")
        else:
            b.msg_kind = MSG_IGNORED    # book, other channels
        return DEC_OK
    if not seen & KR_type:
        return _missing(b, "field 'type' missing")
    if typ_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, typ_at,
                           "field 'type' has the wrong type (expected string)")
    snap[0] = _span_is(typ, typ_len, "snapshot", 8)
    if not snap[0] and not _span_is(typ, typ_len, "update", 6):
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, typ_at,
                           "field 'type' is not 'snapshot' or 'update'")
    if pd.code != DEC_OK:
        return _fail_batch(b, pd.code, pd.at, pd.detail)
    if not seen & KR_data:
        return _missing(b, "field 'data' missing")
    b.msg_kind = MSG_NONE
    return DEC_OK


cdef int decode_kraken_trades(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Kraken v2 ``trade`` → MSG_TRADES, one trade per ``data`` element, one segment per
    run of a symbol (``snapshot``: the recent trades sent on subscribe); method replies
    and errors as the book decoder says, other channels → MSG_IGNORED (_kr_top)."""
    cdef Pending pd
    cdef bint snap = False
    cdef Py_ssize_t i, j
    cdef Segment* seg
    cdef int rc = _kr_top(p, n, b, "trade", 5, _kt_data, &snap, &pd)
    if rc != DEC_OK or b.msg_kind != MSG_NONE:
        return rc
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
        seg.kind = SEG_SNAPSHOT if snap else SEG_UPDATE
        seg.start = i
        seg.count = j - i
        seg.event_time_ns = b.trades[i].time_ns
        i = j
    b.event_time_ns = b.trades[b.n_levels - 1].time_ns if b.n_levels > 0 else 0
    b.msg_kind = MSG_TRADES
    return DEC_OK


_register("kraken-trades", decode_kraken_trades)
