# Included by _parse.pyx (last: the candle decoder the Kraken stream decoder in
# kraken_quotes.pxi calls). Kraken WebSocket v2 `ohlc` (docs/venues.md, "Kraken candles"):
# {"channel":"ohlc","type":"snapshot"|"update","timestamp":"...","data":[{"symbol":
# "ALGO/USD","open":0.09875,"high":0.09875,"low":0.09875,"close":0.09875,"trades":1,
# "volume":201.86015,"vwap":0.09875,"interval_begin":"2023-10-04T15:25:00.000000000Z",
# "interval":5,"timestamp":"2023-10-04T15:30:00.000000Z"},...]}, keys in any order.
# One Candle per `data` element, one segment per run of one symbol and interval. Values
# are bare JSON numbers (exponent allowed, converted exactly by convert_candle's
# parse_text); `vwap` is type-checked, not read (a rounded average: no exact quote
# volume); the per-candle `timestamp` (the bar end, deprecated) is not read. No closed
# flag: a bar is final when a later `interval_begin` arrives (closed -1, as Coinbase's).

#: Kraken `ohlc` intervals fastfeed takes: (fastfeed's name, the wire's minutes)
KRAKEN_CANDLE_MINUTES = (("1m", 1), ("5m", 5), ("15m", 15), ("30m", 30), ("1h", 60),
                         ("4h", 240), ("1d", 1440), ("1w", 10080), ("15d", 21600))

cdef enum:
    KC_N_INTERVALS = 9
    KC_symbol = 0
    KC_open = 1
    KC_high = 2
    KC_low = 3
    KC_close = 4
    KC_volume = 5
    KC_vwap = 6
    KC_trades = 7
    KC_interval_begin = 8
    KC_interval = 9
    KC_timestamp = 10
    KC_N = 11

cdef const char* _KC_NAME[KC_N_INTERVALS]
cdef Py_ssize_t _KC_NAME_LEN[KC_N_INTERVALS]
cdef int64_t _KC_MINUTES[KC_N_INTERVALS]
for _i, (_name, _minutes) in enumerate(KRAKEN_CANDLE_MINUTES):
    _KC_NAME[_i] = _qtext(_name)
    _KC_NAME_LEN[_i] = len(_name)
    _KC_MINUTES[_i] = _minutes

cdef tuple _KC_FIELDS = (b"symbol", b"open", b"high", b"low", b"close", b"volume", b"vwap",
                         b"trades", b"interval_begin", b"interval", b"timestamp")
cdef const char* _KC_KEY[KC_N]
cdef Py_ssize_t _KC_KEY_LEN[KC_N]
cdef const char* _KC_WRONG[KC_N]
cdef const char* _KC_MISSING[KC_N]
cdef list _KC_TEXTS = []


cdef void _kc_texts():
    cdef int i
    for i in range(KC_N):
        _KC_KEY[i] = <const char*>_KC_FIELDS[i]
        _KC_KEY_LEN[i] = len(_KC_FIELDS[i])
        name = (<bytes>_KC_FIELDS[i]).decode()
        if i in (KC_symbol, KC_interval_begin, KC_timestamp):
            expected = "string"
        elif i in (KC_trades, KC_interval):
            expected = "integer"
        else:
            expected = "number"
        w = f"field '{name}' has the wrong type (expected {expected})".encode()
        m = f"field '{name}' missing".encode()
        _KC_TEXTS.append(w)
        _KC_TEXTS.append(m)
        _KC_WRONG[i] = <const char*>w
        _KC_MISSING[i] = <const char*>m


_kc_texts()

cdef const char* _KC_DATA_WRONG = ("field 'data' has the wrong type "
                                   "(expected an array of candle objects)")


