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


cdef int decode_coinbase_exchange_trades(const char* p, Py_ssize_t n,
                                         DeltaBatch* b) noexcept nogil:
    """Coinbase Exchange ``match`` / ``last_match`` → MSG_TRADES with one trade (``side``
    is the maker's: ``buy`` means the taker sold), ``heartbeat`` → MSG_HEARTBEAT,
    ``subscriptions`` → MSG_CONTROL, ``error`` → MSG_VENUE_ERROR, others → MSG_IGNORED.
    ``last_id`` is ``sequence`` when present (the product's full-feed sequence: not a
    trade counter)."""
    cdef Cursor c
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef uint32_t seen = 0
    cdef Pending pd
    cdef Pending ignored
    cdef const char* typ = NULL
    cdef Py_ssize_t typ_len = 0
    cdef Py_ssize_t typ_at = -1
    cdef const char* product = NULL
    cdef Py_ssize_t product_len = 0
    cdef const char* ts = NULL
    cdef Py_ssize_t ts_len = 0
    cdef Py_ssize_t ts_at = -1
    cdef const char* price = NULL
    cdef Py_ssize_t price_len = 0
    cdef const char* size = NULL
    cdef Py_ssize_t size_len = 0
    cdef const char* side = NULL
    cdef Py_ssize_t side_len = 0
    cdef Py_ssize_t side_at = -1
    cdef int64_t trade_id = 0
    cdef int64_t seq = 0
    cdef int64_t t_ns = 0
    cdef int8_t taker = 0
    cdef Segment* seg
    cdef Delta* d
    cdef Trade* tr
    pd.code = DEC_OK
    pd.at = -1
    pd.detail = NULL
    ignored.code = DEC_OK
    batch_reset(b)
    cur_init(&c, p, n)
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            if key_is(k, kl, "type", 4):
                if seen & CT_type:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= CT_type
                cur_peek(&c)
                typ_at = c.i
                rc = _str_field(&c, &typ, &typ_len, &ignored, NULL)
                if rc == 1:
                    typ_len = -1
            elif key_is(k, kl, "product_id", 10):
                if seen & CT_product:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= CT_product
                rc = _sym_field(&c, &product, &product_len, &pd,
                                "field 'product_id' has the wrong type (expected string)",
                                "field 'product_id' contains an escape "
                                "(symbols must be plain strings)",
                                "field 'product_id' is not valid UTF-8")
            elif key_is(k, kl, "trade_id", 8):
                if seen & CT_trade_id:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= CT_trade_id
                rc = _int_field(&c, &trade_id, &pd,
                                "field 'trade_id' has the wrong type (expected integer)",
                                "field 'trade_id' out of range")
            elif key_is(k, kl, "sequence", 8):
                if seen & CT_sequence:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= CT_sequence
                rc = _int_field(&c, &seq, &pd,
                                "field 'sequence' has the wrong type (expected integer)",
                                "field 'sequence' out of range")
            elif key_is(k, kl, "time", 4):
                if seen & CT_time:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= CT_time
                cur_peek(&c)
                ts_at = c.i
                rc = _str_field(&c, &ts, &ts_len, &pd,
                                "field 'time' has the wrong type (expected string)")
            elif key_is(k, kl, "price", 5):
                if seen & CT_price:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= CT_price
                rc = _str_field(&c, &price, &price_len, &pd,
                                "field 'price' has the wrong type (expected string)")
            elif key_is(k, kl, "size", 4):
                if seen & CT_size:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= CT_size
                rc = _str_field(&c, &size, &size_len, &pd,
                                "field 'size' has the wrong type (expected string)")
            elif key_is(k, kl, "side", 4):
                if seen & CT_side:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= CT_side
                cur_peek(&c)
                side_at = c.i
                rc = _str_field(&c, &side, &side_len, &pd,
                                "field 'side' has the wrong type (expected string)")
                if rc == 0:
                    # the maker's side: a resting buy order was hit, so the taker sold
                    if _span_is(side, side_len, "buy", 3):
                        taker = -1
                    elif _span_is(side, side_len, "sell", 4):
                        taker = 1
                    else:
                        _pend(&pd, DEC_BAD_SIDE, side_at, "field 'side' is not 'buy' or 'sell'")
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
    if not seen & CT_type:
        return _missing(b, "field 'type' missing")
    if typ_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, typ_at,
                           "field 'type' has the wrong type (expected string)")
    if _span_is(typ, typ_len, "match", 5) or _span_is(typ, typ_len, "last_match", 10):
        if pd.code != DEC_OK:
            return _fail_batch(b, pd.code, pd.at, pd.detail)
        if not seen & CT_trade_id:
            return _missing(b, "field 'trade_id' missing")
        if not seen & CT_product:
            return _missing(b, "field 'product_id' missing")
        if not seen & CT_price:
            return _missing(b, "field 'price' missing")
        if not seen & CT_size:
            return _missing(b, "field 'size' missing")
        if not seen & CT_side:
            return _missing(b, "field 'side' missing")
        if not seen & CT_time:
            return _missing(b, "field 'time' missing")
        if not 0 <= trade_id <= MAX_UPDATE_ID:
            return _fail_batch(b, DEC_OVERFLOW, -1,
                               "field 'trade_id' out of range (expected 0..2**62)")
        if parse_rfc3339_ns(ts, ts_len, &t_ns) < 0:
            return _fail_batch(b, DEC_BAD_TIMESTAMP, ts_at,
                               "field 'time' is not an RFC 3339 timestamp")
        tr = batch_next_trade(b, &d)
        seg = batch_next_seg(b)
        if tr == NULL or seg == NULL:
            return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "out of memory")
        d.price_ptr = price
        d.price_len = <int32_t>price_len
        d.size_ptr = size
        d.size_len = <int32_t>size_len
        d.price = d.size = 0        # no pre-parse: phase 2 reads the text
        d.side = SIDE_BID
        _trade_set(tr, trade_id, -1, -1, t_ns, taker, TRADE_STREAM_MATCHES)
        tr.symbol_ptr = product
        tr.symbol_len = <int32_t>product_len
        seg.symbol_ptr = product
        seg.symbol_len = <int32_t>product_len
        seg.kind = SEG_UPDATE
        seg.start = 0
        seg.count = 1
        seg.event_time_ns = t_ns
        b.msg_kind = MSG_TRADES
        b.event_time_ns = t_ns
        if seen & CT_sequence:
            b.last_id = seq
        return DEC_OK
    if _span_is(typ, typ_len, "heartbeat", 9):
        b.msg_kind = MSG_HEARTBEAT
    elif _span_is(typ, typ_len, "subscriptions", 13):
        b.msg_kind = MSG_CONTROL
    elif _span_is(typ, typ_len, "error", 5):
        b.msg_kind = MSG_VENUE_ERROR
    elif not utf8_ok(typ, typ_len):
        return _fail_batch(b, DEC_BAD_UTF8, typ_at, "field 'type' is not valid UTF-8")
    else:
        b.msg_kind = MSG_IGNORED
    return DEC_OK


_register("coinbase-exchange-trades", decode_coinbase_exchange_trades)
