# Included by _parse.pyx. Coinbase Exchange matches channel: {"type":"match"|"last_match",
# "trade_id":..,"sequence":..,"time":..,"product_id":..,"size":..,"price":..,"side":..}
# (docs/venues.md, "Trades").

cdef enum:
    CT_type = 1 << 0
    CT_product = 1 << 1
    CT_trade_id = 1 << 2
    CT_sequence = 1 << 3
    CT_time = 1 << 4
    CT_price = 1 << 5
    CT_size = 1 << 6
    CT_side = 1 << 7


ctypedef struct CtObj:
    uint32_t seen
    Pending pd
    const char* typ
    Py_ssize_t typ_len          # -1: present but not a string
    Py_ssize_t typ_at
    const char* product
    Py_ssize_t product_len
    const char* ts
    Py_ssize_t ts_len
    Py_ssize_t ts_at
    const char* price
    Py_ssize_t price_len
    const char* size
    Py_ssize_t size_len
    int64_t price_pre           # the fast path's decimal pre-parse (see _convert_value)
    int64_t size_pre
    int64_t trade_id
    int64_t seq
    int8_t taker


cdef inline void _ct_init(CtObj* o) noexcept nogil:
    o.seen = 0
    o.pd.code = DEC_OK
    o.pd.at = -1
    o.pd.detail = NULL
    o.typ = o.product = o.ts = o.price = o.size = NULL
    o.typ_len = o.product_len = o.ts_len = o.price_len = o.size_len = 0
    o.typ_at = o.ts_at = -1
    o.price_pre = o.size_pre = 0
    o.trade_id = o.seq = 0
    o.taker = 0


cdef inline uint32_t _ct_bit(const char* k, Py_ssize_t kl) noexcept nogil:
    """The field bit of a key of a matches message (0: not one the decoder reads)."""
    if kl == 4:
        if memcmp(k, "type", 4) == 0:
            return CT_type
        if memcmp(k, "time", 4) == 0:
            return CT_time
        if memcmp(k, "size", 4) == 0:
            return CT_size
        if memcmp(k, "side", 4) == 0:
            return CT_side
    elif kl == 5:
        if memcmp(k, "price", 5) == 0:
            return CT_price
    elif kl == 8:
        if memcmp(k, "trade_id", 8) == 0:
            return CT_trade_id
        if memcmp(k, "sequence", 8) == 0:
            return CT_sequence
    elif kl == 10:
        if memcmp(k, "product_id", 10) == 0:
            return CT_product
    return 0


cdef Py_ssize_t _ct_fast(const char* p, Py_ssize_t n, CtObj* o) noexcept nogil:
    """The fast path: the message in Coinbase's compact form (no whitespace, no escapes,
    ASCII names and product, values strings or 1..18-digit integers; any key order,
    unknown keys too), filling ``o`` exactly as the general loop would, plus the
    decimals' pre-parse and the side. Returns n, or -1 on any deviation (a duplicate, an
    unexpected value type, a side that is not buy/sell...): the caller then runs the
    general loop, which gives the exact result or error."""
    cdef Py_ssize_t i = 1
    cdef Py_ssize_t ks, k, j, q
    cdef uint32_t bit
    cdef int64_t v
    cdef int64_t pre
    cdef RawKeys unknown
    unknown.n = 0
    if n < 2 or p[0] != b'{':
        return -1
    if p[1] == b'}':
        return 2 if n == 2 else -1
    while True:
        if i >= n or p[i] != b'"':
            return -1
        ks = i + 1
        k = ff_scan_string(p, ks, n)
        if k + 2 >= n or p[k] != b'"' or p[k + 1] != b':':
            return -1
        i = k + 2
        bit = _ct_bit(p + ks, k - ks)
        if bit:
            if o.seen & bit:
                return -1
            o.seen |= bit
        elif not raw_key_new(&unknown, p, ks, k - ks):
            return -1
        if p[i] == b'"':
            if bit == CT_price or bit == CT_size:
                j = _dec_string(p, i + 1, n, &pre)
                if j < 0:
                    return -1
                if bit == CT_price:
                    o.price = p + i + 1
                    o.price_len = j - i - 1
                    o.price_pre = pre
                else:
                    o.size = p + i + 1
                    o.size_len = j - i - 1
                    o.size_pre = pre
            else:
                j = ff_scan_string(p, i + 1, n)
                if j >= n or p[j] != b'"':
                    return -1
                if bit == CT_type or bit == CT_product:
                    for q in range(i + 1, j):   # non-ASCII: the general path validates it
                        if <unsigned char>p[q] >= 0x80:
                            return -1
                    if bit == CT_type:
                        o.typ = p + i + 1
                        o.typ_len = j - i - 1
                        o.typ_at = i
                    else:
                        o.product = p + i + 1
                        o.product_len = j - i - 1
                elif bit == CT_time:
                    o.ts = p + i + 1
                    o.ts_len = j - i - 1
                    o.ts_at = i
                elif bit == CT_side:
                    if _lit(p, i + 1, j, "buy", 3) and j - i - 1 == 3:
                        o.taker = -1            # the maker bought: the taker sold
                    elif _lit(p, i + 1, j, "sell", 4) and j - i - 1 == 4:
                        o.taker = 1
                    else:
                        return -1
                elif bit:
                    return -1                   # trade_id / sequence given as a string
            i = j + 1
        elif b'0' <= p[i] <= b'9':
            j = ff_fast_uint(p, i, n, &v)
            if j < 0:
                return -1
            if bit == CT_trade_id:
                o.trade_id = v
            elif bit == CT_sequence:
                o.seq = v
            elif bit:
                return -1
            i = j
        else:
            return -1           # null, booleans, a sign, arrays, objects, whitespace
        if i >= n:
            return -1
        if p[i] == b',':
            i += 1
        elif p[i] == b'}':
            return i + 1
        else:
            return -1


