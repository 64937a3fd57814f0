# Included by _parse.pyx after quotes.pxi and bybit.pxi. Bybit v5 tickers (docs/venues.md,
# "Bybit tickers"): {"topic":"tickers.BTCUSDT","type":"snapshot"|"delta","ts":N,"cs":N,
# "data":{"symbol":..,"lastPrice":..,"highPrice24h":..,"lowPrice24h":..,"prevPrice24h":..,
# "volume24h":..,"turnover24h":..,...}}, keys in any order. Spot sends snapshots only;
# linear a snapshot, then deltas carrying only the fields that changed (the ticker core
# merges them: _quotes.pyx, TickerCore). The venue BBO: orderbook.1.{symbol}, the 1-level
# book (snapshot-only), read by the book decoder and turned into one BBO.

cdef enum:
    BYQ_topic = 0
    BYQ_type = 1
    BYQ_ts = 2
    BYQ_cs = 3
    BYQ_data = 4
    BYQ_success = 5
    BYQ_op = 6
    BYQT_symbol = 0
    BYQT_last = 1
    BYQT_high = 2
    BYQT_low = 3
    BYQT_prev = 4
    BYQT_volume = 5
    BYQT_turnover = 6

cdef QTable _BYQ_ENV
cdef QTable _BYQ_TICKER
_qtable(&_BYQ_ENV, "field", ("topic", "type", "ts", "cs", "data", "success", "op"), ("data",))
_qtable(&_BYQ_TICKER, "ticker field",
        ("symbol", "lastPrice", "highPrice24h", "lowPrice24h", "prevPrice24h", "volume24h",
         "turnover24h"))

# the ticker texts the data fields fill, by BYQT_* index (1..6)
cdef int _BYQT_TEXT[7]
_BYQT_TEXT[:] = [-1, TK_LAST, TK_HIGH, TK_LOW, TK_OPEN, TK_VOLUME, TK_QUOTE_VOLUME]


cdef int _byq_envelope(Cursor* c, const char* p, Py_ssize_t n, DeltaBatch* b, QVal* v,
                       QVal* dv, const char* prefix, Py_ssize_t prefix_len,
                       bint data_array=False) noexcept nogil:
    """The envelope of a Bybit quote message in ``v`` (``data`` read into ``dv`` with the
    ticker table). 1: a message of the topic ``prefix``, to decode further; 0: decided
    here (``b.msg_kind`` set: an ack, a pong, an error, another topic); -1: failed.
    ``data_array``: ``data`` must be an array instead (kline: bybit_candles.pxi), left
    for the caller to read from ``v[BYQ_data].at``."""
    cdef const QTable* t = &_BYQ_ENV
    batch_reset(b)
    cur_init(c, p, n)
    if _q_object(c, t, v, &_BYQ_TICKER, dv) < 0 or _end_of_payload(c) < 0:
        _fail_cursor(b, c)
        return -1
    if v[BYQ_topic].kind == QK_ABSENT:
        # not a stream message: an ack, a pong or an error, as the book decoder reads them
        return -1 if decode_bybit(p, n, b) != DEC_OK else 0
    if _q_str(b, t, v, BYQ_topic, True) < 0:
        return -1
    if v[BYQ_topic].len < prefix_len or memcmp(v[BYQ_topic].s, prefix, <size_t>prefix_len) != 0:
        b.msg_kind = MSG_IGNORED        # another channel's topic (orderbook, publicTrade, ..)
        return 0
    if _q_str(b, t, v, BYQ_type, True) < 0:
        return -1
    if (_q_int(b, t, v, BYQ_ts, True, 0, Q_MS_MAX) < 0
            or _q_int(b, t, v, BYQ_cs, False, 0, MAX_UPDATE_ID) < 0):
        return -1
    if v[BYQ_data].kind == QK_ABSENT:
        _missing(b, t.missing[BYQ_data])
        return -1
    if data_array:
        if v[BYQ_data].kind != QK_ARR:
            _fail_batch(b, DEC_WRONG_TYPE, v[BYQ_data].at, t.wrong_arr[BYQ_data])
            return -1
    elif v[BYQ_data].kind != QK_OBJ:
        _fail_batch(b, DEC_WRONG_TYPE, v[BYQ_data].at, t.wrong_obj[BYQ_data])
        return -1
    b.event_time_ns = v[BYQ_ts].v * 1000000
    return 1


