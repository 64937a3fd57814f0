# Included by _parse.pyx after okx_quotes.pxi. OKX v5 `candle<bar>` on the `/business`
# endpoint (docs/venues.md, "OKX"): {"arg":{"channel":"candle1m","instId":"BTC-USDT"},
# "data":[["1597026383085","8533.02","8553.74","8527.17","8548.26","45247","529.5858061",
# "5529.5858061","0"]]}: each candle 9 strings [ts (bar open, ms), o, h, l, c, vol,
# volCcy, volCcyQuote, confirm]. The base volume is `vol` on spot (an instId with one
# '-') and `volCcy` on derivatives (`vol` counts contracts there); the quote volume is
# `volCcyQuote`; `confirm` "1" closes the bar.

# the bar names fastfeed takes and their lengths in seconds (months are not fixed: not
# supported); `…utc` variants of 6H and longer have the same length
cdef tuple _OKC_BARS = (("1s", 1), ("1m", 60), ("3m", 180), ("5m", 300), ("15m", 900),
                        ("30m", 1800), ("1H", 3600), ("2H", 7200), ("4H", 14400),
                        ("6H", 21600), ("12H", 43200), ("1D", 86400), ("2D", 172800),
                        ("3D", 259200), ("5D", 432000), ("1W", 604800), ("6Hutc", 21600),
                        ("12Hutc", 43200), ("1Dutc", 86400), ("2Dutc", 172800),
                        ("3Dutc", 259200), ("5Dutc", 432000), ("1Wutc", 604800))
#: OKX candle intervals (the `candle<bar>` suffixes) fastfeed decodes
OKX_CANDLE_INTERVALS = tuple(name for name, _ in _OKC_BARS)

cdef enum:
    OKC_N_BARS = 23
cdef const char* _OKC_NAME[OKC_N_BARS]
cdef Py_ssize_t _OKC_LEN[OKC_N_BARS]
cdef int64_t _OKC_NS[OKC_N_BARS]
for _i, (_name, _secs) in enumerate(_OKC_BARS):
    _OKC_NAME[_i] = _qtext(_name)
    _OKC_LEN[_i] = len(_name)
    _OKC_NS[_i] = _secs * 1000000000

cdef const char* _OKC_WRONG = ("field 'data' has the wrong type "
                               "(expected arrays of 9 strings)")


cdef int64_t _okc_bar_ns(const char* s, Py_ssize_t n) noexcept nogil:
    """The length of bar ``s`` in ns; -1 for a bar fastfeed does not know."""
    cdef int i
    for i in range(OKC_N_BARS):
        if _OKC_LEN[i] == n and memcmp(s, _OKC_NAME[i], <size_t>n) == 0:
            return _OKC_NS[i]
    return -1


cdef int decode_okx_candles(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """OKX ``candle<bar>`` → MSG_CANDLES, one Candle per ``data`` element, one segment
    (the ``arg`` instId; the interval is the bar); other channels → MSG_IGNORED; ``pong``
    and events → MSG_CONTROL, an ``error`` event → MSG_VENUE_ERROR. Checked in order:
    arg, channel, instId, data, the bar (a known one), then per candle its shape, ts,
    confirm."""
    cdef Cursor c
    cdef QVal top[Q_MAX_FIELDS]
    cdef QVal arg[Q_MAX_FIELDS]
    cdef QVal v[9]
    cdef Delta* d
    cdef Candle* cd
    cdef Segment* seg
    cdef int rc, j
    cdef int64_t t_ns = 0
    cdef int64_t bar_ns
    cdef Py_ssize_t at, i, dashes = 0
    cdef const QVal* ch
    cdef const QVal* sym
    cdef bint spot
    batch_reset(b)
    cur_init(&c, p, n)
    rc = _oq_head(&c, b, top, arg, "candle", 6, True)
    if rc >= 0:
        return rc
    ch = &arg[OQA_channel]
    sym = &arg[OQA_instId]
    bar_ns = _okc_bar_ns(ch.s + 6, ch.len - 6)
    if bar_ns < 0:
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, ch.at,
                           "field 'channel' is not a candle bar fastfeed knows")
    for i in range(sym.len):
        dashes += sym.s[i] == b'-'
    spot = dashes == 1
    while True:
        at = c.i
        if cur_peek(&c) != b'[':
            return _fail_batch(b, DEC_WRONG_TYPE, at, _OKC_WRONG)
        c.i += 1
        for j in range(9):
            if j > 0:
                if cur_peek(&c) != b',':
                    return _fail_batch(b, DEC_WRONG_TYPE, at, _OKC_WRONG)
                c.i += 1
            if cur_peek(&c) != b'"' or _q_value(&c, &v[j], False) < 0:
                return _fail_batch(b, DEC_WRONG_TYPE, at, _OKC_WRONG)
        if cur_peek(&c) != b']':
            return _fail_batch(b, DEC_WRONG_TYPE, at, _OKC_WRONG)
        c.i += 1
        rc = _oq_ms(b, &v[0], &t_ns)
        if rc != DEC_OK:
            return rc
        if t_ns > INT64_MAX - bar_ns:
            return _fail_batch(b, DEC_OVERFLOW, v[0].at, "field 'ts' out of range")
        if v[8].kind != QK_STR or v[8].len != 1 or (v[8].s[0] != b'0' and v[8].s[0] != b'1'):
            return _fail_batch(b, DEC_WRONG_TYPE, v[8].at, "candle 'confirm' is not '0' or '1'")
        cd = batch_next_candle(b, &d)
        if cd == NULL:
            return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many candles")
        memset(cd, 0, sizeof(Candle))
        cd.trades = cd.first_id = cd.last_id = -1
        cd.symbol_ptr = sym.s
        cd.symbol_len = <int32_t>sym.len
        cd.interval_ptr = ch.s + 6
        cd.interval_len = <int32_t>(ch.len - 6)
        cd.open_ptr, cd.open_len = v[1].s, <int32_t>v[1].len
        cd.high_ptr, cd.high_len = v[2].s, <int32_t>v[2].len
        cd.low_ptr, cd.low_len = v[3].s, <int32_t>v[3].len
        cd.close_ptr, cd.close_len = v[4].s, <int32_t>v[4].len
        j = 5 if spot else 6
        cd.volume_ptr, cd.volume_len = v[j].s, <int32_t>v[j].len
        cd.quote_ptr, cd.quote_len = v[7].s, <int32_t>v[7].len
        cd.open_ns = t_ns
        cd.close_ns = t_ns + bar_ns
        cd.closed = 1 if v[8].s[0] == b'1' else 0
        d.price_ptr = cd.close_ptr
        d.price_len = cd.close_len
        d.size_ptr = cd.volume_ptr
        d.size_len = cd.volume_len
        d.price = d.size = 0            # no pre-parse: phase 2 reads the text
        d.side = SIDE_BID
        rc = cur_next(&c, b']')
        if rc < 0:
            return _fail_cursor(b, &c)
        if rc == 0:
            break
    seg = batch_next_seg(b)
    if seg == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
    seg.symbol_ptr = sym.s
    seg.symbol_len = <int32_t>sym.len
    seg.kind = SEG_UPDATE
    seg.start = 0
    seg.count = b.n_levels
    seg.event_time_ns = 0
    b.msg_kind = MSG_CANDLES
    return DEC_OK


_register("okx-candles", decode_okx_candles)