cdef int _ct_general(Cursor* c, DeltaBatch* b, CtObj* o) noexcept nogil:
    """Every member of the message into ``o`` (any layout); a cursor failure is reported
    into ``b`` (returns the DecodeError), else DEC_OK."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef KeySet ks              # every other key, for duplicates
    ks.n = 0
    cdef uint32_t bit
    cdef const char* side = NULL
    cdef Py_ssize_t side_len = 0
    cdef Py_ssize_t side_at = -1
    cdef Pending ignored
    ignored.code = DEC_OK
    if cur_expect(c, b'{') < 0:
        return _fail_cursor(b, c)
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return _fail_cursor(b, c)
            bit = _ct_bit(k, kl)
            if bit:
                if o.seen & bit:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= bit
            if bit == CT_type:
                cur_peek(c)
                o.typ_at = c.i
                rc = _str_field(c, &o.typ, &o.typ_len, &ignored, NULL)
                if rc == 1:
                    o.typ_len = -1
            elif bit == CT_product:
                rc = _sym_field(c, &o.product, &o.product_len, &o.pd,
                                "field 'product_id' has the wrong type (expected string)",
                                "field 'product_id' contains an escape "
                                "(symbols must be plain strings)",
                                "field 'product_id' is not valid UTF-8")
            elif bit == CT_trade_id:
                rc = _int_field(c, &o.trade_id, &o.pd,
                                "field 'trade_id' has the wrong type (expected integer)",
                                "field 'trade_id' out of range")
            elif bit == CT_sequence:
                rc = _int_field(c, &o.seq, &o.pd,
                                "field 'sequence' has the wrong type (expected integer)",
                                "field 'sequence' out of range")
            elif bit == CT_time:
                cur_peek(c)
                o.ts_at = c.i
                rc = _str_field(c, &o.ts, &o.ts_len, &o.pd,
                                "field 'time' has the wrong type (expected string)")
            elif bit == CT_price:
                rc = _str_field(c, &o.price, &o.price_len, &o.pd,
                                "field 'price' has the wrong type (expected string)")
            elif bit == CT_size:
                rc = _str_field(c, &o.size, &o.size_len, &o.pd,
                                "field 'size' has the wrong type (expected string)")
            elif bit == CT_side:
                cur_peek(c)
                side_at = c.i
                rc = _str_field(c, &side, &side_len, &o.pd,
                                "field 'side' has the wrong type (expected string)")
                if rc == 0:
                    # the maker's side: a resting buy order was hit, so the taker sold
                    if _span_is(side, side_len, "buy", 3):
                        o.taker = -1
                    elif _span_is(side, side_len, "sell", 4):
                        o.taker = 1
                    else:
                        _pend(&o.pd, DEC_BAD_SIDE, side_at,
                              "field 'side' is not 'buy' or 'sell'")
            else:
                if key_set_add(c, &ks, k, kl) < 0:
                    return -1
                rc = cur_skip_value(c, 0)
            if rc < 0:
                return _fail_cursor(b, c)
            rc = cur_next(c, b'}')
            if rc < 0:
                return _fail_cursor(b, c)
            if rc == 0:
                break
    if _end_of_payload(c) < 0:
        return _fail_cursor(b, c)
    return DEC_OK


cdef int decode_coinbase_exchange_trades(const char* p, Py_ssize_t n,
                                         DeltaBatch* b) noexcept nogil:
    """Coinbase Exchange ``match`` / ``last_match`` → MSG_TRADES with one trade (``side``
    is the maker's: ``buy`` means the taker sold), ``heartbeat`` → MSG_HEARTBEAT,
    ``subscriptions`` → MSG_CONTROL, ``error`` → MSG_VENUE_ERROR, others → MSG_IGNORED.
    ``last_id`` is ``sequence`` when present (the product's full-feed sequence: not a
    trade counter)."""
    cdef Cursor c
    cdef CtObj o
    cdef int rc
    cdef int64_t t_ns = 0
    cdef Segment* seg
    cdef Delta* d
    cdef Trade* tr
    batch_reset(b)
    _ct_init(&o)
    if _ct_fast(p, n, &o) != n:
        _ct_init(&o)
        cur_init(&c, p, n)
        rc = _ct_general(&c, b, &o)
        if rc != DEC_OK:
            return rc
    if not o.seen & CT_type:
        return _missing(b, "field 'type' missing")
    if o.typ_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, o.typ_at,
                           "field 'type' has the wrong type (expected string)")
    if _span_is(o.typ, o.typ_len, "match", 5) or _span_is(o.typ, o.typ_len, "last_match", 10):
        if o.pd.code != DEC_OK:
            return _fail_batch(b, o.pd.code, o.pd.at, o.pd.detail)
        if not o.seen & CT_trade_id:
            return _missing(b, "field 'trade_id' missing")
        if not o.seen & CT_product:
            return _missing(b, "field 'product_id' missing")
        if not o.seen & CT_price:
            return _missing(b, "field 'price' missing")
        if not o.seen & CT_size:
            return _missing(b, "field 'size' missing")
        if not o.seen & CT_side:
            return _missing(b, "field 'side' missing")
        if not o.seen & CT_time:
            return _missing(b, "field 'time' missing")
        if not 0 <= o.trade_id <= MAX_UPDATE_ID:
            return _fail_batch(b, DEC_OVERFLOW, -1,
                               "field 'trade_id' out of range (expected 0..2**62)")
        if parse_rfc3339_ns(o.ts, o.ts_len, &t_ns) < 0:
            return _fail_batch(b, DEC_BAD_TIMESTAMP, o.ts_at,
                               "field 'time' is not an RFC 3339 timestamp")
        tr = batch_next_trade(b, &d)
        seg = batch_next_seg(b)
        if tr == NULL or seg == NULL:
            return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "out of memory")
        d.price_ptr = o.price
        d.price_len = <int32_t>o.price_len
        d.size_ptr = o.size
        d.size_len = <int32_t>o.size_len
        d.price = o.price_pre       # < 0: pre-parsed by the fast path; 0: read the text
        d.size = o.size_pre
        d.side = SIDE_BID
        _trade_set(tr, o.trade_id, -1, -1, t_ns, o.taker, TRADE_STREAM_MATCHES)
        tr.symbol_ptr = o.product
        tr.symbol_len = <int32_t>o.product_len
        seg.symbol_ptr = o.product
        seg.symbol_len = <int32_t>o.product_len
        seg.kind = SEG_UPDATE
        seg.start = 0
        seg.count = 1
        seg.event_time_ns = t_ns
        b.msg_kind = MSG_TRADES
        b.event_time_ns = t_ns
        if o.seen & CT_sequence:
            b.last_id = o.seq
        return DEC_OK
    if _span_is(o.typ, o.typ_len, "heartbeat", 9):
        b.msg_kind = MSG_HEARTBEAT
    elif _span_is(o.typ, o.typ_len, "subscriptions", 13):
        b.msg_kind = MSG_CONTROL
    elif _span_is(o.typ, o.typ_len, "error", 5):
        b.msg_kind = MSG_VENUE_ERROR
    elif not utf8_ok(o.typ, o.typ_len):
        return _fail_batch(b, DEC_BAD_UTF8, o.typ_at, "field 'type' is not valid UTF-8")
    else:
        b.msg_kind = MSG_IGNORED
    return DEC_OK


_register("coinbase-exchange-trades", decode_coinbase_exchange_trades)