cdef int decode_bybit_ticker(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Bybit ``tickers.*`` → MSG_TICKER, one segment (``snapshot``: SEG_SNAPSHOT, a whole
    ticker; ``delta``: SEG_UPDATE, only the fields that changed: an absent field's text
    is NULL, an empty string ``""`` one of length 0 — no value). Checked in the order
    ``topic type ts cs data``, then ``symbol lastPrice highPrice24h lowPrice24h
    prevPrice24h volume24h turnover24h`` (strings; required in a snapshot, where ``""``
    is no value). ``ts`` (integer ms) is the exchange time; ``cs`` (optional) is checked
    but not read. Other topics → MSG_IGNORED; acks, pongs and errors as the book decoder
    reads them."""
    cdef Cursor c
    cdef QVal v[Q_MAX_FIELDS]
    cdef QVal dv[Q_MAX_FIELDS]
    cdef const QTable* t = &_BYQ_TICKER
    cdef Quote* q
    cdef bint snap
    cdef int i, rc
    rc = _byq_envelope(&c, p, n, b, v, dv, "tickers.", 8)
    if rc <= 0:
        return b.error if rc < 0 else DEC_OK
    snap = _span_is(v[BYQ_type].s, v[BYQ_type].len, "snapshot", 8)
    if not snap and not _span_is(v[BYQ_type].s, v[BYQ_type].len, "delta", 5):
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, v[BYQ_type].at,
                           "field 'type' is not 'snapshot' or 'delta'")
    if _q_sym(b, t, dv, BYQT_symbol) < 0:
        return b.error
    for i in range(BYQT_last, BYQT_turnover + 1):
        if _q_str(b, t, dv, i, snap) < 0:
            return b.error
    q = _q_ticker(b, &dv[BYQT_symbol], b.event_time_ns, SEG_SNAPSHOT if snap else SEG_UPDATE)
    if q == NULL:
        return b.error
    for i in range(BYQT_last, BYQT_turnover + 1):
        if dv[i].kind != QK_ABSENT and (dv[i].len > 0 or not snap):
            _q_text(q, _BYQT_TEXT[i], &dv[i])
    b.msg_kind = MSG_TICKER
    return DEC_OK


_register("bybit-ticker", decode_bybit_ticker)


cdef int decode_bybit_bbo(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Bybit ``orderbook.1.*`` (the 1-level book, snapshot-only) → MSG_BBO, one segment
    (bid Delta, ask Delta; an empty side is price and size ``0``): update id ``u``, time
    ``ts``. Read and checked by the book decoder first (the same errors); a ``delta`` on
    depth 1, or more than one level a side, is rejected. Other depths and topics →
    MSG_IGNORED; acks, pongs and errors as the book decoder reads them."""
    cdef bint one = False
    cdef Delta sides[2]
    cdef Delta* d
    cdef Segment* seg
    cdef Quote* q
    cdef const char* sym
    cdef int32_t sym_len
    cdef int64_t u, t
    cdef Py_ssize_t i
    cdef int k
    cdef int seen[2]
    cdef int rc = _decode_bybit_book(p, n, b, &one)
    if rc != DEC_OK or (b.msg_kind != MSG_SNAPSHOT and b.msg_kind != MSG_DEPTH):
        return rc
    if not one:
        b.n_levels = b.n_segs = 0
        b.first_id = b.last_id = -1
        b.event_time_ns = 0
        b.msg_kind = MSG_IGNORED        # a deeper book: not the BBO
        return DEC_OK
    if b.msg_kind == MSG_DEPTH:
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, -1,
                           "orderbook.1 is snapshot-only: a 'delta' is not a best bid/offer")
    for k in range(2):
        sides[k].price_ptr = sides[k].size_ptr = "0"
        sides[k].price_len = sides[k].size_len = 1
        sides[k].price = sides[k].size = 0
    seen[0] = seen[1] = 0
    for i in range(b.n_levels):
        k = 0 if b.levels[i].side == SIDE_BID else 1
        seen[k] += 1
        if seen[k] > 1:
            return _fail_batch(b, DEC_UNKNOWN_MESSAGE, -1,
                               "orderbook.1 has more than one level on a side")
        sides[k] = b.levels[i]
    sym = b.segs[0].symbol_ptr
    sym_len = b.segs[0].symbol_len
    u = b.last_id
    t = b.event_time_ns
    b.n_levels = b.n_segs = 0
    q = batch_next_quote(b, &seg)
    if q == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
    for k in range(2):
        d = batch_next_level(b)
        if d == NULL:
            return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "out of memory")
        d[0] = sides[k]
        d.side = SIDE_BID if k == 0 else SIDE_ASK
    q.update_id = u
    q.time_ns = t
    seg.symbol_ptr = sym
    seg.symbol_len = sym_len
    seg.kind = SEG_SNAPSHOT
    seg.start = 0
    seg.count = 2
    seg.event_time_ns = t
    b.msg_kind = MSG_BBO
    return DEC_OK


_register("bybit-bbo", decode_bybit_bbo)
