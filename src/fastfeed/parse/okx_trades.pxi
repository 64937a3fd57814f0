# Included by _parse.pyx after okx.pxi. OKX v5 public `trades` (docs/venues.md, "OKX"):
# {"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",
# "tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897",
# "count":"3","source":"0","seqId":1234}, ...]}, keys in any order. One Trade per `data`
# element in the venue's order, one segment (the `arg` instId); `side` is the taker's;
# `count`, `source`, `seqId` and the element's own `instId` are not read. The OKX stream
# decoder (every channel on one connection) is parse/okx_stream.pxi.

TRADE_STREAMS[TRADE_STREAM_OKX_TRADES] = "trades"

cdef enum:
    OKT_tradeId = 1 << 0
    OKT_px = 1 << 1
    OKT_sz = 1 << 2
    OKT_side = 1 << 3
    OKT_ts = 1 << 4

cdef const char* _OKT_DATA_WRONG = ("field 'data' has the wrong type "
                                    "(expected a non-empty array of trade objects)")


cdef int _okt_element(Cursor* c, DeltaBatch* b, Pending* pd, int64_t* last_ts) noexcept nogil:
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
    d.price = d.size = 0            # no pre-parse: phase 2 reads the text
    d.side = SIDE_BID
    _trade_set(tr, -1, -1, -1, 0, 0, TRADE_STREAM_OKX_TRADES)
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            if key_is(k, kl, "tradeId", 7):
                if seen & OKT_tradeId:
                    return _dup(c)
                seen |= OKT_tradeId
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &sl, pd,
                                "field 'tradeId' has the wrong type (expected string)")
                if rc == 0:
                    v = _numeric_id(s, sl)
                    if v < 0:
                        _pend(pd, DEC_WRONG_TYPE, at, "field 'tradeId' is not a decimal "
                              "integer string (expected 0..2**62)")
                    tr.trade_id = v
            elif key_is(k, kl, "px", 2):
                if seen & OKT_px:
                    return _dup(c)
                seen |= OKT_px
                rc = _str_field(c, &s, &sl, pd,
                                "field 'px' has the wrong type (expected string)")
                if rc == 0:
                    d.price_ptr = s
                    d.price_len = <int32_t>sl
            elif key_is(k, kl, "sz", 2):
                if seen & OKT_sz:
                    return _dup(c)
                seen |= OKT_sz
                rc = _str_field(c, &s, &sl, pd,
                                "field 'sz' has the wrong type (expected string)")
                if rc == 0:
                    d.size_ptr = s
                    d.size_len = <int32_t>sl
            elif key_is(k, kl, "side", 4):
                if seen & OKT_side:
                    return _dup(c)
                seen |= OKT_side
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
            elif key_is(k, kl, "ts", 2):
                if seen & OKT_ts:
                    return _dup(c)
                seen |= OKT_ts
                v = 0
                rc = _okx_ms(c, &v, pd)
                if rc == 0:
                    if _ns_from_ms_ok(v):
                        tr.time_ns = v * 1000000
                        last_ts[0] = tr.time_ns
                    else:
                        _pend(pd, DEC_OVERFLOW, -1, "field 'ts' out of range")
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
    if not seen & OKT_tradeId:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'tradeId' missing")
    elif not seen & OKT_px:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'px' missing")
    elif not seen & OKT_sz:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'sz' missing")
    elif not seen & OKT_side:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'side' missing")
    elif not seen & OKT_ts:
        _pend(pd, DEC_MISSING_FIELD, -1, "field 'ts' missing")
    return 0


cdef int _okt_data(Cursor* c, DeltaBatch* b, Pending* pd, int64_t* last_ts) noexcept nogil:
    """The ``data`` array (the cursor at its '['): every object a Trade; a non-object or
    an empty array pended. 0, or -1 (cursor failed)."""
    cdef Py_ssize_t at = c.i
    cdef int rc
    c.i += 1
    if cur_peek(c) == b']':
        c.i += 1
        _pend(pd, DEC_WRONG_TYPE, at, _OKT_DATA_WRONG)
        return 0
    while True:
        if cur_peek(c) == b'{':
            if _okt_element(c, b, pd, last_ts) < 0:
                return -1
        else:
            _pend(pd, DEC_WRONG_TYPE, c.i, _OKT_DATA_WRONG)
            if cur_skip_value(c, 0) < 0:
                return -1
        rc = cur_next(c, b']')
        if rc < 0:
            return -1
        if rc == 0:
            return 0


