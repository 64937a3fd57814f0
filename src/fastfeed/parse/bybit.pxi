# Included by _parse.pyx. Bybit v5 public order books (docs/venues.md, "Bybit"):
# {"topic":"orderbook.50.BTCUSDT","type":"snapshot"|"delta","ts":N,"data":{"s":..,"b":[[p,q]],
# "a":[[p,q]],"u":N,"seq":N},"cts":N}, keys in any order (Bybit's order differs by market);
# acks {"success":true,"ret_msg":..,"op":"subscribe"}, pongs ({"op":"ping"} answered,
# {"op":"pong"}), errors {"success":false,...}.

cdef enum:
    BY_topic = 1 << 0
    BY_type = 1 << 1
    BY_ts = 1 << 2
    BY_data = 1 << 3
    BY_success = 1 << 4
    BY_op = 1 << 5
    BY_s = 1 << 6
    BY_b = 1 << 7
    BY_a = 1 << 8
    BY_u = 1 << 9


cdef int _by_ms(Cursor* c, int64_t* out, Pending* pd) noexcept nogil:
    """``ts``: integer milliseconds, as a number or a digit string (the docs print both).
    0 read, 1 pended (skipped), -1 failure."""
    cdef const char* s
    cdef Py_ssize_t sl, i, at
    cdef int rc
    cdef int64_t v = 0
    cdef unsigned int d
    if cur_peek(c) == b'"':
        at = c.i
        rc = cur_string(c, &s, &sl)
        if rc < 0:
            return -1
        if rc == 1 or sl < 1 or sl > 18:
            _pend(pd, DEC_WRONG_TYPE, at, "field 'ts' has the wrong type "
                  "(expected integer milliseconds, as a number or a digit string)")
            return 1
        for i in range(sl):
            d = <unsigned int>(<unsigned char>s[i]) - 48u
            if d > 9u:
                _pend(pd, DEC_WRONG_TYPE, at, "field 'ts' has the wrong type "
                      "(expected integer milliseconds, as a number or a digit string)")
                return 1
            v = v * 10 + d
        out[0] = v
        return 0
    return _int_field(c, out, pd, "field 'ts' has the wrong type "
                      "(expected integer milliseconds, as a number or a digit string)",
                      "field 'ts' out of range")


cdef int _by_data(Cursor* c, DeltaBatch* b, uint32_t* seen, Pending* pd, const char** sym,
                  Py_ssize_t* sym_len, int64_t* u) noexcept nogil:
    """The ``data`` object of a book message: ``s``, ``b``, ``a``, ``u`` (others skipped,
    duplicates refused). 0, or -1 with the cursor failed."""
    cdef KeySet ks
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    ks.n = 0
    c.i += 1        # the '{' (the caller peeked it)
    if cur_peek(c) == b'}':
        c.i += 1
        return 0
    while True:
        if cur_key(c, &k, &kl) < 0:
            return -1
        if key_is(k, kl, "s", 1):
            if seen[0] & BY_s:
                return _dup(c)
            seen[0] |= BY_s
            rc = _sym_field(c, sym, sym_len, pd,
                            "field 's' has the wrong type (expected string)",
                            "field 's' contains an escape (symbols must be plain strings)",
                            "field 's' is not valid UTF-8")
        elif key_is(k, kl, "b", 1):
            if seen[0] & BY_b:
                return _dup(c)
            seen[0] |= BY_b
            rc = _levels(c, b, SIDE_BID, False, pd, "field 'b' has the wrong type "
                         "(expected [price, size] string pairs)")
        elif key_is(k, kl, "a", 1):
            if seen[0] & BY_a:
                return _dup(c)
            seen[0] |= BY_a
            rc = _levels(c, b, SIDE_ASK, False, pd, "field 'a' has the wrong type "
                         "(expected [price, size] string pairs)")
        elif key_is(k, kl, "u", 1):
            if seen[0] & BY_u:
                return _dup(c)
            seen[0] |= BY_u
            rc = _int_field(c, u, pd, "field 'u' has the wrong type (expected integer)",
                            "field 'u' out of range")
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
            return 0


