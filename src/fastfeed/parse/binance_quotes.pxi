# Included by _parse.pyx. Binance best bid/offer and tickers, spot and USD-M, raw or
# combined-stream form (docs/venues.md, "Best bid/offer" and "Tickers"):
#   <symbol>@bookTicker  spot {"u","s","b","B","a","A"} (no "e", no time);
#                        USD-M adds "e":"bookTicker", "E", "T" (and "st", "ps": ignored)
#   <symbol>@ticker      {"e":"24hrTicker","E","s","p","c","Q","o","h","l","v","q","O",
#                        "C","F","L","n", ...}
#   <symbol>@miniTicker  {"e":"24hrMiniTicker","E","s","c","o","h","l","v","q"}

cdef enum:
    # BQ_NAMES order: event fields first (_BQ_N_EVENT of them), then the rest
    BQ_e = 0
    BQ_E = 1
    BQ_T = 2
    BQ_s = 3
    BQ_u = 4
    BQ_b = 5
    BQ_B = 6
    BQ_a = 7
    BQ_A = 8
    BQ_c = 9
    BQ_Q = 10
    BQ_o = 11
    BQ_h = 12
    BQ_l = 13
    BQ_v = 14
    BQ_q = 15
    BQ_p = 16
    BQ_O = 17
    BQ_C = 18
    BQ_F = 19
    BQ_L = 20
    BQ_n = 21
    _BQ_N_EVENT = 22
    BQ_code = 22
    BQ_result = 23
    BQ_id = 24
    BQ_data = 25

# the fields of Binance quote events, in their index order (reference/quotes.py: the same)
cdef tuple _BQ_FIELDS = ("e", "E", "T", "s", "u", "b", "B", "a", "A", "c", "Q", "o", "h",
                         "l", "v", "q", "p", "O", "C", "F", "L", "n")

cdef QTable _BQ_TOP                 # with "data" (the combined-stream envelope)
cdef QTable _BQ_INNER
_qtable(&_BQ_TOP, "field", _BQ_FIELDS + ("code", "result", "id", "data"),
        ("data",))
_qtable(&_BQ_INNER, "field", _BQ_FIELDS + ("code", "result", "id"))


cdef int _bq_event(const char* p, Py_ssize_t n, DeltaBatch* b, QVal* top,
                   QVal* inner, QVal** ev) noexcept nogil:
    """Read the payload and find its event object (``*ev``: top or, combined-stream,
    ``data``). DEC_OK or a failure."""
    cdef Cursor c
    cdef int i
    cur_init(&c, p, n)
    if _q_object(&c, &_BQ_TOP, top, &_BQ_INNER, inner) < 0 or _end_of_payload(&c) < 0:
        return _fail_cursor(b, &c)
    ev[0] = top
    if top[BQ_data].kind == QK_ABSENT:
        return DEC_OK
    if top[BQ_data].kind != QK_OBJ:
        return _fail_batch(b, DEC_WRONG_TYPE, top[BQ_data].at, _BQ_TOP.wrong_obj[BQ_data])
    for i in range(_BQ_N_EVENT):
        if top[i].kind != QK_ABSENT:
            return _fail_batch(b, DEC_MISPLACED_FIELD, -1,
                               "event field next to 'data' in a combined-stream envelope")
    ev[0] = inner
    return DEC_OK


cdef int _bq_type(DeltaBatch* b, const QVal* v) noexcept nogil:
    """The event type ``e`` must be a string when present. DEC_OK or a failure."""
    if v[BQ_e].kind != QK_STR and v[BQ_e].kind != QK_ESC:
        return _fail_batch(b, DEC_WRONG_TYPE, v[BQ_e].at, _BQ_INNER.wrong_str[BQ_e])
    return DEC_OK


cdef int _bq_not_event(DeltaBatch* b, const QVal* v, bint spot_bbo) noexcept nogil:
    """No ``e``: an error (``code``), a subscribe result (``result``/``id``); for the BBO
    decoder anything else is a spot bookTicker (-1 returned: go on), else ``e`` missing."""
    if v[BQ_code].kind != QK_ABSENT:
        b.msg_kind = MSG_VENUE_ERROR
        return DEC_OK
    if v[BQ_result].kind != QK_ABSENT or v[BQ_id].kind != QK_ABSENT:
        b.msg_kind = MSG_CONTROL
        return DEC_OK
    if spot_bbo:
        return -1
    return _missing(b, "field 'e' missing")


cdef int _bq_ignored(DeltaBatch* b, const QVal* v) noexcept nogil:
    if not utf8_ok(v[BQ_e].s, v[BQ_e].len):
        return _fail_batch(b, DEC_BAD_UTF8, v[BQ_e].at, "field 'e' is not valid UTF-8")
    b.msg_kind = MSG_IGNORED
    return DEC_OK


