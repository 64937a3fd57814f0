# Included by _parse.pyx. Decoder plumbing shared by the venues: pending errors, batch
# failures, typed fields, and the [price, size] level arrays (tight, fast, general).

# Snapshot ids and sequence numbers must leave room for id + 1 (a fastfeed bound; live
# values are ~1e11): anything outside 0..2**62 is rejected as out of range.
cdef int64_t MAX_UPDATE_ID = 4611686018427387904


ctypedef struct Pending:
    # The first type/range/shape problem seen, reported only if the message turns out to
    # be one we consume (a trade event with an odd field is not our business).
    int code
    Py_ssize_t at
    const char* detail


cdef inline void _pend(Pending* pd, int code, Py_ssize_t at, const char* detail) noexcept nogil:
    if pd.code == DEC_OK:
        pd.code = code
        pd.at = at
        pd.detail = detail


cdef inline int _fail_batch(DeltaBatch* b, int code, Py_ssize_t at,
                            const char* detail) noexcept nogil:
    b.error = code
    b.error_offset = at
    b.error_detail = detail
    b.msg_kind = MSG_NONE
    b.n_levels = 0
    b.n_segs = 0
    return code


cdef inline int _fail_cursor(DeltaBatch* b, Cursor* c) noexcept nogil:
    return _fail_batch(b, c.err, c.err_at, c.err_detail)


cdef inline int _int_field(Cursor* c, int64_t* out, Pending* pd, const char* wrong,
                           const char* big) noexcept nogil:
    """0: value read; 1: valid JSON but not an int64 (pended, skipped); -1: failure."""
    cdef int rc = cur_int64(c, out)
    if rc == 0:
        return 0
    if rc == -1:
        return -1
    _pend(pd, DEC_WRONG_TYPE if rc == -2 else DEC_OVERFLOW, c.i, wrong if rc == -2 else big)
    return 1 if cur_skip_value(c, 0) == 0 else -1


cdef inline int _str_field(Cursor* c, const char** s, Py_ssize_t* slen, Pending* pd,
                           const char* wrong) noexcept nogil:
    """0: string span read; 1: another JSON type (pended, skipped); -1: failure."""
    if cur_peek(c) == b'"':
        return 0 if cur_string(c, s, slen) >= 0 else -1
    _pend(pd, DEC_WRONG_TYPE, c.i, wrong)
    return 1 if cur_skip_value(c, 0) == 0 else -1


cdef inline bint _span_is(const char* s, Py_ssize_t slen, const char* lit,
                          Py_ssize_t litlen) noexcept nogil:
    """A name (type, channel, side) equals ``lit`` as JSON means it: an escaped span is
    longer than what it decodes to, so only a longer span can be an escaped match."""
    if slen == litlen:
        return memcmp(s, lit, <size_t>litlen) == 0
    return slen > litlen and _span_is_escaped(s, slen, lit, litlen)


cdef bint _span_is_escaped(const char* s, Py_ssize_t slen, const char* lit,
                           Py_ssize_t litlen) noexcept nogil:
    cdef char buf[32]
    cdef Py_ssize_t m
    if memchr(s, b'\\', <size_t>slen) == NULL:
        return False
    m = unescape_ascii(s, slen, buf, 32)
    return m == litlen and memcmp(buf, lit, <size_t>litlen) == 0


cdef inline int _sym_field(Cursor* c, const char** s, Py_ssize_t* slen, Pending* pd,
                           const char* wrong, const char* escaped,
                           const char* bad_utf8) noexcept nogil:
    """A symbol (``s``, ``product_id``): like _str_field, and a symbol with an escape or
    invalid UTF-8 is pended (routing compares raw bytes; never route a mis-read name)."""
    cdef int rc
    cdef Py_ssize_t at
    if cur_peek(c) != b'"':
        _pend(pd, DEC_WRONG_TYPE, c.i, wrong)
        return 1 if cur_skip_value(c, 0) == 0 else -1
    at = c.i
    rc = cur_string(c, s, slen)
    if rc < 0:
        return -1
    if rc == 1:
        _pend(pd, DEC_ESCAPED_STRING, at, escaped)
    elif not utf8_ok(s[0], slen[0]):
        _pend(pd, DEC_BAD_UTF8, at, bad_utf8)
    return 0


cdef inline Py_ssize_t _dec_string(const char* p, Py_ssize_t i, Py_ssize_t n,
                                   int64_t* pre) noexcept nogil:
    """At i, just past a '"': the index of the closing quote of an escape-free string, or
    -1 (escape, control character or unterminated). *pre gets the phase-1 pre-parse
    (negative, see _convert_value) when the text is a plain decimal, else 0."""
    cdef char buf[32]
    cdef uint64_t v
    cdef Py_ssize_t k
    if n - i >= 24:
        k = ff_pre_decimal(p + i, &v)
    else:
        # near the end of the payload: pre-parse a zero-padded copy (a NUL is neither a
        # digit nor a quote, so only real bytes can end the string)
        memset(buf, 0, 32)
        memcpy(buf, p + i, <size_t>(n - i))
        k = ff_pre_decimal(buf, &v)
    if k >= 0:
        pre[0] = ~(<int64_t>v)
        return i + k
    pre[0] = 0
    k = ff_scan_string(p, i, n)
    if k < n and p[k] == b'"':
        return k
    return -1