cdef int _kc_element(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """One ``data`` object (the cursor at its '{') as one Candle; a field problem, or a
    required field missing (in table order), is pended. 0, or -1 (cursor failed)."""
    cdef KeySet ks
    cdef const char* k
    cdef Py_ssize_t kl, at
    cdef const char* s[11]
    cdef int32_t sl[11]
    cdef const char* ts
    cdef Py_ssize_t ts_len
    cdef Py_ssize_t sym_len = 0
    cdef int rc, i, f
    cdef int iv = -1
    cdef uint32_t seen = 0
    cdef int64_t v = 0
    cdef int64_t trades = -1
    cdef int64_t begin_ns = 0
    cdef int64_t span_ns
    cdef Delta* d
    cdef Candle* cd
    ks.n = 0
    for i in range(KC_N):
        s[i] = NULL
        sl[i] = 0
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            f = KC_N
            for i in range(KC_N):
                if key_is(k, kl, _KC_KEY[i], _KC_KEY_LEN[i]):
                    f = i
                    break
            if f < KC_N and seen & (<uint32_t>1 << f):
                return _dup(c)
            if f < KC_N:
                seen |= <uint32_t>1 << f
            rc = 0
            if f == KC_symbol:
                rc = _sym_field(c, &s[KC_symbol], &sym_len, pd, _KC_WRONG[KC_symbol],
                                "field 'symbol' contains an escape (symbols must be plain "
                                "strings)", "field 'symbol' is not valid UTF-8")
            elif f == KC_interval_begin or f == KC_timestamp:
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &ts, &ts_len, pd, _KC_WRONG[f])
                if rc == 0 and f == KC_interval_begin and parse_rfc3339_ns(
                        ts, ts_len, &begin_ns) < 0:
                    _pend(pd, DEC_BAD_TIMESTAMP, at,
                          "field 'interval_begin' is not an RFC 3339 timestamp")
            elif f == KC_trades or f == KC_interval:
                cur_peek(c)
                at = c.i
                rc = _int_field(c, &v, pd, _KC_WRONG[f],
                                "field 'trades' out of range (expected 0..2**62)"
                                if f == KC_trades else
                                "field 'interval' is not an interval fastfeed knows")
                if rc == 0 and f == KC_trades:
                    if 0 <= v <= MAX_UPDATE_ID:
                        trades = v
                    else:
                        _pend(pd, DEC_OVERFLOW, at,
                              "field 'trades' out of range (expected 0..2**62)")
                elif rc == 0:
                    for i in range(KC_N_INTERVALS):
                        if _KC_MINUTES[i] == v:
                            iv = i
                            break
                    if iv < 0:
                        _pend(pd, DEC_UNKNOWN_MESSAGE, at,
                              "field 'interval' is not an interval fastfeed knows")
            elif f < KC_N:
                rc = _kr_number(c, &s[f], &sl[f], pd, _KC_WRONG[f])
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
    # the required fields, in table order (vwap, trades and timestamp are optional)
    for i in range(KC_N):
        if seen & (<uint32_t>1 << i) or i == KC_vwap or i == KC_trades or i == KC_timestamp:
            continue
        _pend(pd, DEC_MISSING_FIELD, -1, _KC_MISSING[i])
        return 0
    if pd.code != DEC_OK:
        return 0
    span_ns = _KC_MINUTES[iv] * <int64_t>60 * <int64_t>1000000000
    if begin_ns > INT64_MAX - span_ns:
        _pend(pd, DEC_OVERFLOW, -1, "field 'interval_begin' out of range")
        return 0
    cd = batch_next_candle(b, &d)
    if cd == NULL:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, "too many candles")
    memset(cd, 0, sizeof(Candle))
    cd.trades = trades
    cd.first_id = cd.last_id = -1
    cd.symbol_ptr = s[KC_symbol]
    cd.symbol_len = <int32_t>sym_len
    cd.interval_ptr = _KC_NAME[iv]          # fastfeed's name of the wire's minutes
    cd.interval_len = <int32_t>_KC_NAME_LEN[iv]
    cd.open_ptr, cd.open_len = s[KC_open], sl[KC_open]
    cd.high_ptr, cd.high_len = s[KC_high], sl[KC_high]
    cd.low_ptr, cd.low_len = s[KC_low], sl[KC_low]
    cd.close_ptr, cd.close_len = s[KC_close], sl[KC_close]
    cd.volume_ptr, cd.volume_len = s[KC_volume], sl[KC_volume]
    cd.quote_ptr = NULL                     # none: vwap is rounded
    cd.open_ns = begin_ns
    cd.close_ns = begin_ns + span_ns
    cd.closed = -1                          # no flag: a later interval_begin closes it
    d.price_ptr = cd.close_ptr
    d.price_len = cd.close_len
    d.size_ptr = cd.volume_ptr
    d.size_len = cd.volume_len
    d.price = d.size = 0                    # no pre-parse: phase 2 reads the text
    d.side = SIDE_BID
    return 0


cdef int _kc_data(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """The ``data`` value: an array whose objects are Candles (a non-object, or another
    type than an array, pended). 0, or -1 (cursor failed)."""
    cdef int rc
    if cur_peek(c) != b'[':
        _pend(pd, DEC_WRONG_TYPE, c.i, _KC_DATA_WRONG)
        return cur_skip_value(c, 0)
    c.i += 1
    if cur_peek(c) == b']':
        c.i += 1
        return 0
    while True:
        if cur_peek(c) == b'{':
            if _kc_element(c, b, pd) < 0:
                return -1
        else:
            _pend(pd, DEC_WRONG_TYPE, c.i, _KC_DATA_WRONG)
            if cur_skip_value(c, 0) < 0:
                return -1
        rc = cur_next(c, b']')
        if rc < 0:
            return -1
        if rc == 0:
            return 0


cdef inline bint _kc_same(const Candle* a, const Candle* b) noexcept nogil:
    return (a.symbol_len == b.symbol_len and a.interval_ptr == b.interval_ptr
            and memcmp(a.symbol_ptr, b.symbol_ptr, <size_t>a.symbol_len) == 0)


cdef int decode_kraken_candles(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Kraken v2 ``ohlc`` → MSG_CANDLES, one Candle per ``data`` element (closed -1: the
    venue has no flag), one segment per run of one symbol and interval (``snapshot``:
    the recent bars sent on subscribe); method replies and errors as the book decoder
    says, other channels → MSG_IGNORED (_kr_top)."""
    cdef Pending pd
    cdef bint snap = False
    cdef Py_ssize_t i, j
    cdef Segment* seg
    cdef int rc = _kr_top(p, n, b, "ohlc", 4, _kc_data, &snap, &pd)
    if rc != DEC_OK or b.msg_kind != MSG_NONE:
        return rc
    i = 0
    while i < b.n_levels:
        j = i + 1
        while j < b.n_levels and _kc_same(&b.candles[j], &b.candles[i]):
            j += 1
        seg = batch_next_seg(b)
        if seg == NULL:
            return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
        seg.symbol_ptr = b.candles[i].symbol_ptr
        seg.symbol_len = b.candles[i].symbol_len
        seg.kind = SEG_SNAPSHOT if snap else SEG_UPDATE
        seg.start = i
        seg.count = j - i
        seg.event_time_ns = 0
        i = j
    b.msg_kind = MSG_CANDLES
    return DEC_OK


_register("kraken-candles", decode_kraken_candles)
