# Included by _parse.pyx after okx_trades.pxi. OKX v5 public `tickers` (docs/venues.md,
# "OKX"): {"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT",
# "instId":"BTC-USDT","last":"9999.99","lastSz":"0.1","askPx":..,"askSz":..,"bidPx":..,
# "bidSz":..,"open24h":..,"high24h":..,"low24h":..,"volCcy24h":..,"vol24h":..,
# "sodUtc0":..,"sodUtc8":..,"ts":"1597026383085"}]}, keys in any order, read through the
# quote field tables (parse/quotes.pxi). One segment per `data` element, the symbol the
# `arg` instId. Volumes: SPOT/MARGIN `vol24h` is base and `volCcy24h` quote; on
# derivatives `vol24h` is contracts and `volCcy24h` base, so the base volume is
# `volCcy24h` and the quote volume is absent.

cdef enum:
    OQ_arg = 0
    OQ_data = 1
    OQ_event = 2
    OQA_channel = 0
    OQA_instId = 1
    OQT_ts = 0
    OQT_instType = 1
    OQT_last = 2
    OQT_lastSz = 3
    OQT_open = 4
    OQT_high = 5
    OQT_low = 6
    OQT_vol = 7
    OQT_volCcy = 8

cdef QTable _OQ_TOP
cdef QTable _OQ_ARG
cdef QTable _OQ_TICKER
_qtable(&_OQ_TOP, "field", ("arg", "data", "event"), ("arg", "data"))
_qtable(&_OQ_ARG, "field", ("channel", "instId"))
# every field the venue documents is known (only the first nine are read)
_qtable(&_OQ_TICKER, "field", ("ts", "instType", "last", "lastSz", "open24h", "high24h",
                               "low24h", "vol24h", "volCcy24h", "instId", "askPx", "askSz",
                               "bidPx", "bidSz", "sodUtc0", "sodUtc8"))

cdef const char* _OQ_TS_WRONG = ("field 'ts' has the wrong type "
                                 "(expected a string of integer milliseconds)")
cdef const char* _OQ_DATA_EMPTY = "field 'data' is an empty array"


cdef int _oq_ms(DeltaBatch* b, const QVal* v, int64_t* ns) noexcept nogil:
    """``ts``: a plain string of 1..18 digits (ms) whose ns fit int64. DEC_OK or a failure."""
    cdef Py_ssize_t i
    cdef int64_t ms = 0
    cdef unsigned int d
    if v.kind != QK_STR or v.len < 1 or v.len > 18:
        return _fail_batch(b, DEC_WRONG_TYPE, v.at, _OQ_TS_WRONG)
    for i in range(v.len):
        d = <unsigned int>(<unsigned char>v.s[i]) - 48u
        if d > 9u:
            return _fail_batch(b, DEC_WRONG_TYPE, v.at, _OQ_TS_WRONG)
        ms = ms * 10 + d
    if not _ns_from_ms_ok(ms):
        return _fail_batch(b, DEC_OVERFLOW, v.at, "field 'ts' out of range")
    ns[0] = ms * 1000000
    return DEC_OK


cdef int _oq_head(Cursor* c, DeltaBatch* b, QVal* top, QVal* arg, const char* channel,
                  Py_ssize_t channel_len, bint prefix=False) noexcept nogil:
    """The envelope: ``pong`` and events (control, ``error`` a venue error), ``arg``
    (channel, instId). DEC_OK with ``b.msg_kind`` set for a message that is not of
    ``channel`` (with ``prefix``: whose channel does not start with it); -1 (go on: the
    cursor at the first ``data`` element) for one of ``channel``; else a failure."""
    cdef const QTable* t = &_OQ_TOP
    cdef int rc
    if c.n == 4 and memcmp(c.p, b"pong", 4) == 0:
        b.msg_kind = MSG_CONTROL        # the answer to our text `ping`
        return DEC_OK
    if _q_object(c, t, top) < 0 or _end_of_payload(c) < 0:
        return _fail_cursor(b, c)
    if top[OQ_event].kind != QK_ABSENT:
        if top[OQ_event].kind != QK_STR and top[OQ_event].kind != QK_ESC:
            return _fail_batch(b, DEC_WRONG_TYPE, top[OQ_event].at, t.wrong_str[OQ_event])
        if _span_is(top[OQ_event].s, top[OQ_event].len, "error", 5):
            b.msg_kind = MSG_VENUE_ERROR
        else:
            b.msg_kind = MSG_CONTROL
        return DEC_OK
    if top[OQ_arg].kind == QK_ABSENT:
        return _missing(b, t.missing[OQ_arg])
    if top[OQ_arg].kind != QK_OBJ:
        return _fail_batch(b, DEC_WRONG_TYPE, top[OQ_arg].at, t.wrong_obj[OQ_arg])
    c.i = top[OQ_arg].at
    if _q_object(c, &_OQ_ARG, arg) < 0:
        return _fail_cursor(b, c)
    if _q_str(b, &_OQ_ARG, arg, OQA_channel, True) < 0:
        return b.error
    if not (_span_is(arg[OQA_channel].s, arg[OQA_channel].len, channel, channel_len) or (
            prefix and arg[OQA_channel].len > channel_len
            and memcmp(arg[OQA_channel].s, channel, <size_t>channel_len) == 0)):
        b.msg_kind = MSG_IGNORED        # books, trades, other channels
        return DEC_OK
    if _q_sym(b, &_OQ_ARG, arg, OQA_instId) < 0:
        return b.error
    if top[OQ_data].kind == QK_ABSENT:
        return _missing(b, t.missing[OQ_data])
    if top[OQ_data].kind != QK_ARR:
        return _fail_batch(b, DEC_WRONG_TYPE, top[OQ_data].at, t.wrong_arr[OQ_data])
    c.i = top[OQ_data].at + 1
    if cur_peek(c) == b']':
        return _fail_batch(b, DEC_WRONG_TYPE, top[OQ_data].at, _OQ_DATA_EMPTY)
    return -1