cdef int _levels_tight(Cursor* c, DeltaBatch* b, uint8_t side) noexcept nogil:
    """At '[': ``[["price","size"],...]`` with no whitespace and no escapes, the shape
    venues send. 0: parsed (spans recorded, decimals pre-parsed in the same pass);
    -1: any deviation (nothing reported: the caller restores the batch and cursor and
    runs the general loop, which gives the exact result or error)."""
    cdef const char* p = c.p
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t i = c.i + 1
    cdef Py_ssize_t q
    cdef int64_t pre
    cdef Delta* d
    cdef char ch
    if i < n and p[i] == b']':
        c.i = i + 1
        return 0
    while True:
        if n - i < 2 or p[i] != b'[' or p[i + 1] != b'"':
            return -1
        i += 2
        q = _dec_string(p, i, n, &pre)
        if q < 0 or q - i > INT32_MAX:
            return -1
        d = batch_next_level(b)
        if d == NULL:
            return -1
        d.side = side
        d.price_ptr = p + i
        d.price_len = <int32_t>(q - i)
        d.price = pre
        if n - q < 3 or p[q + 1] != b',' or p[q + 2] != b'"':
            return -1
        i = q + 3
        q = _dec_string(p, i, n, &pre)
        if q < 0 or q - i > INT32_MAX:
            return -1
        d.size_ptr = p + i
        d.size_len = <int32_t>(q - i)
        d.size = pre
        if n - q < 3 or p[q + 1] != b']':
            return -1
        ch = p[q + 2]
        i = q + 3
        if ch == b',':
            continue
        if ch == b']':
            c.i = i
            return 0
        return -1


cdef int _levels_fast(Cursor* c, DeltaBatch* b, uint8_t side, bint with_side,
                      Pending* pd) noexcept nogil:
    """0: parsed; 2: the value is not exactly the expected shape; -1: too many levels."""
    cdef const char* s
    cdef Py_ssize_t slen
    cdef Delta* d
    cdef int ch
    if cur_peek(c) != b'[':
        return 2
    c.i += 1
    if cur_peek(c) == b']':
        c.i += 1
        return 0
    while True:
        if cur_peek(c) != b'[':
            return 2
        c.i += 1
        d = batch_next_level(b)
        if d == NULL:
            return cur_fail(c, DEC_TOO_MANY_LEVELS, NULL)
        d.side = side
        d.price = d.size = 0        # no pre-parse: phase 2 reads the text
        if with_side:
            if cur_peek(c) != b'"' or cur_string(c, &s, &slen) < 0:
                return 2
            if _span_is(s, slen, "buy", 3):
                d.side = SIDE_BID
            elif _span_is(s, slen, "sell", 4):
                d.side = SIDE_ASK
            else:
                _pend(pd, DEC_BAD_SIDE, <Py_ssize_t>(s - c.p) - 1,
                      "change side is not 'buy' or 'sell'")
            if cur_peek(c) != b',':
                return 2
            c.i += 1
        if cur_peek(c) != b'"' or cur_string(c, &s, &slen) < 0 or slen > INT32_MAX:
            return 2
        d.price_ptr = s
        d.price_len = <int32_t>slen
        if cur_peek(c) != b',':
            return 2
        c.i += 1
        if cur_peek(c) != b'"' or cur_string(c, &s, &slen) < 0 or slen > INT32_MAX:
            return 2
        d.size_ptr = s
        d.size_len = <int32_t>slen
        if cur_peek(c) != b']':
            return 2
        c.i += 1
        ch = cur_peek(c)
        if ch == b',':
            c.i += 1
        elif ch == b']':
            c.i += 1
            return 0
        else:
            return 2


cdef int _levels(Cursor* c, DeltaBatch* b, uint8_t side, bint with_side, Pending* pd,
                 const char* wrong) noexcept nogil:
    """An array of ``[price, size]`` string arrays (``with_side``: ``[side, price, size]``,
    Coinbase Exchange ``changes``), appended to the batch as Deltas. Returns 0, 1 (pended)
    or -1.

    Fast path for the exact shape; on any deviation the value is re-scanned by
    cur_skip_value: invalid JSON fails with its offset, valid JSON of another shape is
    pended as DEC_WRONG_TYPE (``wrong``). Extra elements in a level (``["1.0","2.0","x"]``)
    are a shape error on purpose: no venue decoded here sends them, so they mean the
    payload is not what we think it is.
    """
    cdef Py_ssize_t saved = b.n_levels
    cdef Pending inner
    cdef Py_ssize_t start
    cdef int rc
    cur_peek(c)
    start = c.i
    if not with_side and start < c.n and c.p[start] == b'[':
        if _levels_tight(c, b, side) == 0:
            return 0
        b.n_levels = saved
        c.i = start
    inner.code = DEC_OK
    inner.at = -1
    inner.detail = NULL
    rc = _levels_fast(c, b, side, with_side, &inner)
    if rc == 0:
        if inner.code != DEC_OK:
            _pend(pd, inner.code, inner.at, inner.detail)
        return 0
    if rc < 0:
        return -1
    b.n_levels = saved
    c.err = DEC_OK
    c.err_detail = NULL
    c.i = start
    if cur_skip_value(c, 0) < 0:
        return -1
    _pend(pd, DEC_WRONG_TYPE, start, wrong)
    return 1


cdef inline int _dup(Cursor* c) noexcept nogil:
    return cur_fail(c, DEC_MALFORMED_JSON, "duplicate field")


cdef inline bint _ns_from_ms_ok(int64_t ms) noexcept nogil:
    # ms * 1_000_000 must fit int64
    return -9223372036854LL <= ms <= 9223372036854LL


cdef inline int _missing(DeltaBatch* b, const char* detail) noexcept nogil:
    return _fail_batch(b, DEC_MISSING_FIELD, -1, detail)


cdef inline bint _lit(const char* p, Py_ssize_t i, Py_ssize_t n, const char* lit,
                      Py_ssize_t length) noexcept nogil:
    return n - i >= length and memcmp(p + i, lit, <size_t>length) == 0
