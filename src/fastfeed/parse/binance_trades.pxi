# Included by _parse.pyx. Binance trades: <symbol>@trade and <symbol>@aggTrade events,
# spot and USD-M, raw or combined-stream form (docs/venues.md, "Trades").

cdef enum:
    BT_e = 1 << 0
    BT_E = 1 << 1
    BT_s = 1 << 2
    BT_t = 1 << 3
    BT_a = 1 << 4
    BT_p = 1 << 5
    BT_q = 1 << 6
    BT_f = 1 << 7
    BT_l = 1 << 8
    BT_T = 1 << 9
    BT_m = 1 << 10
    BT_data = 1 << 11
    BT_code = 1 << 12
    BT_result = 1 << 13
    BT_id = 1 << 14
    _BT_EVENT_FIELDS = (BT_e | BT_E | BT_s | BT_t | BT_a | BT_p | BT_q | BT_f | BT_l | BT_T
                        | BT_m)


ctypedef struct BtObj:
    uint32_t seen
    Pending pd                  # fields both event types have: E s p q T m
    Pending pd_trade            # t (trade only)
    Pending pd_agg              # a f l (aggTrade only)
    const char* e
    Py_ssize_t e_len            # -1: present but not a string
    Py_ssize_t e_at
    const char* s
    Py_ssize_t s_len
    const char* p
    Py_ssize_t p_len
    const char* q
    Py_ssize_t q_len
    int64_t p_pre               # the fast path's decimal pre-parse (see _convert_value)
    int64_t q_pre
    int64_t E
    int64_t T
    int64_t t
    int64_t a
    int64_t fill_first          # f
    int64_t fill_last           # l
    bint m
    bint data_bad
    Py_ssize_t data_at


cdef inline void _bt_pending_init(Pending* pd) noexcept nogil:
    pd.code = DEC_OK
    pd.at = -1
    pd.detail = NULL


cdef inline void _bt_init(BtObj* o) noexcept nogil:
    o.seen = 0
    _bt_pending_init(&o.pd)
    _bt_pending_init(&o.pd_trade)
    _bt_pending_init(&o.pd_agg)
    o.e = o.s = o.p = o.q = NULL
    o.e_len = o.s_len = o.p_len = o.q_len = 0
    o.e_at = -1
    o.p_pre = o.q_pre = 0
    o.E = o.T = o.t = o.a = o.fill_first = o.fill_last = 0
    o.m = False
    o.data_bad = False
    o.data_at = -1


