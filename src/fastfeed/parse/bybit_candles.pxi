# Included by _parse.pyx after bybit_quotes.pxi. Bybit v5 `kline.{interval}.{symbol}`
# (docs/venues.md, "Bybit candles"): {"topic":"kline.5.BTCUSDT","data":[{"start":
# 1672324800000,"end":1672325099999,"interval":"5","open":"16649.5","close":"16677",
# "high":"16677","low":"16608","volume":"2.081","turnover":"34666.4005","confirm":false,
# "timestamp":1672324988882}],"ts":1672324988882,"type":"snapshot"}, keys in any order.
# `start`/`end` are ms numbers (`end` the bar's last ms), `volume` base, `turnover`
# quote, `confirm` true on the bar's final update. Spot and linear alike.

cdef enum:
    BYK_start = 0
    BYK_end = 1
    BYK_interval = 2
    BYK_open = 3
    BYK_close = 4
    BYK_high = 5
    BYK_low = 6
    BYK_volume = 7
    BYK_turnover = 8
    BYK_confirm = 9
    BYK_timestamp = 10
    BYK_N_INTERVALS = 13

cdef QTable _BYK
_qtable(&_BYK, "kline field", ("start", "end", "interval", "open", "close", "high", "low",
                               "volume", "turnover", "confirm", "timestamp"))

# the interval names (the topic's middle part) and their lengths in ms; "M" (a calendar
# month) has no fixed length: its `end + 1 - start` must be 28..31 days
cdef tuple _BYK_INTERVALS = (("1", 60000), ("3", 180000), ("5", 300000), ("15", 900000),
                             ("30", 1800000), ("60", 3600000), ("120", 7200000),
                             ("240", 14400000), ("360", 21600000), ("720", 43200000),
                             ("D", 86400000), ("W", 604800000), ("M", 0))
#: Bybit kline intervals (the ``kline.{interval}`` names) fastfeed decodes
BYBIT_CANDLE_INTERVALS = tuple(name for name, _ in _BYK_INTERVALS)

cdef const char* _BYK_NAME[BYK_N_INTERVALS]
cdef Py_ssize_t _BYK_LEN[BYK_N_INTERVALS]
cdef int64_t _BYK_MS[BYK_N_INTERVALS]
for _i, (_name, _ms) in enumerate(_BYK_INTERVALS):
    _BYK_NAME[_i] = _qtext(_name)
    _BYK_LEN[_i] = len(_name)
    _BYK_MS[_i] = _ms

# the largest `start`/`end` whose ns, plus one more ms, fits int64
cdef int64_t _BYK_MAX_MS = 9223372036853
cdef int64_t _BYK_DAY_MS = 86400000


cdef int64_t _byk_interval_ms(const char* s, Py_ssize_t n) noexcept nogil:
    """The length of interval ``s`` in ms (0: a month); -1 for one fastfeed does not know."""
    cdef int i
    for i in range(BYK_N_INTERVALS):
        if _BYK_LEN[i] == n and memcmp(s, _BYK_NAME[i], <size_t>n) == 0:
            return _BYK_MS[i]
    return -1


cdef int _byk_candle(const char* p, Py_ssize_t n, DeltaBatch* b, const QVal* kv,
                     const char* iv, Py_ssize_t iv_len, int64_t iv_ms, const char* sym,
                     Py_ssize_t sym_len) noexcept nogil:
    """One ``data`` element (read into ``kv``) → one Candle; DEC_OK or a failure. Checked
    in the table's order (types), then ``end`` not before ``start``, ``interval`` the
    topic's, the bar's length."""
    cdef const QTable* t = &_BYK
    cdef int i
    cdef bint confirm
    cdef int64_t length
    cdef Delta* d
    cdef Candle* cd
    if (_q_int(b, t, kv, BYK_start, True, 0, _BYK_MAX_MS) < 0
            or _q_int(b, t, kv, BYK_end, True, 0, _BYK_MAX_MS) < 0):
        return b.error
    for i in range(BYK_interval, BYK_turnover + 1):
        if _q_str(b, t, kv, i, True) < 0:
            return b.error
    if kv[BYK_confirm].kind == QK_ABSENT:
        return _missing(b, t.missing[BYK_confirm])
    if kv[BYK_confirm].kind == QK_OTHER and _lit(p, kv[BYK_confirm].at, n, "true", 4):
        confirm = True
    elif kv[BYK_confirm].kind == QK_OTHER and _lit(p, kv[BYK_confirm].at, n, "false", 5):
        confirm = False
    else:
        return _fail_batch(b, DEC_WRONG_TYPE, kv[BYK_confirm].at,
                           "kline field 'confirm' has the wrong type (expected boolean)")
    if _q_int(b, t, kv, BYK_timestamp, False, 0, Q_MS_MAX) < 0:
        return b.error
    if kv[BYK_end].v < kv[BYK_start].v:
        return _fail_batch(b, DEC_ID_ORDER, kv[BYK_end].at,
                           "kline field 'end' is before 'start'")
    if not _span_is(kv[BYK_interval].s, kv[BYK_interval].len, iv, iv_len):
        return _fail_batch(b, DEC_MISPLACED_FIELD, kv[BYK_interval].at,
                           "kline field 'interval' differs from the topic's")
    length = kv[BYK_end].v + 1 - kv[BYK_start].v
    if (length != iv_ms if iv_ms > 0
            else not 28 * _BYK_DAY_MS <= length <= 31 * _BYK_DAY_MS):
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, kv[BYK_end].at,
                           "kline 'start'..'end' is not one interval long")
    cd = batch_next_candle(b, &d)
    if cd == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many candles")
    memset(cd, 0, sizeof(Candle))
    cd.trades = cd.first_id = cd.last_id = -1
    cd.symbol_ptr = sym
    cd.symbol_len = <int32_t>sym_len
    cd.interval_ptr = iv
    cd.interval_len = <int32_t>iv_len
    cd.open_ptr, cd.open_len = kv[BYK_open].s, <int32_t>kv[BYK_open].len
    cd.high_ptr, cd.high_len = kv[BYK_high].s, <int32_t>kv[BYK_high].len
    cd.low_ptr, cd.low_len = kv[BYK_low].s, <int32_t>kv[BYK_low].len
    cd.close_ptr, cd.close_len = kv[BYK_close].s, <int32_t>kv[BYK_close].len
    cd.volume_ptr, cd.volume_len = kv[BYK_volume].s, <int32_t>kv[BYK_volume].len
    cd.quote_ptr, cd.quote_len = kv[BYK_turnover].s, <int32_t>kv[BYK_turnover].len
    cd.open_ns = kv[BYK_start].v * 1000000
    cd.close_ns = (kv[BYK_end].v + 1) * 1000000
    cd.closed = 1 if confirm else 0
    d.price_ptr = cd.close_ptr
    d.price_len = cd.close_len
    d.size_ptr = cd.volume_ptr
    d.size_len = cd.volume_len
    d.price = d.size = 0            # no pre-parse: phase 2 reads the text
    d.side = SIDE_BID
    return DEC_OK