cdef int decode_okx_trades(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """OKX ``trades`` → MSG_TRADES, one trade per ``data`` element, one segment (the
    ``arg`` instId); other channels → MSG_IGNORED; ``pong`` and events → MSG_CONTROL, an
    ``error`` event → MSG_VENUE_ERROR (as the book decoder)."""
    cdef Cursor c
    cdef KeySet ks
    cdef Pending pd, scratch
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef uint32_t seen = 0
    cdef bint arg_bad = False
    cdef const char* chan = NULL
    cdef Py_ssize_t chan_len = 0
    cdef const char* inst = NULL
    cdef Py_ssize_t inst_len = 0
    cdef const char* ev = NULL
    cdef Py_ssize_t ev_len = 0, ev_at = -1, arg_at = -1
    cdef int64_t last_ts = 0
    cdef Py_ssize_t i
    cdef Segment* seg
    batch_reset(b)
    if n == 4 and memcmp(p, b"pong", 4) == 0:
        b.msg_kind = MSG_CONTROL        # the answer to our text `ping`
        return DEC_OK
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
            if key_is(k, kl, "arg", 3):
                if seen & OK_arg:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= OK_arg
                cur_peek(&c)
                arg_at = c.i
                if c.i < c.n and c.p[c.i] == b'{':
                    rc = _okx_arg(&c, &seen, &pd, &chan, &chan_len, &inst, &inst_len)
                else:
                    arg_bad = True
                    rc = cur_skip_value(&c, 0)
            elif key_is(k, kl, "event", 5):
                if seen & OK_event:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= OK_event
                cur_peek(&c)
                ev_at = c.i
                rc = _str_field(&c, &ev, &ev_len, &scratch, NULL)
                if rc == 1:
                    ev_len = -1
            elif key_is(k, kl, "data", 4):
                if seen & OK_data:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= OK_data
                if cur_peek(&c) == b'[':
                    rc = _okt_data(&c, b, &pd, &last_ts)
                else:
                    _pend(&pd, DEC_WRONG_TYPE, c.i, _OKT_DATA_WRONG)
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
    if seen & OK_event:
        b.n_levels = 0
        if ev_len < 0:
            return _fail_batch(b, DEC_WRONG_TYPE, ev_at,
                               "field 'event' has the wrong type (expected string)")
        b.msg_kind = MSG_VENUE_ERROR if _span_is(ev, ev_len, "error", 5) else MSG_CONTROL
        return DEC_OK
    if not seen & OK_arg:
        return _missing(b, "field 'arg' missing")
    if arg_bad:
        return _fail_batch(b, DEC_WRONG_TYPE, arg_at,
                           "field 'arg' has the wrong type (expected object)")
    if not seen & OK_channel:
        return _missing(b, "field 'channel' missing")
    if chan_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, -1,
                           "field 'channel' has the wrong type (expected string)")
    if not _span_is(chan, chan_len, "trades", 6):
        b.n_levels = 0
        b.msg_kind = MSG_IGNORED        # books (the book decoder's), tickers, ...
        return DEC_OK
    if pd.code != DEC_OK:
        return _fail_batch(b, pd.code, pd.at, pd.detail)
    if not seen & OK_instId:
        return _missing(b, "field 'instId' missing")
    if not seen & OK_data:
        return _missing(b, "field 'data' missing")
    seg = batch_next_seg(b)
    if seg == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
    for i in range(b.n_levels):
        b.trades[i].symbol_ptr = inst
        b.trades[i].symbol_len = <int32_t>inst_len
    seg.symbol_ptr = inst
    seg.symbol_len = <int32_t>inst_len
    seg.kind = SEG_UPDATE
    seg.start = 0
    seg.count = b.n_levels
    seg.event_time_ns = last_ts
    b.event_time_ns = last_ts
    b.msg_kind = MSG_TRADES
    return DEC_OK


_register("okx-trades", decode_okx_trades)