cdef int decode_bybit(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Bybit ``orderbook.*`` ``snapshot`` → MSG_SNAPSHOT, ``delta`` → MSG_DEPTH (first and
    last id = ``u``); other topics → MSG_IGNORED; pongs → MSG_HEARTBEAT; acks →
    MSG_CONTROL; ``"success":false`` → MSG_VENUE_ERROR."""
    return _decode_bybit_book(p, n, b, NULL)


cdef int _decode_bybit_book(const char* p, Py_ssize_t n, DeltaBatch* b,
                            bint* depth_one) noexcept nogil:
    """``decode_bybit``; ``depth_one`` (when not NULL) says whether a book message's topic
    is ``orderbook.1.*`` (the venue BBO: bybit_quotes.pxi)."""
    cdef Cursor c
    cdef KeySet ks
    cdef Pending pd, scratch
    cdef const char* k
    cdef Py_ssize_t kl, i
    cdef int rc
    cdef uint32_t seen = 0
    cdef const char* topic = NULL
    cdef Py_ssize_t topic_len = 0
    cdef const char* typ = NULL
    cdef Py_ssize_t typ_len = 0, typ_at = -1
    cdef const char* op = NULL
    cdef Py_ssize_t op_len = 0, op_at = -1
    cdef int success = 1            # 1 true, 0 false, -1 not a boolean
    cdef Py_ssize_t success_at = -1
    cdef const char* sym = NULL
    cdef Py_ssize_t sym_len = 0
    cdef int64_t ts = 0, u = 0
    cdef bint snap
    cdef Segment* seg
    batch_reset(b)
    cur_init(&c, p, n)
    ks.n = 0
    pd.code = DEC_OK
    pd.at = -1
    pd.detail = NULL
    scratch = pd
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            if key_is(k, kl, "topic", 5):
                if seen & BY_topic:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= BY_topic
                rc = _str_field(&c, &topic, &topic_len, &scratch, NULL)
                if rc == 1:
                    topic_len = -1
            elif key_is(k, kl, "type", 4):
                if seen & BY_type:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= BY_type
                cur_peek(&c)
                typ_at = c.i
                rc = _str_field(&c, &typ, &typ_len, &scratch, NULL)
                if rc == 1:
                    typ_len = -1
            elif key_is(k, kl, "op", 2):
                if seen & BY_op:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= BY_op
                cur_peek(&c)
                op_at = c.i
                rc = _str_field(&c, &op, &op_len, &scratch, NULL)
                if rc == 1:
                    op_len = -1
            elif key_is(k, kl, "success", 7):
                if seen & BY_success:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= BY_success
                cur_peek(&c)
                success_at = c.i
                if _lit(c.p, c.i, c.n, "true", 4):
                    success = 1
                elif _lit(c.p, c.i, c.n, "false", 5):
                    success = 0
                else:
                    success = -1
                rc = cur_skip_value(&c, 0)
            elif key_is(k, kl, "ts", 2):
                if seen & BY_ts:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= BY_ts
                rc = _by_ms(&c, &ts, &pd)
            elif key_is(k, kl, "data", 4):
                if seen & BY_data:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= BY_data
                if cur_peek(&c) == b'{':
                    rc = _by_data(&c, b, &seen, &pd, &sym, &sym_len, &u)
                else:
                    _pend(&pd, DEC_WRONG_TYPE, c.i,
                          "field 'data' has the wrong type (expected object)")
                    rc = cur_skip_value(&c, 0)
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
    if not seen & BY_topic:
        # not a stream message: an ack, a pong or an error
        b.n_levels = 0
        if seen & BY_success:
            if success < 0:
                return _fail_batch(b, DEC_WRONG_TYPE, success_at,
                                   "field 'success' has the wrong type (expected true or false)")
            if success == 0:
                b.msg_kind = MSG_VENUE_ERROR
                return DEC_OK
        if seen & BY_op:
            if op_len < 0:
                return _fail_batch(b, DEC_WRONG_TYPE, op_at,
                                   "field 'op' has the wrong type (expected string)")
            if _span_is(op, op_len, "ping", 4) or _span_is(op, op_len, "pong", 4):
                b.msg_kind = MSG_HEARTBEAT
            else:
                b.msg_kind = MSG_CONTROL
            return DEC_OK
        if seen & BY_success:
            b.msg_kind = MSG_CONTROL
            return DEC_OK
        return _missing(b, "field 'topic' missing")
    if topic_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, -1,
                           "field 'topic' has the wrong type (expected string)")
    if topic_len < 10 or memcmp(topic, b"orderbook.", 10) != 0:
        b.n_levels = 0
        b.msg_kind = MSG_IGNORED        # another channel's topic (publicTrade, tickers, ...)
        return DEC_OK
    if depth_one != NULL:
        depth_one[0] = topic_len >= 12 and memcmp(topic, b"orderbook.1.", 12) == 0
    if not seen & BY_type:
        return _missing(b, "field 'type' missing")
    if typ_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, typ_at,
                           "field 'type' has the wrong type (expected string)")
    snap = _span_is(typ, typ_len, "snapshot", 8)
    if not snap and not _span_is(typ, typ_len, "delta", 5):
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, typ_at,
                           "field 'type' is not 'snapshot' or 'delta'")
    if pd.code != DEC_OK:
        return _fail_batch(b, pd.code, pd.at, pd.detail)
    if not seen & BY_ts:
        return _missing(b, "field 'ts' missing")
    if not seen & BY_data:
        return _missing(b, "field 'data' missing")
    if not seen & BY_s:
        return _missing(b, "field 's' missing")
    if not seen & BY_b:
        return _missing(b, "field 'b' missing")
    if not seen & BY_a:
        return _missing(b, "field 'a' missing")
    if not seen & BY_u:
        return _missing(b, "field 'u' missing")
    if u < 0 or u > MAX_UPDATE_ID:
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'u' out of range")
    if not _ns_from_ms_ok(ts):
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'ts' out of range")
    # the topic names the book: its last part must be the data's symbol
    i = topic_len
    while i > 0 and topic[i - 1] != b'.':
        i -= 1
    if topic_len - i != sym_len or memcmp(topic + i, sym, <size_t>sym_len) != 0:
        return _fail_batch(b, DEC_MISPLACED_FIELD, -1,
                           "field 's' does not match the topic's symbol")
    b.first_id = u
    b.last_id = u
    b.event_time_ns = ts * 1000000
    seg = batch_next_seg(b)
    if seg == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
    seg.symbol_ptr = sym
    seg.symbol_len = <int32_t>sym_len
    seg.kind = SEG_SNAPSHOT if snap else SEG_UPDATE
    seg.start = 0
    seg.count = b.n_levels
    seg.event_time_ns = b.event_time_ns
    b.msg_kind = MSG_SNAPSHOT if snap else MSG_DEPTH
    return DEC_OK


_register("bybit", decode_bybit)