cdef int _bt_object(Cursor* c, BtObj* o, BtObj* inner) noexcept nogil:
    """Members of one Binance object into ``o``; ``inner`` (top level only) receives a
    combined-stream ``data`` object. Unknown members of any type are validated and
    skipped; a repeated known key is a duplicate."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef KeySet ks              # every other key, for duplicates
    ks.n = 0
    cdef char ch
    cdef Pending e_pd               # 'e' of another type is reported on its own, first
    e_pd.code = DEC_OK
    if cur_expect(c, b'{') < 0:
        return -1
    if cur_peek(c) == b'}':
        c.i += 1
        return 0
    while True:
        if cur_key(c, &k, &kl) < 0:
            return -1
        rc = 0
        if kl == 1:
            ch = k[0]
            if ch == b'e':
                if o.seen & BT_e:
                    return _dup(c)
                o.seen |= BT_e
                cur_peek(c)
                o.e_at = c.i
                rc = _str_field(c, &o.e, &o.e_len, &e_pd, NULL)
                if rc == 1:
                    o.e_len = -1
            elif ch == b'E':
                if o.seen & BT_E:
                    return _dup(c)
                o.seen |= BT_E
                rc = _int_field(c, &o.E, &o.pd,
                                "field 'E' has the wrong type (expected integer)",
                                "field 'E' out of range")
            elif ch == b's':
                if o.seen & BT_s:
                    return _dup(c)
                o.seen |= BT_s
                rc = _sym_field(c, &o.s, &o.s_len, &o.pd,
                                "field 's' has the wrong type (expected string)",
                                "field 's' contains an escape (symbols must be plain strings)",
                                "field 's' is not valid UTF-8")
            elif ch == b't':
                if o.seen & BT_t:
                    return _dup(c)
                o.seen |= BT_t
                rc = _int_field(c, &o.t, &o.pd_trade,
                                "field 't' has the wrong type (expected integer)",
                                "field 't' out of range")
            elif ch == b'a':
                if o.seen & BT_a:
                    return _dup(c)
                o.seen |= BT_a
                rc = _int_field(c, &o.a, &o.pd_agg,
                                "field 'a' has the wrong type (expected integer)",
                                "field 'a' out of range")
            elif ch == b'p':
                if o.seen & BT_p:
                    return _dup(c)
                o.seen |= BT_p
                rc = _str_field(c, &o.p, &o.p_len, &o.pd,
                                "field 'p' has the wrong type (expected string)")
            elif ch == b'q':
                if o.seen & BT_q:
                    return _dup(c)
                o.seen |= BT_q
                rc = _str_field(c, &o.q, &o.q_len, &o.pd,
                                "field 'q' has the wrong type (expected string)")
            elif ch == b'f':
                if o.seen & BT_f:
                    return _dup(c)
                o.seen |= BT_f
                rc = _int_field(c, &o.fill_first, &o.pd_agg,
                                "field 'f' has the wrong type (expected integer)",
                                "field 'f' out of range")
            elif ch == b'l':
                if o.seen & BT_l:
                    return _dup(c)
                o.seen |= BT_l
                rc = _int_field(c, &o.fill_last, &o.pd_agg,
                                "field 'l' has the wrong type (expected integer)",
                                "field 'l' out of range")
            elif ch == b'T':
                if o.seen & BT_T:
                    return _dup(c)
                o.seen |= BT_T
                rc = _int_field(c, &o.T, &o.pd,
                                "field 'T' has the wrong type (expected integer)",
                                "field 'T' out of range")
            elif ch == b'm':
                if o.seen & BT_m:
                    return _dup(c)
                o.seen |= BT_m
                rc = _bool_field(c, &o.m, &o.pd,
                                 "field 'm' has the wrong type (expected boolean)")
            else:
                if key_set_add(c, &ks, k, kl) < 0:
                    return -1
                rc = cur_skip_value(c, 0)
        elif inner != NULL and key_is(k, kl, "data", 4):
            if o.seen & BT_data:
                return _dup(c)
            o.seen |= BT_data
            if cur_peek(c) == b'{':
                rc = _bt_object(c, inner, NULL)
            else:
                o.data_bad = True
                o.data_at = c.i
                rc = cur_skip_value(c, 0)
        else:
            if key_is(k, kl, "code", 4):
                o.seen |= BT_code
            elif key_is(k, kl, "result", 6):
                o.seen |= BT_result
            elif key_is(k, kl, "id", 2):
                o.seen |= BT_id
            if key_set_add(c, &ks, k, kl) < 0:
                return -1
            rc = cur_skip_value(c, 0)
        if rc < 0:
            return -1
        rc = cur_next(c, b'}')
        if rc <= 0:
            return rc


cdef inline uint32_t _bt_bit(char k) noexcept nogil:
    """The field bit of a one-letter event key (0: not one the decoder reads)."""
    if k == b'e':
        return BT_e
    if k == b'E':
        return BT_E
    if k == b's':
        return BT_s
    if k == b't':
        return BT_t
    if k == b'a':
        return BT_a
    if k == b'p':
        return BT_p
    if k == b'q':
        return BT_q
    if k == b'f':
        return BT_f
    if k == b'l':
        return BT_l
    if k == b'T':
        return BT_T
    if k == b'm':
        return BT_m
    return 0


cdef Py_ssize_t _bt_fast_object(const char* p, Py_ssize_t i, Py_ssize_t n, BtObj* o,
                                BtObj* inner) noexcept nogil:
    """The fast path: an object at ``p[i] == '{'`` in Binance's compact form (no
    whitespace, no escapes, symbols and types ASCII, values strings, 1..18-digit
    integers or booleans; any key order, unknown keys too), filling ``o`` exactly as
    _bt_object would, plus the decimals' pre-parse. The index after its '}', or -1 on any
    deviation (a duplicate, another value type, a field of the wrong type...): the
    caller then runs the general decoder, which gives the exact result or error."""
    cdef Py_ssize_t ks, k, j
    cdef uint32_t bit
    cdef int64_t v
    cdef int64_t pre
    cdef char ch
    cdef RawKeys unknown
    unknown.n = 0
    if i >= n or p[i] != b'{':
        return -1
    i += 1
    if i < n and p[i] == b'}':
        return i + 1
    while True:
        if i >= n or p[i] != b'"':
            return -1
        ks = i + 1
        k = ff_scan_string(p, ks, n)
        if k + 1 >= n or p[k] != b'"' or p[k + 1] != b':':
            return -1
        i = k + 2
        if i >= n:
            return -1
        bit = _bt_bit(p[ks]) if k - ks == 1 else 0
        if bit:
            if o.seen & bit:
                return -1
            o.seen |= bit
        elif inner != NULL and _lit(p, ks, k, "data", 4) and k - ks == 4:
            if o.seen & BT_data:
                return -1
            o.seen |= BT_data
            i = _bt_fast_object(p, i, n, inner, NULL)
            if i < 0:
                return -1
            bit = BT_data           # value done
        elif not raw_key_new(&unknown, p, ks, k - ks):
            return -1
        elif k - ks == 4 and _lit(p, ks, k, "code", 4):
            o.seen |= BT_code
        elif k - ks == 6 and _lit(p, ks, k, "result", 6):
            o.seen |= BT_result
        elif k - ks == 2 and _lit(p, ks, k, "id", 2):
            o.seen |= BT_id
        ch = p[i]
        if bit == BT_data:
            pass
        elif ch == b'"':
            if bit == BT_p or bit == BT_q:
                j = _dec_string(p, i + 1, n, &pre)
                if j < 0:
                    return -1
                if bit == BT_p:
                    o.p = p + i + 1
                    o.p_len = j - i - 1
                    o.p_pre = pre
                else:
                    o.q = p + i + 1
                    o.q_len = j - i - 1
                    o.q_pre = pre
            else:
                j = ff_scan_string(p, i + 1, n)
                if j >= n or p[j] != b'"':
                    return -1
                if bit == BT_e or bit == BT_s:
                    for ks in range(i + 1, j):  # non-ASCII: the general path validates it
                        if <unsigned char>p[ks] >= 0x80:
                            return -1
                    if bit == BT_e:
                        o.e = p + i + 1
                        o.e_len = j - i - 1
                        o.e_at = i
                    else:
                        o.s = p + i + 1
                        o.s_len = j - i - 1
                elif bit:
                    return -1           # an integer or boolean field given as a string
            i = j + 1
        elif b'0' <= ch <= b'9':
            j = ff_fast_uint(p, i, n, &v)
            if j < 0:
                return -1
            if bit == BT_E:
                o.E = v
            elif bit == BT_T:
                o.T = v
            elif bit == BT_t:
                o.t = v
            elif bit == BT_a:
                o.a = v
            elif bit == BT_f:
                o.fill_first = v
            elif bit == BT_l:
                o.fill_last = v
            elif bit:
                return -1
            i = j
        elif ch == b't' and _lit(p, i, n, "true", 4):
            if bit and bit != BT_m:
                return -1
            if bit == BT_m:
                o.m = True
            i += 4
        elif ch == b'f' and _lit(p, i, n, "false", 5):
            if bit and bit != BT_m:
                return -1
            if bit == BT_m:
                o.m = False
            i += 5
        else:
            return -1                   # null, a sign, an array, an object, whitespace
        if i >= n:
            return -1
        if p[i] == b',':
            i += 1
        elif p[i] == b'}':
            return i + 1
        else:
            return -1


cdef int decode_binance_trades(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Binance ``trade`` / ``aggTrade`` events (spot and USD-M, raw or combined-stream
    form) → MSG_TRADES with one trade; subscribe results → MSG_CONTROL, ``{"code":..}``
    → MSG_VENUE_ERROR, other events → MSG_IGNORED. Side from ``m`` (buyer is maker: the
    taker sold), time from ``T`` (trade time), id ``t`` / ``a`` in 0..2**62."""
    cdef Cursor c
    cdef BtObj top
    cdef BtObj inner
    cdef BtObj* ev = &top
    cdef Segment* seg
    cdef Delta* d
    cdef Trade* tr
    cdef const Pending* pd
    cdef bint agg
    cdef int64_t trade_id
    batch_reset(b)
    _bt_init(&top)
    _bt_init(&inner)
    if _bt_fast_object(p, 0, n, &top, &inner) != n:
        _bt_init(&top)
        _bt_init(&inner)
        cur_init(&c, p, n)
        if _bt_object(&c, &top, &inner) < 0 or _end_of_payload(&c) < 0:
            return _fail_cursor(b, &c)
    if top.seen & BT_data:
        if top.data_bad:
            return _fail_batch(b, DEC_WRONG_TYPE, top.data_at,
                               "field 'data' has the wrong type (expected object)")
        if top.seen & _BT_EVENT_FIELDS:
            return _fail_batch(b, DEC_MISPLACED_FIELD, -1,
                               "event field next to 'data' in a combined-stream envelope")
        ev = &inner
    if ev.seen & BT_e:
        if ev.e_len < 0:
            return _fail_batch(b, DEC_WRONG_TYPE, ev.e_at,
                               "field 'e' has the wrong type (expected string)")
        if _span_is(ev.e, ev.e_len, "aggTrade", 8):
            agg = True
        elif _span_is(ev.e, ev.e_len, "trade", 5):
            agg = False
        else:
            if not utf8_ok(ev.e, ev.e_len):
                return _fail_batch(b, DEC_BAD_UTF8, ev.e_at, "field 'e' is not valid UTF-8")
            b.msg_kind = MSG_IGNORED
            return DEC_OK
        pd = _first_pending(&ev.pd, &ev.pd_agg if agg else &ev.pd_trade)
        if pd != NULL:
            return _fail_batch(b, pd.code, pd.at, pd.detail)
        if not ev.seen & BT_E:
            return _missing(b, "field 'E' missing")
        if not ev.seen & BT_s:
            return _missing(b, "field 's' missing")
        if agg and not ev.seen & BT_a:
            return _missing(b, "field 'a' missing")
        if not agg and not ev.seen & BT_t:
            return _missing(b, "field 't' missing")
        if not ev.seen & BT_p:
            return _missing(b, "field 'p' missing")
        if not ev.seen & BT_q:
            return _missing(b, "field 'q' missing")
        if agg and not ev.seen & BT_f:
            return _missing(b, "field 'f' missing")
        if agg and not ev.seen & BT_l:
            return _missing(b, "field 'l' missing")
        if not ev.seen & BT_T:
            return _missing(b, "field 'T' missing")
        if not ev.seen & BT_m:
            return _missing(b, "field 'm' missing")
        trade_id = ev.a if agg else ev.t
        if not 0 <= trade_id <= MAX_UPDATE_ID:
            return _fail_batch(b, DEC_OVERFLOW, -1,
                               "field 'a' out of range (expected 0..2**62)" if agg else
                               "field 't' out of range (expected 0..2**62)")
        if not _ns_from_ms_ok(ev.E):
            return _fail_batch(b, DEC_OVERFLOW, -1, "field 'E' out of range")
        if not _ns_from_ms_ok(ev.T):
            return _fail_batch(b, DEC_OVERFLOW, -1, "field 'T' out of range")
        tr = batch_next_trade(b, &d)
        seg = batch_next_seg(b)
        if tr == NULL or seg == NULL:
            return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "out of memory")
        d.price_ptr = ev.p
        d.price_len = <int32_t>ev.p_len
        d.size_ptr = ev.q
        d.size_len = <int32_t>ev.q_len
        d.price = ev.p_pre          # < 0: pre-parsed by the fast path; 0: read the text
        d.size = ev.q_pre
        d.side = SIDE_BID
        _trade_set(tr, trade_id, ev.fill_first if agg else -1, ev.fill_last if agg else -1,
                   ev.T * 1000000,
                   -1 if ev.m else 1, TRADE_STREAM_AGG if agg else TRADE_STREAM_TRADE)
        tr.symbol_ptr = ev.s
        tr.symbol_len = <int32_t>ev.s_len
        seg.symbol_ptr = ev.s
        seg.symbol_len = <int32_t>ev.s_len
        seg.kind = SEG_UPDATE
        seg.start = 0
        seg.count = 1
        seg.event_time_ns = ev.E * 1000000
        b.msg_kind = MSG_TRADES
        b.event_time_ns = ev.E * 1000000
        b.txn_time_ns = ev.T * 1000000
        return DEC_OK
    if ev.seen & BT_code:
        b.msg_kind = MSG_VENUE_ERROR
        return DEC_OK
    if ev.seen & (BT_result | BT_id):
        b.msg_kind = MSG_CONTROL
        return DEC_OK
    return _missing(b, "field 'e' missing")


_register("binance-trades", decode_binance_trades)