cdef int decode_binance_bbo(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Binance ``bookTicker`` (spot: no ``e``; USD-M: ``e`` "bookTicker", ``E``, ``T``)
    → MSG_BBO with one segment (bid Delta, ask Delta); ``last_id`` = ``u`` (the book
    update id); results → MSG_CONTROL, ``{"code":..}`` → MSG_VENUE_ERROR, other events
    → MSG_IGNORED. Checked in order: u s b B a A E (required with ``e``) T."""
    cdef QVal top[Q_MAX_FIELDS]
    cdef QVal inner[Q_MAX_FIELDS]
    cdef QVal* v
    cdef const QTable* t = &_BQ_INNER
    cdef int rc
    cdef int64_t e_ns = 0
    cdef bint usdm
    batch_reset(b)
    rc = _bq_event(p, n, b, top, inner, &v)
    if rc != DEC_OK:
        return rc
    usdm = v[BQ_e].kind != QK_ABSENT
    if usdm:
        rc = _bq_type(b, v)
        if rc != DEC_OK:
            return rc
        if not _span_is(v[BQ_e].s, v[BQ_e].len, "bookTicker", 10):
            return _bq_ignored(b, v)
    else:
        rc = _bq_not_event(b, v, True)
        if rc >= 0:
            return rc
    if (_q_int(b, t, v, BQ_u, True, 0, MAX_UPDATE_ID) < 0 or _q_sym(b, t, v, BQ_s) < 0
            or _q_str(b, t, v, BQ_b, True) < 0 or _q_str(b, t, v, BQ_B, True) < 0
            or _q_str(b, t, v, BQ_a, True) < 0 or _q_str(b, t, v, BQ_A, True) < 0
            or _q_int(b, t, v, BQ_E, usdm, Q_MS_MIN, Q_MS_MAX) < 0
            or _q_int(b, t, v, BQ_T, False, Q_MS_MIN, Q_MS_MAX) < 0):
        return b.error
    if v[BQ_E].kind == QK_INT:
        e_ns = v[BQ_E].v * 1000000
    rc = _q_bbo(b, &v[BQ_s], &v[BQ_b], &v[BQ_B], &v[BQ_a], &v[BQ_A], v[BQ_u].v, e_ns,
                SEG_UPDATE)
    if rc != DEC_OK:
        return rc
    b.msg_kind = MSG_BBO
    b.last_id = v[BQ_u].v
    b.event_time_ns = e_ns
    if v[BQ_T].kind == QK_INT:
        b.txn_time_ns = v[BQ_T].v * 1000000
    return DEC_OK


cdef int decode_binance_ticker(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Binance ``24hrTicker`` / ``24hrMiniTicker`` (spot and USD-M) → MSG_TICKER with one
    segment; results, errors and other events as the BBO decoder. Checked in order:
    E s c Q o h l p v q O C F L n (Q p O C F L n: the full ticker only)."""
    cdef QVal top[Q_MAX_FIELDS]
    cdef QVal inner[Q_MAX_FIELDS]
    cdef QVal* v
    cdef const QTable* t = &_BQ_INNER
    cdef Quote* q
    cdef int rc
    cdef bint full
    batch_reset(b)
    rc = _bq_event(p, n, b, top, inner, &v)
    if rc != DEC_OK:
        return rc
    if v[BQ_e].kind == QK_ABSENT:
        return _bq_not_event(b, v, False)
    rc = _bq_type(b, v)
    if rc != DEC_OK:
        return rc
    if _span_is(v[BQ_e].s, v[BQ_e].len, "24hrTicker", 10):
        full = True
    elif _span_is(v[BQ_e].s, v[BQ_e].len, "24hrMiniTicker", 14):
        full = False
    else:
        return _bq_ignored(b, v)
    if (_q_int(b, t, v, BQ_E, True, Q_MS_MIN, Q_MS_MAX) < 0 or _q_sym(b, t, v, BQ_s) < 0
            or _q_str(b, t, v, BQ_c, True) < 0
            or (full and _q_str(b, t, v, BQ_Q, True) < 0)
            or _q_str(b, t, v, BQ_o, True) < 0 or _q_str(b, t, v, BQ_h, True) < 0
            or _q_str(b, t, v, BQ_l, True) < 0
            or (full and _q_str(b, t, v, BQ_p, True) < 0)
            or _q_str(b, t, v, BQ_v, True) < 0 or _q_str(b, t, v, BQ_q, True) < 0):
        return b.error
    if full and (_q_int(b, t, v, BQ_O, True, Q_MS_MIN, Q_MS_MAX) < 0
                 or _q_int(b, t, v, BQ_C, True, Q_MS_MIN, Q_MS_MAX) < 0
                 or _q_int(b, t, v, BQ_F, True, -1, MAX_UPDATE_ID) < 0
                 or _q_int(b, t, v, BQ_L, True, -1, MAX_UPDATE_ID) < 0
                 or _q_int(b, t, v, BQ_n, True, 0, MAX_UPDATE_ID) < 0):
        return b.error
    q = _q_ticker(b, &v[BQ_s], v[BQ_E].v * 1000000, SEG_UPDATE)
    if q == NULL:
        return b.error
    _q_text(q, TK_LAST, &v[BQ_c])
    _q_text(q, TK_OPEN, &v[BQ_o])
    _q_text(q, TK_HIGH, &v[BQ_h])
    _q_text(q, TK_LOW, &v[BQ_l])
    _q_text(q, TK_VOLUME, &v[BQ_v])
    _q_text(q, TK_QUOTE_VOLUME, &v[BQ_q])
    if full:
        _q_text(q, TK_LAST_SIZE, &v[BQ_Q])
        _q_text(q, TK_CHANGE, &v[BQ_p])
        q.open_ns = v[BQ_O].v * 1000000
        q.close_ns = v[BQ_C].v * 1000000
        q.first_trade_id = v[BQ_F].v
        q.last_trade_id = v[BQ_L].v
        q.trade_count = v[BQ_n].v
    b.msg_kind = MSG_TICKER
    b.event_time_ns = q.time_ns
    return DEC_OK


_register("binance-bbo", decode_binance_bbo)
_register("binance-ticker", decode_binance_ticker)
