# Included by _parse.pyx, before the quote decoders. What the BBO and ticker decoders
# share: flat objects read through a field table. One pass over an object records each
# known field's JSON type and span (QVal) and checks duplicates (known fields by index,
# the rest in a KeySet); the decoder then validates the fields it needs in a fixed order
# (the table's order for that message type: the first problem in that order is the one
# reported, the reference twin checks the same order) and descends into known containers
# (Binance `data`, Coinbase `events`/`tickers`) by re-reading them from their offset
# (docs/venues.md, "Best bid/offer" and "Tickers").

cdef enum:
    QK_ABSENT = 0
    QK_STR = 1          # a string without escapes
    QK_ESC = 2          # a string with escapes
    QK_INT = 3          # an integer that fits int64
    QK_BIG = 4          # an integer outside int64
    QK_OBJ = 5
    QK_ARR = 6
    QK_OTHER = 7        # any other JSON value (null, true, 1.5, ...)
    Q_MAX_FIELDS = 32
    # known containers are first validated (skipped) this many levels more leniently: the
    # exact 64-level bound applies to the members read when the decoder descends into them
    Q_CONTAINER_SLACK = 8


ctypedef struct QVal:
    const char* s
    Py_ssize_t len
    int64_t v
    Py_ssize_t at       # offset of the value
    int kind


ctypedef struct QTable:
    int n
    const char* name[Q_MAX_FIELDS]
    Py_ssize_t len[Q_MAX_FIELDS]
    bint container[Q_MAX_FIELDS]
    uint32_t first[256]         # by a key's first byte: the fields whose name starts so
    # the static texts of every problem a field can have (built at import, see _qtable)
    const char* missing[Q_MAX_FIELDS]
    const char* wrong_str[Q_MAX_FIELDS]
    const char* wrong_int[Q_MAX_FIELDS]
    const char* wrong_obj[Q_MAX_FIELDS]
    const char* wrong_arr[Q_MAX_FIELDS]
    const char* out_of_range[Q_MAX_FIELDS]
    const char* escaped[Q_MAX_FIELDS]
    const char* bad_utf8[Q_MAX_FIELDS]


cdef list _Q_TEXTS = []             # keeps the tables' texts alive


cdef const char* _qtext(str text):
    cdef bytes raw = text.encode("ascii")
    _Q_TEXTS.append(raw)
    return raw


cdef int _qtable(QTable* t, str prefix, tuple names, tuple containers=()) except -1:
    """Fill ``t`` with ``names`` (their order is their index) and their problem texts:
    ``"<prefix> 'x' missing"`` and so on, exactly the reference twin's texts."""
    cdef int i
    if len(names) > Q_MAX_FIELDS:
        raise RuntimeError("quote field table too large")
    t.n = len(names)
    for i in range(256):
        t.first[i] = 0
    for i, name in enumerate(names):
        t.first[ord(name[0])] |= <uint32_t>1 << i
        f = f"{prefix} '{name}'"
        t.name[i] = _qtext(name)
        t.len[i] = len(name)
        t.container[i] = name in containers
        t.missing[i] = _qtext(f"{f} missing")
        t.wrong_str[i] = _qtext(f"{f} has the wrong type (expected string)")
        t.wrong_int[i] = _qtext(f"{f} has the wrong type (expected integer)")
        t.wrong_obj[i] = _qtext(f"{f} has the wrong type (expected object)")
        t.wrong_arr[i] = _qtext(f"{f} has the wrong type (expected array of objects)")
        t.out_of_range[i] = _qtext(f"{f} out of range")
        t.escaped[i] = _qtext(f"{f} contains an escape (symbols must be plain strings)")
        t.bad_utf8[i] = _qtext(f"{f} is not valid UTF-8")
    return 0