cdef int decode_bybit_candles(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Bybit ``kline.*`` → MSG_CANDLES, one Candle per ``data`` element, one segment (the
    topic's symbol; the interval is the topic's). Checked in order: the envelope as the
    ticker decoder reads it (``topic type ts cs``, ``data`` an array), the topic (no
    escape, a known interval, a symbol), ``type`` ``snapshot``, ``data`` not empty, then
    per element (_byk_candle). Other topics → MSG_IGNORED; acks, pongs and errors as the
    book decoder reads them."""
    cdef Cursor c
    cdef QVal v[Q_MAX_FIELDS]
    cdef QVal dv[Q_MAX_FIELDS]
    cdef QVal kv[Q_MAX_FIELDS]
    cdef const QTable* t = &_BYQ_ENV
    cdef const char* topic
    cdef const char* iv
    cdef const char* sym
    cdef Py_ssize_t tl, iv_len, sym_len, j
    cdef int64_t iv_ms
    cdef Segment* seg
    cdef int rc
    rc = _byq_envelope(&c, p, n, b, v, dv, "kline.", 6, True)
    if rc <= 0:
        return b.error if rc < 0 else DEC_OK
    if v[BYQ_topic].kind == QK_ESC:
        return _fail_batch(b, DEC_ESCAPED_STRING, v[BYQ_topic].at, t.escaped[BYQ_topic])
    topic = v[BYQ_topic].s
    tl = v[BYQ_topic].len
    j = 6
    while j < tl and topic[j] != b'.':
        j += 1
    iv = topic + 6
    iv_len = j - 6
    iv_ms = _byk_interval_ms(iv, iv_len) if j < tl else -1
    if iv_ms < 0:
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, v[BYQ_topic].at,
                           "field 'topic' is not kline.{interval}.{symbol} with an "
                           "interval fastfeed knows")
    sym = topic + j + 1
    sym_len = tl - j - 1
    if sym_len == 0:
        return _fail_batch(b, DEC_MISSING_FIELD, v[BYQ_topic].at,
                           "field 'topic' has no symbol")
    if not utf8_ok(sym, sym_len):
        return _fail_batch(b, DEC_BAD_UTF8, v[BYQ_topic].at, t.bad_utf8[BYQ_topic])
    if not _span_is(v[BYQ_type].s, v[BYQ_type].len, "snapshot", 8):
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, v[BYQ_type].at,
                           "field 'type' is not 'snapshot'")
    c.i = v[BYQ_data].at + 1
    if cur_peek(&c) == b']':
        return _fail_batch(b, DEC_WRONG_TYPE, v[BYQ_data].at, "field 'data' is an empty array")
    while True:
        if cur_peek(&c) != b'{':
            return _fail_batch(b, DEC_WRONG_TYPE, c.i, t.wrong_arr[BYQ_data])
        if _q_object(&c, &_BYK, kv) < 0:
            return _fail_cursor(b, &c)
        rc = _byk_candle(p, n, b, kv, iv, iv_len, iv_ms, sym, sym_len)
        if rc != DEC_OK:
            return rc
        rc = cur_next(&c, b']')
        if rc < 0:
            return _fail_cursor(b, &c)
        if rc == 0:
            break
    seg = batch_next_seg(b)
    if seg == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
    seg.symbol_ptr = sym
    seg.symbol_len = <int32_t>sym_len
    seg.kind = SEG_UPDATE
    seg.start = 0
    seg.count = b.n_levels
    seg.event_time_ns = b.event_time_ns
    b.msg_kind = MSG_CANDLES
    return DEC_OK


_register("bybit-candles", decode_bybit_candles)
