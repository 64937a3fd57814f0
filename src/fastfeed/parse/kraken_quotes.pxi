# Included by _parse.pyx after kraken_trades.pxi. Kraken WebSocket v2 `ticker`
# (docs/venues.md, "Kraken ticker and best bid/offer"): {"channel":"ticker","type":
# "snapshot"|"update","data":[{"symbol":"BTC/USD","bid":105944.20,"bid_qty":2.5,"ask":
# 105944.30,"ask_qty":3.2,"last":105899.40,"volume":163.28908096,"vwap":105904.39279,
# "low":104711.00,"high":106613.10,"change":250.00,"change_pct":0.24,"timestamp":"..."}]},
# keys in any order, every value a bare JSON number (exponent allowed) but `symbol` and
# `timestamp` (optional). One segment per `data` element. The ticker decoder reads
# last/volume/low/high/change, the BBO decoder bid/bid_qty/ask/ask_qty of the same
# message (Venue.bbo_in_ticker: with `event_trigger: "bbo"` this channel is Kraken's BBO
# stream); `vwap` and `change_pct` are type-checked, not read.

cdef enum:
    KQ_symbol = 0
    KQ_bid = 1
    KQ_bid_qty = 2
    KQ_ask = 3
    KQ_ask_qty = 4
    KQ_last = 5
    KQ_volume = 6
    KQ_vwap = 7
    KQ_low = 8
    KQ_high = 9
    KQ_change = 10
    KQ_change_pct = 11
    KQ_timestamp = 12
    KQ_N = 13

cdef tuple _KQ_FIELDS = (b"symbol", b"bid", b"bid_qty", b"ask", b"ask_qty", b"last",
                         b"volume", b"vwap", b"low", b"high", b"change", b"change_pct",
                         b"timestamp")
cdef const char* _KQ_NAMES[13]
cdef Py_ssize_t _KQ_LENS[13]
cdef const char* _KQ_WRONG[13]
cdef const char* _KQ_MISSING[13]
cdef list _KQ_TEXTS = []


cdef void _kq_texts():
    cdef int i
    for i in range(KQ_N):
        _KQ_NAMES[i] = <const char*>_KQ_FIELDS[i]
        _KQ_LENS[i] = len(_KQ_FIELDS[i])
        name = (<bytes>_KQ_FIELDS[i]).decode()
        expected = "string" if i in (KQ_symbol, KQ_timestamp) else "number"
        w = f"field '{name}' has the wrong type (expected {expected})".encode()
        m = f"field '{name}' missing".encode()
        _KQ_TEXTS.append(w)
        _KQ_TEXTS.append(m)
        _KQ_WRONG[i] = <const char*>w
        _KQ_MISSING[i] = <const char*>m


_kq_texts()

cdef const char* _KQ_DATA_WRONG = ("field 'data' has the wrong type "
                                   "(expected an array of ticker objects)")


cdef inline void _kq_text(Quote* q, int which, const char* s, int32_t n) noexcept nogil:
    q.text[which] = s
    q.text_len[which] = n


cdef int _kq_element(Cursor* c, DeltaBatch* b, Pending* pd, bint bbo) noexcept nogil:
    """One ``data`` object (the cursor at its '{') as one BBO or ticker segment; a field
    problem, or a required field missing (in table order), is pended. 0 or -1."""
    cdef KeySet ks
    cdef const char* k
    cdef Py_ssize_t kl, at
    cdef const char* s[13]
    cdef int32_t sl[13]
    cdef Py_ssize_t sym_len = 0, ts_len = 0
    cdef const char* ts = NULL
    cdef int rc, i, f
    cdef uint32_t seen = 0
    cdef int64_t t_ns = 0
    cdef Quote* q
    cdef Segment* seg
    cdef QVal vb, vbq, va, vaq, vsym
    ks.n = 0
    for i in range(KQ_N):
        s[i] = NULL
        sl[i] = 0
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            f = KQ_N
            for i in range(KQ_N):
                if key_is(k, kl, _KQ_NAMES[i], _KQ_LENS[i]):
                    f = i
                    break
            if f < KQ_N and seen & (<uint32_t>1 << f):
                return _dup(c)
            if f < KQ_N:
                seen |= <uint32_t>1 << f
            if f == KQ_symbol:
                rc = _sym_field(c, &s[KQ_symbol], &sym_len, pd, _KQ_WRONG[KQ_symbol],
                                "field 'symbol' contains an escape (symbols must be plain "
                                "strings)", "field 'symbol' is not valid UTF-8")
            elif f == KQ_timestamp:
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &ts, &ts_len, pd, _KQ_WRONG[KQ_timestamp])
                if rc == 0 and parse_rfc3339_ns(ts, ts_len, &t_ns) < 0:
                    _pend(pd, DEC_BAD_TIMESTAMP, at,
                          "field 'timestamp' is not an RFC 3339 timestamp")
            elif f < KQ_N:
                rc = _kr_number(c, &s[f], &sl[f], pd, _KQ_WRONG[f])
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
    # the required fields, in table order
    for i in range(KQ_N):
        if seen & (<uint32_t>1 << i):
            continue
        if i == KQ_symbol or (bbo and KQ_bid <= i <= KQ_ask_qty) or (
                not bbo and (KQ_last <= i <= KQ_volume or KQ_low <= i <= KQ_change)):
            _pend(pd, DEC_MISSING_FIELD, -1, _KQ_MISSING[i])
            return 0
    if pd.code != DEC_OK:
        return 0
    vsym.s = s[KQ_symbol]
    vsym.len = sym_len
    if bbo:
        vb.s = s[KQ_bid]
        vb.len = sl[KQ_bid]
        vbq.s = s[KQ_bid_qty]
        vbq.len = sl[KQ_bid_qty]
        va.s = s[KQ_ask]
        va.len = sl[KQ_ask]
        vaq.s = s[KQ_ask_qty]
        vaq.len = sl[KQ_ask_qty]
        if _q_bbo(b, &vsym, &vb, &vbq, &va, &vaq, -1, t_ns, SEG_UPDATE) != DEC_OK:
            return cur_fail(c, b.error, b.error_detail)
        return 0
    q = _q_ticker(b, &vsym, t_ns, SEG_UPDATE)
    if q == NULL:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, "too many segments")
    _kq_text(q, TK_LAST, s[KQ_last], sl[KQ_last])
    _kq_text(q, TK_VOLUME, s[KQ_volume], sl[KQ_volume])
    _kq_text(q, TK_LOW, s[KQ_low], sl[KQ_low])
    _kq_text(q, TK_HIGH, s[KQ_high], sl[KQ_high])
    _kq_text(q, TK_CHANGE, s[KQ_change], sl[KQ_change])
    return 0