cdef int _q_value(Cursor* c, QVal* out, bint container) noexcept nogil:
    """One member value: its kind and span (strings), value (integers); others skipped
    (validated). 0, or -1 with the cursor failed."""
    cdef int ch = cur_peek(c)
    cdef int rc
    out.at = c.i
    if ch == b'"':
        rc = cur_string(c, &out.s, &out.len)
        if rc < 0:
            return -1
        out.kind = QK_ESC if rc == 1 else QK_STR
        return 0
    if ch == b'-' or (b'0' <= ch <= b'9'):
        rc = cur_int64(c, &out.v)
        if rc == 0:
            out.kind = QK_INT
            return 0
        if rc == -1:
            return -1
        out.kind = QK_BIG if rc == -3 else QK_OTHER
        return cur_skip_value(c, 0)
    if ch == b'{':
        out.kind = QK_OBJ
    elif ch == b'[':
        out.kind = QK_ARR
    else:
        out.kind = QK_OTHER
    return cur_skip_value(c, -Q_CONTAINER_SLACK if container else 0)


cdef int _q_object(Cursor* c, const QTable* t, QVal* vals, const QTable* sub=NULL,
                   QVal* sub_vals=NULL) noexcept nogil:
    """The object at the cursor ('{' next) into ``vals`` (indexed as ``t``; absent fields
    QK_ABSENT). A repeated key (known or not) is a duplicate. With ``sub``, a container
    field that is an object is read in the same pass into ``sub_vals`` (Binance ``data``:
    one pass over a combined-stream payload). 0, or -1 (cursor failed)."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int i, j, rc
    cdef uint32_t m
    cdef KeySet ks
    ks.n = 0
    for i in range(t.n):
        vals[i].kind = QK_ABSENT
    if cur_expect(c, b'{') < 0:
        return -1
    if cur_peek(c) == b'}':
        c.i += 1
        return 0
    while True:
        if cur_key(c, &k, &kl) < 0:
            return -1
        i = t.n
        m = t.first[<unsigned char>k[0]] if kl > 0 else 0
        while m:
            j = ff_ctz64(m)
            if t.len[j] == kl and memcmp(k, t.name[j], <size_t>kl) == 0:
                i = j
                break
            m &= m - 1
        if i == t.n and k == c.kraw:
            # an escaped key too long to decode into kbuf (best_bid_quantity is 17
            # bytes): compared as JSON means it
            i = 0
            while i < t.n and not _keys_equal(k, kl, t.name[i], t.len[i]):
                i += 1
        if i < t.n:
            if vals[i].kind != QK_ABSENT:
                return _dup(c)
            if sub != NULL and t.container[i] and cur_peek(c) == b'{':
                vals[i].kind = QK_OBJ
                vals[i].at = c.i
                rc = _q_object(c, sub, sub_vals)
            else:
                rc = _q_value(c, &vals[i], t.container[i])
        else:
            if key_set_add(c, &ks, k, kl) < 0:
                return -1
            rc = cur_skip_value(c, 0)
        if rc < 0:
            return -1
        rc = cur_next(c, b'}')
        if rc <= 0:
            return rc


cdef int _q_str(DeltaBatch* b, const QTable* t, const QVal* v, int i,
                bint required) noexcept nogil:
    """1: a string; 0: absent and optional; -1: the batch failed (missing, wrong type)."""
    cdef int k = v[i].kind
    if k == QK_ABSENT:
        if required:
            _fail_batch(b, DEC_MISSING_FIELD, -1, t.missing[i])
            return -1
        return 0
    if k != QK_STR and k != QK_ESC:
        _fail_batch(b, DEC_WRONG_TYPE, v[i].at, t.wrong_str[i])
        return -1
    return 1


cdef int _q_sym(DeltaBatch* b, const QTable* t, const QVal* v, int i) noexcept nogil:
    """A required symbol: a plain (escape-free) valid UTF-8 string. 1, or -1 (failed)."""
    if _q_str(b, t, v, i, True) < 0:
        return -1
    if v[i].kind == QK_ESC:
        _fail_batch(b, DEC_ESCAPED_STRING, v[i].at, t.escaped[i])
        return -1
    if not utf8_ok(v[i].s, v[i].len):
        _fail_batch(b, DEC_BAD_UTF8, v[i].at, t.bad_utf8[i])
        return -1
    return 1


cdef int _q_int(DeltaBatch* b, const QTable* t, const QVal* v, int i, bint required,
                int64_t lo, int64_t hi) noexcept nogil:
    """1: an integer in lo..hi; 0: absent and optional; -1: the batch failed."""
    cdef int k = v[i].kind
    if k == QK_ABSENT:
        if required:
            _fail_batch(b, DEC_MISSING_FIELD, -1, t.missing[i])
            return -1
        return 0
    if k == QK_BIG or (k == QK_INT and not lo <= v[i].v <= hi):
        _fail_batch(b, DEC_OVERFLOW, v[i].at, t.out_of_range[i])
        return -1
    if k != QK_INT:
        _fail_batch(b, DEC_WRONG_TYPE, v[i].at, t.wrong_int[i])
        return -1
    return 1


# Binance millisecond times: ms * 1_000_000 must fit int64 (_ns_from_ms_ok).
cdef int64_t Q_MS_MIN = -9223372036854
cdef int64_t Q_MS_MAX = 9223372036854


cdef inline void _q_text(Quote* q, int which, const QVal* v) noexcept nogil:
    q.text[which] = v.s
    q.text_len[which] = <int32_t>v.len


cdef Delta* _q_side(DeltaBatch* b, const QVal* price, const QVal* size) noexcept nogil:
    """One BBO side as a Delta (price and size text, converted by convert_segment);
    ``size`` NULL: the venue gave no size (a dummy "0", the quote says ``no_sizes``)."""
    cdef Delta* d = batch_next_level(b)
    if d == NULL:
        return NULL
    d.price_ptr = price.s
    d.price_len = <int32_t>price.len
    if size != NULL:
        d.size_ptr = size.s
        d.size_len = <int32_t>size.len
    else:
        d.size_ptr = "0"
        d.size_len = 1
    d.price = d.size = 0            # no pre-parse: phase 2 reads the text
    d.side = SIDE_BID
    return d


cdef int _q_bbo(DeltaBatch* b, const QVal* sym, const QVal* bid, const QVal* bid_size,
                const QVal* ask, const QVal* ask_size, int64_t update_id,
                int64_t time_ns, uint8_t kind) noexcept nogil:
    """Append one BBO segment (bid Delta, ask Delta, its Quote). DEC_OK or a failure."""
    cdef Segment* seg
    cdef Quote* q = batch_next_quote(b, &seg)
    cdef Delta* d
    if q == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
    d = _q_side(b, bid, bid_size)
    if d != NULL:
        d.side = SIDE_BID
        d = _q_side(b, ask, ask_size)
    if d == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "out of memory")
    d.side = SIDE_ASK
    q.update_id = update_id
    q.time_ns = time_ns
    q.no_sizes = bid_size == NULL
    seg.symbol_ptr = sym.s
    seg.symbol_len = <int32_t>sym.len
    seg.kind = kind
    seg.count = 2
    seg.event_time_ns = time_ns
    return DEC_OK


cdef Quote* _q_ticker(DeltaBatch* b, const QVal* sym, int64_t time_ns,
                      uint8_t kind) noexcept nogil:
    """Append one ticker segment (no Deltas) and return its Quote (NULL: batch failed)."""
    cdef Segment* seg
    cdef Quote* q = batch_next_quote(b, &seg)
    if q == NULL:
        _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
        return NULL
    q.time_ns = time_ns
    seg.symbol_ptr = sym.s
    seg.symbol_len = <int32_t>sym.len
    seg.kind = kind
    seg.event_time_ns = time_ns
    return q


cdef int _q_other_type(DeltaBatch* b, const QVal* typ, const char* bad_utf8) noexcept nogil:
    """A message type this decoder does not consume: heartbeat, subscriptions, error or
    ignored (a type that is not valid UTF-8 is rejected, as by the book decoders)."""
    if _span_is(typ.s, typ.len, "heartbeat", 9):
        b.msg_kind = MSG_HEARTBEAT
    elif _span_is(typ.s, typ.len, "subscriptions", 13):
        b.msg_kind = MSG_CONTROL
    elif _span_is(typ.s, typ.len, "error", 5):
        b.msg_kind = MSG_VENUE_ERROR
    elif not utf8_ok(typ.s, typ.len):
        return _fail_batch(b, DEC_BAD_UTF8, typ.at, bad_utf8)
    else:
        b.msg_kind = MSG_IGNORED
    return DEC_OK