cdef int decode_okx_ticker(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """OKX ``tickers`` → MSG_TICKER, one segment per ``data`` element (last, lastSz,
    open24h, high24h, low24h, the volumes by ``instType``; time ``ts``); other channels
    → MSG_IGNORED; ``pong`` and events → MSG_CONTROL, an ``error`` event →
    MSG_VENUE_ERROR. Checked in order: arg, channel, instId, data, then per element ts
    instType last lastSz open24h high24h low24h vol24h volCcy24h."""
    cdef Cursor c
    cdef QVal top[Q_MAX_FIELDS]
    cdef QVal arg[Q_MAX_FIELDS]
    cdef QVal v[Q_MAX_FIELDS]
    cdef const QTable* t = &_OQ_TICKER
    cdef Quote* q
    cdef int rc, i
    cdef int64_t t_ns = 0
    cdef bint spot
    batch_reset(b)
    cur_init(&c, p, n)
    rc = _oq_head(&c, b, top, arg, "tickers", 7)
    if rc >= 0:
        return rc
    while True:
        if cur_peek(&c) != b'{':
            return _fail_batch(b, DEC_WRONG_TYPE, c.i, _OQ_TOP.wrong_arr[OQ_data])
        if _q_object(&c, t, v) < 0:
            return _fail_cursor(b, &c)
        if _q_str(b, t, v, OQT_ts, True) < 0:
            return b.error
        rc = _oq_ms(b, &v[OQT_ts], &t_ns)
        if rc != DEC_OK:
            return rc
        if _q_str(b, t, v, OQT_instType, True) < 0:
            return b.error
        for i in range(OQT_last, OQT_volCcy + 1):
            if _q_str(b, t, v, i, True) < 0:
                return b.error
        spot = (_span_is(v[OQT_instType].s, v[OQT_instType].len, "SPOT", 4)
                or _span_is(v[OQT_instType].s, v[OQT_instType].len, "MARGIN", 6))
        q = _q_ticker(b, &arg[OQA_instId], t_ns, SEG_UPDATE)
        if q == NULL:
            return b.error
        _q_text(q, TK_LAST, &v[OQT_last])
        _q_text(q, TK_LAST_SIZE, &v[OQT_lastSz])
        _q_text(q, TK_OPEN, &v[OQT_open])
        _q_text(q, TK_HIGH, &v[OQT_high])
        _q_text(q, TK_LOW, &v[OQT_low])
        if spot:
            _q_text(q, TK_VOLUME, &v[OQT_vol])
            _q_text(q, TK_QUOTE_VOLUME, &v[OQT_volCcy])
        else:
            _q_text(q, TK_VOLUME, &v[OQT_volCcy])
        rc = cur_next(&c, b']')
        if rc < 0:
            return _fail_cursor(b, &c)
        if rc == 0:
            break
    b.msg_kind = MSG_TICKER
    b.event_time_ns = t_ns
    return DEC_OK


_register("okx-ticker", decode_okx_ticker)


# OKX v5 public `bbo-tbt` (docs/venues.md, "OKX"): {"arg":{"channel":"bbo-tbt",
# "instId":"BCH-USDT-SWAP"},"data":[{"asks":[["111.06","55154","0","2"]],"bids":[["111.05",
# "57745","0","2"]],"ts":"1670324386802","seqId":363996337}]}: one level a side,
# [price, size, "0" (deprecated), order count], every message a whole L1 snapshot.

cdef enum:
    OQB_ts = 0
    OQB_seqId = 1
    OQB_bids = 2
    OQB_asks = 3

cdef QTable _OQ_BBO
_qtable(&_OQ_BBO, "field", ("ts", "seqId", "bids", "asks", "instId", "checksum",
                            "prevSeqId"))

cdef const char* _OQ_BIDS_WRONG = ("field 'bids' has the wrong type "
                                   "(expected one [price, size, \"0\", count] level)")
cdef const char* _OQ_ASKS_WRONG = ("field 'asks' has the wrong type "
                                   "(expected one [price, size, \"0\", count] level)")


cdef int _oq_level(Cursor* c, DeltaBatch* b, const QVal* side, QVal* price, QVal* size,
                   const char* wrong) noexcept nogil:
    """``[[price, size, "0", count]]`` (four strings, one level) at ``side``'s offset
    (validated JSON): the price and size spans. DEC_OK or a failure."""
    cdef int j
    cdef QVal v
    if side.kind != QK_ARR:
        return _fail_batch(b, DEC_WRONG_TYPE, side.at, wrong)
    c.i = side.at + 1
    if cur_peek(c) != b'[':
        return _fail_batch(b, DEC_WRONG_TYPE, side.at, wrong)
    c.i += 1
    for j in range(4):
        if j > 0:
            if cur_peek(c) != b',':
                return _fail_batch(b, DEC_WRONG_TYPE, side.at, wrong)
            c.i += 1
        if cur_peek(c) != b'"' or _q_value(c, &v, False) < 0:
            return _fail_batch(b, DEC_WRONG_TYPE, side.at, wrong)
        if j == 0:
            price[0] = v
        elif j == 1:
            size[0] = v
    if cur_peek(c) != b']':
        return _fail_batch(b, DEC_WRONG_TYPE, side.at, wrong)
    c.i += 1
    if cur_peek(c) != b']':
        return _fail_batch(b, DEC_WRONG_TYPE, side.at, wrong)
    return DEC_OK


cdef int decode_okx_bbo(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """OKX ``bbo-tbt`` → MSG_BBO, one segment per ``data`` element (one bid and one ask
    level; update id ``seqId`` when present, else -1; time ``ts``); the rest as the ticker
    decoder. Checked in order: arg, channel, instId, data, then per element ts seqId
    bids asks."""
    cdef Cursor c
    cdef QVal top[Q_MAX_FIELDS]
    cdef QVal arg[Q_MAX_FIELDS]
    cdef QVal v[Q_MAX_FIELDS]
    cdef QVal bid, bid_size, ask, ask_size
    cdef const QTable* t = &_OQ_BBO
    cdef Py_ssize_t resume
    cdef int rc
    cdef int64_t t_ns = 0
    cdef int64_t seq = -1
    batch_reset(b)
    cur_init(&c, p, n)
    rc = _oq_head(&c, b, top, arg, "bbo-tbt", 7)
    if rc >= 0:
        return rc
    while True:
        if cur_peek(&c) != b'{':
            return _fail_batch(b, DEC_WRONG_TYPE, c.i, _OQ_TOP.wrong_arr[OQ_data])
        if _q_object(&c, t, v) < 0:
            return _fail_cursor(b, &c)
        resume = c.i
        if _q_str(b, t, v, OQB_ts, True) < 0:
            return b.error
        rc = _oq_ms(b, &v[OQB_ts], &t_ns)
        if rc != DEC_OK:
            return rc
        rc = _q_int(b, t, v, OQB_seqId, False, 0, MAX_UPDATE_ID)
        if rc < 0:
            return b.error
        seq = v[OQB_seqId].v if rc == 1 else -1
        if v[OQB_bids].kind == QK_ABSENT:
            return _missing(b, t.missing[OQB_bids])
        rc = _oq_level(&c, b, &v[OQB_bids], &bid, &bid_size, _OQ_BIDS_WRONG)
        if rc != DEC_OK:
            return rc
        if v[OQB_asks].kind == QK_ABSENT:
            return _missing(b, t.missing[OQB_asks])
        rc = _oq_level(&c, b, &v[OQB_asks], &ask, &ask_size, _OQ_ASKS_WRONG)
        if rc != DEC_OK:
            return rc
        rc = _q_bbo(b, &arg[OQA_instId], &bid, &bid_size, &ask, &ask_size, seq, t_ns,
                    SEG_UPDATE)
        if rc != DEC_OK:
            return rc
        c.i = resume
        rc = cur_next(&c, b']')
        if rc < 0:
            return _fail_cursor(b, &c)
        if rc == 0:
            break
    b.msg_kind = MSG_BBO
    b.last_id = seq
    b.event_time_ns = t_ns
    return DEC_OK


_register("okx-bbo", decode_okx_bbo)
