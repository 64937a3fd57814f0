# Included by _parse.pyx (after coinbase_at.pxi, whose CbObj it reuses). Coinbase Exchange:
# {"type":"snapshot"|"l2update"|"heartbeat"|..., ...}.

cdef int decode_coinbase_exchange(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Coinbase Exchange ``snapshot`` → MSG_SNAPSHOT, ``l2update`` → MSG_DEPTH (``buy`` =
    bid, ``sell`` = ask), ``heartbeat`` → MSG_HEARTBEAT (last_id = ``sequence``),
    ``subscriptions`` → MSG_CONTROL, ``error`` → MSG_VENUE_ERROR, others → MSG_IGNORED."""
    cdef Cursor c
    cdef CbObj o
    cdef KeySet ks              # every other key, for duplicates
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef Segment* seg
    cdef bint snap, upd
    batch_reset(b)
    cur_init(&c, p, n)
    _cb_init(&o)
    ks.n = 0
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            if key_is(k, kl, "type", 4):
                if o.seen & CB_type:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_type
                cur_peek(&c)
                o.type_at = c.i
                rc = _str_field(&c, &o.type, &o.type_len, &o.ev_pd, NULL)
                if rc == 1:
                    o.type_len = -1
            elif key_is(k, kl, "product_id", 10):
                if o.seen & CB_product:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_product
                rc = _sym_field(&c, &o.product, &o.product_len, &o.pd,
                                "field 'product_id' has the wrong type (expected string)",
                                "field 'product_id' contains an escape "
                                "(symbols must be plain strings)",
                                "field 'product_id' is not valid UTF-8")
            elif key_is(k, kl, "changes", 7):
                if o.seen & CB_changes:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_changes
                rc = _levels(&c, b, SIDE_BID, True, &o.pd,
                             "field 'changes' has the wrong type "
                             "(expected [side, price, size] string triples)")
            elif key_is(k, kl, "bids", 4):
                if o.seen & CB_bids:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_bids
                rc = _levels(&c, b, SIDE_BID, False, &o.pd,
                             "field 'bids' has the wrong type "
                             "(expected [price, size] string pairs)")
            elif key_is(k, kl, "asks", 4):
                if o.seen & CB_asks:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_asks
                rc = _levels(&c, b, SIDE_ASK, False, &o.pd,
                             "field 'asks' has the wrong type "
                             "(expected [price, size] string pairs)")
            elif key_is(k, kl, "time", 4):
                if o.seen & CB_time:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_time
                cur_peek(&c)
                o.ts_at = c.i
                rc = _str_field(&c, &o.ts, &o.ts_len, &o.pd,
                                "field 'time' has the wrong type (expected string)")
            elif key_is(k, kl, "sequence", 8):
                if o.seen & CB_sequence:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_sequence
                rc = _int_field(&c, &o.seq, &o.pd,
                                "field 'sequence' has the wrong type (expected integer)",
                                "field 'sequence' out of range")
            elif key_set_add(&c, &ks, k, kl) < 0:
                return _fail_cursor(b, &c)
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
    if not o.seen & CB_type:
        return _missing(b, "field 'type' missing")
    if o.type_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, o.type_at,
                           "field 'type' has the wrong type (expected string)")
    snap = _span_is(o.type, o.type_len, "snapshot", 8)
    upd = _span_is(o.type, o.type_len, "l2update", 8)
    if snap or upd or _span_is(o.type, o.type_len, "heartbeat", 9):
        # levels only from the message type's own field: never apply a misplaced array
        if snap and o.seen & CB_changes:
            return _fail_batch(b, DEC_MISPLACED_FIELD, -1,
                               "field 'changes' does not belong to a snapshot")
        if upd and o.seen & (CB_bids | CB_asks):
            return _fail_batch(b, DEC_MISPLACED_FIELD, -1,
                               "fields 'bids'/'asks' do not belong to an l2update")
        if o.pd.code != DEC_OK:
            return _fail_batch(b, o.pd.code, o.pd.at, o.pd.detail)
        if snap or upd:
            if not o.seen & CB_product:
                return _missing(b, "field 'product_id' missing")
        if snap:
            if not o.seen & CB_bids:
                return _missing(b, "field 'bids' missing")
            if not o.seen & CB_asks:
                return _missing(b, "field 'asks' missing")
        if upd:
            if not o.seen & CB_changes:
                return _missing(b, "field 'changes' missing")
            if not o.seen & CB_time:
                return _missing(b, "field 'time' missing")
        if o.seen & CB_time:
            if parse_rfc3339_ns(o.ts, o.ts_len, &b.event_time_ns) < 0:
                return _fail_batch(b, DEC_BAD_TIMESTAMP, o.ts_at,
                                   "field 'time' is not an RFC 3339 timestamp")
        if o.seen & CB_sequence:
            b.last_id = o.seq
        if snap or upd:
            seg = batch_next_seg(b)
            if seg == NULL:
                return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
            seg.symbol_ptr = o.product
            seg.symbol_len = <int32_t>o.product_len
            seg.kind = SEG_SNAPSHOT if snap else SEG_UPDATE
            seg.start = 0
            seg.count = b.n_levels
            seg.event_time_ns = b.event_time_ns
            b.msg_kind = MSG_SNAPSHOT if snap else MSG_DEPTH
        else:
            b.n_levels = 0
            b.msg_kind = MSG_HEARTBEAT
        return DEC_OK
    b.n_levels = 0
    if _span_is(o.type, o.type_len, "subscriptions", 13):
        b.msg_kind = MSG_CONTROL
    elif _span_is(o.type, o.type_len, "error", 5):
        b.msg_kind = MSG_VENUE_ERROR
    elif not utf8_ok(o.type, o.type_len):
        return _fail_batch(b, DEC_BAD_UTF8, o.type_at, "field 'type' is not valid UTF-8")
    else:
        b.msg_kind = MSG_IGNORED
    return DEC_OK


_register("coinbase-exchange", decode_coinbase_exchange)