cdef inline int _kq_data(Cursor* c, DeltaBatch* b, Pending* pd, bint bbo) noexcept nogil:
    cdef int rc
    if cur_peek(c) != b'[':
        _pend(pd, DEC_WRONG_TYPE, c.i, _KQ_DATA_WRONG)
        return cur_skip_value(c, 0)
    c.i += 1
    if cur_peek(c) == b']':
        c.i += 1
        return 0
    while True:
        if cur_peek(c) == b'{':
            if _kq_element(c, b, pd, bbo) < 0:
                return -1
        else:
            _pend(pd, DEC_WRONG_TYPE, c.i, _KQ_DATA_WRONG)
            if cur_skip_value(c, 0) < 0:
                return -1
        rc = cur_next(c, b']')
        if rc < 0:
            return -1
        if rc == 0:
            return 0


cdef int _kq_ticker_data(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    return _kq_data(c, b, pd, False)


cdef int _kq_bbo_data(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    return _kq_data(c, b, pd, True)


cdef int _kq_decode(const char* p, Py_ssize_t n, DeltaBatch* b, bint bbo) noexcept nogil:
    cdef Pending pd
    cdef bint snap = False
    cdef Py_ssize_t i
    cdef int rc = _kr_top(p, n, b, "ticker", 6, _kq_bbo_data if bbo else _kq_ticker_data,
                          &snap, &pd)
    if rc != DEC_OK or b.msg_kind != MSG_NONE:
        return rc
    for i in range(b.n_segs):
        b.segs[i].kind = SEG_SNAPSHOT if snap else SEG_UPDATE
    b.event_time_ns = b.segs[b.n_segs - 1].event_time_ns if b.n_segs > 0 else 0
    b.msg_kind = MSG_BBO if bbo else MSG_TICKER
    return DEC_OK


cdef int decode_kraken_ticker(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Kraken v2 ``ticker`` → MSG_TICKER, one segment per ``data`` element (last, volume,
    low, high, change; ``timestamp`` when present); method replies and errors as the
    book decoder says, other channels → MSG_IGNORED (_kr_top)."""
    return _kq_decode(p, n, b, False)


cdef int decode_kraken_bbo(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Kraken v2 ``ticker`` → MSG_BBO, one segment per ``data`` element (bid, bid_qty,
    ask, ask_qty; no update id); the rest as the ticker decoder."""
    return _kq_decode(p, n, b, True)


_register("kraken-ticker", decode_kraken_ticker)
_register("kraken-bbo", decode_kraken_bbo)


# -- the Kraken stream decoder (parse/streams.pxi) --------------------------------------

cdef DecodeFn _KRAKEN_CHANNELS[4]
_KRAKEN_CHANNELS[0] = decode_kraken
_KRAKEN_CHANNELS[1] = decode_kraken_trades
_KRAKEN_CHANNELS[2] = decode_kraken_ticker
_KRAKEN_CHANNELS[3] = decode_kraken_candles     # kraken_candles.pxi


cdef int decode_kraken_stream(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Kraken v2, any channel, by ``channel`` when it comes first (as the venue sends
    it): ``trade`` to the trade decoder, ``ticker`` to the ticker decoder (the router
    reads its best bid/offer with the BBO decoder: ``Venue.bbo_in_ticker``), ``ohlc``
    to the candle decoder, ``book``,
    ``heartbeat``, ``status`` to the book decoder; another key order: each decoder in
    turn."""
    if _head_is(p, n, '{"channel":"', 12):
        if _value_is(p, n, 12, "trade", 5):
            return _as_channel(decode_kraken_trades(p, n, b), b, MSG_TRADES)
        if _value_is(p, n, 12, "ticker", 6):
            return _as_channel(decode_kraken_ticker(p, n, b), b, MSG_TICKER)
        if _value_is(p, n, 12, "ohlc", 4):
            return _as_channel(decode_kraken_candles(p, n, b), b, MSG_CANDLES)
        if (_value_is(p, n, 12, "book", 4) or _value_is(p, n, 12, "heartbeat", 9)
                or _value_is(p, n, 12, "status", 6)):
            return decode_kraken(p, n, b)
    return _first_taker(p, n, b, _KRAKEN_CHANNELS, 4)


_register("kraken-stream", decode_kraken_stream)
