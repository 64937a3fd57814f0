# Included by _parse.pyx. Binance: depthUpdate events (spot and USD-M, raw or combined
# stream) and REST snapshots.

cdef enum:
    BN_e = 1 << 0
    BN_E = 1 << 1
    BN_T = 1 << 2
    BN_s = 1 << 3
    BN_U = 1 << 4
    BN_u = 1 << 5
    BN_pu = 1 << 6
    BN_b = 1 << 7
    BN_a = 1 << 8
    BN_data = 1 << 9
    BN_code = 1 << 10
    BN_result = 1 << 11
    BN_id = 1 << 12
    BN_lastUpdateId = 1 << 13
    _BN_EVENT_FIELDS = BN_e | BN_E | BN_T | BN_s | BN_U | BN_u | BN_pu | BN_b | BN_a


ctypedef struct BnObj:
    uint32_t seen
    Pending pd
    const char* e
    Py_ssize_t e_len            # -1: present but not a string
    Py_ssize_t e_at
    const char* s
    Py_ssize_t s_len
    int64_t E
    int64_t T
    int64_t U
    int64_t u
    int64_t pu
    int64_t last_update_id
    bint data_bad
    Py_ssize_t data_at


cdef inline void _bn_init(BnObj* o) noexcept nogil:
    o.seen = 0
    o.pd.code = DEC_OK
    o.pd.at = -1
    o.pd.detail = NULL
    o.e = NULL
    o.e_len = 0
    o.e_at = -1
    o.s = NULL
    o.s_len = 0
    o.E = o.T = o.U = o.u = o.pu = o.last_update_id = 0
    o.data_bad = False
    o.data_at = -1


cdef int _bn_object(Cursor* c, DeltaBatch* b, BnObj* o, BnObj* inner,
                    bint snap) noexcept nogil:
    """Members of one Binance object into ``o``; ``inner`` (top level only) receives a
    combined-stream ``data`` object. ``snap``: a REST snapshot body (keys ``lastUpdateId``,
    ``bids``, ``asks``, ``E``, ``T``); else an event (``e E T s U u pu b a``). Unknown
    members of any type are validated and skipped; any key given twice fails."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef char ch
    cdef KeySet ks              # every other key, for duplicates
    ks.n = 0
    if cur_expect(c, b'{') < 0:
        return -1
    if cur_peek(c) == b'}':
        c.i += 1
        return 0
    while True:
        if cur_key(c, &k, &kl) < 0:
            return -1
        rc = 0
        if kl == 1 and not (snap and k[0] != b'E' and k[0] != b'T'):
            ch = k[0]
            if ch == b'e':
                if o.seen & BN_e:
                    return _dup(c)
                o.seen |= BN_e
                cur_peek(c)
                o.e_at = c.i
                rc = _str_field(c, &o.e, &o.e_len, &o.pd,
                                "field 'e' has the wrong type (expected string)")
                if rc == 1:
                    o.e_len = -1
            elif ch == b'E':
                if o.seen & BN_E:
                    return _dup(c)
                o.seen |= BN_E
                rc = _int_field(c, &o.E, &o.pd,
                                "field 'E' has the wrong type (expected integer)",
                                "field 'E' out of range")
            elif ch == b's':
                if o.seen & BN_s:
                    return _dup(c)
                o.seen |= BN_s
                rc = _sym_field(c, &o.s, &o.s_len, &o.pd,
                                "field 's' has the wrong type (expected string)",
                                "field 's' contains an escape (symbols must be plain strings)",
                                "field 's' is not valid UTF-8")
            elif ch == b'U':
                if o.seen & BN_U:
                    return _dup(c)
                o.seen |= BN_U
                rc = _int_field(c, &o.U, &o.pd,
                                "field 'U' has the wrong type (expected integer)",
                                "field 'U' out of range")
            elif ch == b'u':
                if o.seen & BN_u:
                    return _dup(c)
                o.seen |= BN_u
                rc = _int_field(c, &o.u, &o.pd,
                                "field 'u' has the wrong type (expected integer)",
                                "field 'u' out of range")
            elif ch == b'b':
                if o.seen & BN_b:
                    return _dup(c)
                o.seen |= BN_b
                rc = _levels(c, b, SIDE_BID, False, &o.pd,
                             "field 'b' has the wrong type (expected [price, size] string pairs)")
            elif ch == b'a':
                if o.seen & BN_a:
                    return _dup(c)
                o.seen |= BN_a
                rc = _levels(c, b, SIDE_ASK, False, &o.pd,
                             "field 'a' has the wrong type (expected [price, size] string pairs)")
            elif ch == b'T':
                if o.seen & BN_T:
                    return _dup(c)
                o.seen |= BN_T
                rc = _int_field(c, &o.T, &o.pd,
                                "field 'T' has the wrong type (expected integer)",
                                "field 'T' out of range")
            elif key_set_add(c, &ks, k, kl) < 0:
                return -1
            else:
                rc = cur_skip_value(c, 0)
        elif not snap and kl == 2 and k[0] == b'p' and k[1] == b'u':
            if o.seen & BN_pu:
                return _dup(c)
            o.seen |= BN_pu
            rc = _int_field(c, &o.pu, &o.pd,
                            "field 'pu' has the wrong type (expected integer)",
                            "field 'pu' out of range")
        elif inner != NULL and key_is(k, kl, "data", 4):
            if o.seen & BN_data:
                return _dup(c)
            o.seen |= BN_data
            if cur_peek(c) == b'{':
                rc = _bn_object(c, b, inner, NULL, False)
            else:
                o.data_bad = True
                o.data_at = c.i
                rc = cur_skip_value(c, 0)
        elif snap and key_is(k, kl, "lastUpdateId", 12):
            if o.seen & BN_lastUpdateId:
                return _dup(c)
            o.seen |= BN_lastUpdateId
            rc = _int_field(c, &o.last_update_id, &o.pd,
                            "field 'lastUpdateId' has the wrong type (expected integer)",
                            "field 'lastUpdateId' out of range")
        elif snap and key_is(k, kl, "bids", 4):
            if o.seen & BN_b:
                return _dup(c)
            o.seen |= BN_b
            rc = _levels(c, b, SIDE_BID, False, &o.pd,
                         "field 'bids' has the wrong type (expected [price, size] string pairs)")
        elif snap and key_is(k, kl, "asks", 4):
            if o.seen & BN_a:
                return _dup(c)
            o.seen |= BN_a
            rc = _levels(c, b, SIDE_ASK, False, &o.pd,
                         "field 'asks' has the wrong type (expected [price, size] string pairs)")
        else:
            if key_set_add(c, &ks, k, kl) < 0:
                return -1
            if key_is(k, kl, "code", 4):
                o.seen |= BN_code
            elif key_is(k, kl, "result", 6):
                o.seen |= BN_result
            elif key_is(k, kl, "id", 2):
                o.seen |= BN_id
            rc = cur_skip_value(c, 0)
        if rc < 0:
            return -1
        rc = cur_next(c, b'}')
        if rc <= 0:
            return rc


cdef Py_ssize_t _bn_fast_event(const char* p, Py_ssize_t i, Py_ssize_t n,
                               DeltaBatch* b) noexcept nogil:
    """The event in Binance's own field order and spacing, at ``p[i] == '{'``:
    ``{"e":"depthUpdate","E":..[,"T":..],"s":"..","U":..,"u":..[,"pu":..],"b":[..],"a":[..]}``.
    Returns the index after its '}' with the batch filled exactly as the general decoder
    would, or -1 on any deviation (the caller then runs the general decoder)."""
    cdef Cursor c
    cdef int64_t E, T = 0, U, u, pu = -1
    cdef const char* sym
    cdef Py_ssize_t j
    cdef Segment* seg
    cdef TightScan ts
    if not _lit(p, i, n, '{"e":"depthUpdate","E":', 23):
        return -1
    i = ff_fast_uint(p, i + 23, n, &E)
    if i < 0:
        return -1
    if _lit(p, i, n, ',"T":', 5):
        i = ff_fast_uint(p, i + 5, n, &T)
        if i < 0:
            return -1
    if not _lit(p, i, n, ',"s":"', 6):
        return -1
    i += 6
    j = ff_scan_string(p, i, n)
    if j >= n or p[j] != b'"' or j - i > INT32_MAX:
        return -1
    sym = p + i
    while i < j:                    # non-ASCII symbol: the general path validates it
        if <unsigned char>p[i] >= 0x80:
            return -1
        i += 1
    if not _lit(p, j, n, '","U":', 6):
        return -1
    i = ff_fast_uint(p, j + 6, n, &U)
    if i < 0 or not _lit(p, i, n, ',"u":', 5):
        return -1
    i = ff_fast_uint(p, i + 5, n, &u)
    if i < 0 or U > u:              # U > u: the general path rejects it
        return -1
    if _lit(p, i, n, ',"pu":', 6):
        i = ff_fast_uint(p, i + 6, n, &pu)
        if i < 0:
            return -1
    if not _lit(p, i, n, ',"b":[', 6):
        return -1
    cur_init(&c, p, n)
    c.i = i + 5
    tight_scan_init(&ts)            # the asks reuse the bitmaps classified for the bids
    if _levels_tight(&c, b, SIDE_BID, &ts) < 0 or not _lit(p, c.i, n, ',"a":[', 6):
        return -1
    c.i += 5
    if _levels_tight(&c, b, SIDE_ASK, &ts) < 0 or not _lit(p, c.i, n, '}', 1):
        return -1
    if not _ns_from_ms_ok(E) or not _ns_from_ms_ok(T):
        return -1
    seg = batch_next_seg(b)
    if seg == NULL:
        return -1
    seg.symbol_ptr = sym
    seg.symbol_len = <int32_t>(j - (sym - p))
    seg.kind = SEG_UPDATE
    seg.start = 0
    seg.count = b.n_levels
    seg.event_time_ns = E * 1000000
    b.msg_kind = MSG_DEPTH
    b.first_id = U
    b.last_id = u
    b.prev_id = pu
    b.event_time_ns = E * 1000000
    b.txn_time_ns = T * 1000000
    return c.i + 1


cdef int _bn_fast(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """A raw or combined-stream depth event exactly as Binance formats it: DEC_OK, or -1
    to run the general decoder (the batch is then reset by the caller)."""
    cdef Py_ssize_t i
    if _lit(p, 0, n, '{"stream":"', 11):
        i = ff_scan_string(p, 11, n)
        if not _lit(p, i, n, '","data":', 9):
            return -1
        i = _bn_fast_event(p, i + 9, n, b)
        if i < 0 or not _lit(p, i, n, '}', 1):
            return -1
        i += 1
    else:
        i = _bn_fast_event(p, 0, n, b)
    if i != n:                      # trailing whitespace or data: the general path decides
        return -1
    return DEC_OK


cdef int decode_binance_depth(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Binance spot/USD-M ``depthUpdate`` (raw or combined-stream form), subscribe results
    (MSG_CONTROL), ``{"code":..}`` errors (MSG_VENUE_ERROR), other events (MSG_IGNORED)."""
    batch_reset(b)
    if _bn_fast(p, n, b) == DEC_OK:
        return DEC_OK
    return _bn_general(p, n, b)


cdef int _bn_general(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    # decode_binance_depth without its fast path: what alone decides anything unusual
    cdef Cursor c
    cdef BnObj top
    cdef BnObj inner
    cdef BnObj* ev = &top
    cdef Segment* seg
    batch_reset(b)
    cur_init(&c, p, n)
    _bn_init(&top)
    _bn_init(&inner)
    if _bn_object(&c, b, &top, &inner, False) < 0 or _end_of_payload(&c) < 0:
        return _fail_cursor(b, &c)
    if top.seen & BN_data:
        if top.data_bad:
            return _fail_batch(b, DEC_WRONG_TYPE, top.data_at,
                               "field 'data' has the wrong type (expected object)")
        if top.seen & _BN_EVENT_FIELDS:
            # the event is "data"; its fields next to it (b/a above all) are not ours
            return _fail_batch(b, DEC_MISPLACED_FIELD, -1,
                               "event field next to 'data' in a combined-stream envelope")
        ev = &inner
    if ev.seen & BN_e:
        if ev.e_len < 0:
            return _fail_batch(b, DEC_WRONG_TYPE, ev.e_at,
                               "field 'e' has the wrong type (expected string)")
        if not _span_is(ev.e, ev.e_len, "depthUpdate", 11):
            if not utf8_ok(ev.e, ev.e_len):
                return _fail_batch(b, DEC_BAD_UTF8, ev.e_at, "field 'e' is not valid UTF-8")
            b.n_levels = 0
            b.msg_kind = MSG_IGNORED
            return DEC_OK
        if ev.pd.code != DEC_OK:
            return _fail_batch(b, ev.pd.code, ev.pd.at, ev.pd.detail)
        if not ev.seen & BN_E:
            return _missing(b, "field 'E' missing")
        if not ev.seen & BN_s:
            return _missing(b, "field 's' missing")
        if not ev.seen & BN_U:
            return _missing(b, "field 'U' missing")
        if not ev.seen & BN_u:
            return _missing(b, "field 'u' missing")
        if not ev.seen & BN_b:
            return _missing(b, "field 'b' missing")
        if not ev.seen & BN_a:
            return _missing(b, "field 'a' missing")
        if not _ns_from_ms_ok(ev.E):
            return _fail_batch(b, DEC_OVERFLOW, -1, "field 'E' out of range")
        if not _ns_from_ms_ok(ev.T):
            return _fail_batch(b, DEC_OVERFLOW, -1, "field 'T' out of range")
        # ids in 0..2**62 with U <= u (docs/venues.md#accepted-json): the sequencer
        # relies on it, never applying nor counting as a gap an event that contradicts
        # itself (the fast path's at most 18 digits are in range; it checks U <= u)
        if not 0 <= ev.U <= MAX_UPDATE_ID:
            return _fail_batch(b, DEC_OVERFLOW, -1, "field 'U' out of range (expected 0..2**62)")
        if not 0 <= ev.u <= MAX_UPDATE_ID:
            return _fail_batch(b, DEC_OVERFLOW, -1, "field 'u' out of range (expected 0..2**62)")
        if ev.seen & BN_pu and not 0 <= ev.pu <= MAX_UPDATE_ID:
            return _fail_batch(b, DEC_OVERFLOW, -1,
                               "field 'pu' out of range (expected 0..2**62)")
        if ev.U > ev.u:
            return _fail_batch(b, DEC_ID_ORDER, -1,
                               "field 'U' (first update id) is greater than field 'u' (last)")
        seg = batch_next_seg(b)
        if seg == NULL:
            return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
        seg.symbol_ptr = ev.s
        seg.symbol_len = <int32_t>ev.s_len
        seg.kind = SEG_UPDATE
        seg.start = 0
        seg.count = b.n_levels
        seg.event_time_ns = ev.E * 1000000
        b.msg_kind = MSG_DEPTH
        b.first_id = ev.U
        b.last_id = ev.u
        b.prev_id = ev.pu if ev.seen & BN_pu else -1
        b.event_time_ns = ev.E * 1000000
        b.txn_time_ns = ev.T * 1000000
        return DEC_OK
    b.n_levels = 0
    if ev.seen & BN_code:
        b.msg_kind = MSG_VENUE_ERROR
        return DEC_OK
    if ev.seen & (BN_result | BN_id):
        b.msg_kind = MSG_CONTROL
        return DEC_OK
    return _missing(b, "field 'e' missing")


cdef int decode_binance_snapshot(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Binance REST depth body (spot; USD-M adds ``E``/``T``) → one SEG_SNAPSHOT segment;
    ``{"code":..,"msg":..}`` error bodies → MSG_VENUE_ERROR."""
    cdef Cursor c
    cdef BnObj o
    cdef Segment* seg
    batch_reset(b)
    cur_init(&c, p, n)
    _bn_init(&o)
    if _bn_object(&c, b, &o, NULL, True) < 0 or _end_of_payload(&c) < 0:
        return _fail_cursor(b, &c)
    if (o.seen & BN_code) and not (o.seen & BN_lastUpdateId):
        b.n_levels = 0
        b.msg_kind = MSG_VENUE_ERROR
        return DEC_OK
    if o.pd.code != DEC_OK:
        return _fail_batch(b, o.pd.code, o.pd.at, o.pd.detail)
    if not o.seen & BN_lastUpdateId:
        return _missing(b, "field 'lastUpdateId' missing")
    if not o.seen & BN_b:
        return _missing(b, "field 'bids' missing")
    if not o.seen & BN_a:
        return _missing(b, "field 'asks' missing")
    if not 0 <= o.last_update_id <= MAX_UPDATE_ID:
        return _fail_batch(b, DEC_OVERFLOW, -1,
                           "field 'lastUpdateId' out of range (expected 0..2**62)")
    if not _ns_from_ms_ok(o.E):
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'E' out of range")
    if not _ns_from_ms_ok(o.T):
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'T' out of range")
    seg = batch_next_seg(b)
    if seg == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
    seg.symbol_ptr = NULL
    seg.symbol_len = 0
    seg.kind = SEG_SNAPSHOT
    seg.start = 0
    seg.count = b.n_levels
    seg.event_time_ns = o.E * 1000000
    b.msg_kind = MSG_SNAPSHOT
    b.last_id = o.last_update_id
    b.event_time_ns = o.E * 1000000
    b.txn_time_ns = o.T * 1000000
    return DEC_OK


# -- the differential check of the fast paths (benches/fuzz.py --paths) ---------------

cdef int _decode_convert(DecodeFn fn, const char* p, Py_ssize_t n, DeltaBatch* b,
                         const Grid* pg, const Grid* sg, bint convert) noexcept nogil:
    cdef int rc = fn(p, n, b)
    cdef Py_ssize_t si
    if rc != DEC_OK or not convert:
        return rc
    for si in range(b.n_segs):
        rc = convert_segment(b, &b.segs[si], pg, sg)
        if rc != DEC_OK:
            return rc
    return DEC_OK


cdef str _batch_diff(const DeltaBatch* a, int ra, const DeltaBatch* b, int rb):
    # None if the two batches (and return codes) are the same, field by field
    cdef Py_ssize_t k
    cdef const Delta* x
    cdef const Delta* y
    cdef const Segment* s
    cdef const Segment* t
    if ra != rb or a.error != b.error or a.error_offset != b.error_offset:
        return f"code {ra}/{rb}, error {a.error}/{b.error} at {a.error_offset}/{b.error_offset}"
    if (a.error_detail == NULL) != (b.error_detail == NULL) or (
            a.error_detail != NULL and strcmp(a.error_detail, b.error_detail) != 0):
        return "error detail"
    if ra != DEC_OK:
        return None
    if (a.msg_kind != b.msg_kind or a.first_id != b.first_id or a.last_id != b.last_id
            or a.prev_id != b.prev_id or a.event_time_ns != b.event_time_ns
            or a.txn_time_ns != b.txn_time_ns or a.off_grid != b.off_grid
            or a.decimal_error != b.decimal_error):
        return "header"
    if a.n_levels != b.n_levels or a.n_segs != b.n_segs:
        return f"{a.n_levels}/{b.n_levels} levels, {a.n_segs}/{b.n_segs} segments"
    for k in range(a.n_levels):
        x = &a.levels[k]
        y = &b.levels[k]
        if (x.side != y.side or x.price_ptr != y.price_ptr or x.size_ptr != y.size_ptr
                or x.price_len != y.price_len or x.size_len != y.size_len
                or x.price != y.price or x.size != y.size):
            return f"level {k}: {x.price}/{y.price}, {x.size}/{y.size}"
    for k in range(a.n_segs):
        s = &a.segs[k]
        t = &b.segs[k]
        if (s.symbol_ptr != t.symbol_ptr or s.symbol_len != t.symbol_len or s.kind != t.kind
                or s.start != t.start or s.count != t.count
                or s.event_time_ns != t.event_time_ns):
            return f"segment {k}"
    return None


def _bn_paths(payload, int price_decimals, int size_decimals, int64_t price_tick=1,
              int64_t size_step=1, *, bint snapshot=False) -> tuple:
    """Differential check of the Binance fast paths on one payload (benches/fuzz.py
    ``--paths``; docs/architecture.md#decoder-fast-paths): the decoder at every SIMD level
    this machine runs against the general decoder alone at the scalar level (converted),
    and each level's phase-1 batch against the scalar level's (pre-parses included).
    ``snapshot``: the REST decoder (no fast path; its level arrays take the SIMD loop).
    Returns ``(fast path decided, None or what differed)``."""
    cdef bytes data = bytes(payload)
    cdef const char* p = data
    cdef Py_ssize_t n = len(data)
    cdef DecodeFn fn = decode_binance_snapshot if snapshot else decode_binance_depth
    cdef DecodeFn general = decode_binance_snapshot if snapshot else _bn_general
    cdef DeltaBatch ref, raw, got
    cdef Grid pg, sg
    cdef int r_ref, r_raw, r_got, fast
    cdef int old = ff_simd_level()
    _check_scale(price_decimals, size_decimals, price_tick, size_step)
    grid_init(&pg, price_decimals, price_tick)
    grid_init(&sg, size_decimals, size_step)
    if batch_init(&ref, 64) < 0 or batch_init(&raw, 64) < 0 or batch_init(&got, 64) < 0:
        raise MemoryError()
    diff = None
    try:
        ff_simd_set(FF_SIMD_SCALAR)
        r_ref = _decode_convert(general, p, n, &ref, &pg, &sg, True)
        r_raw = _decode_convert(fn, p, n, &raw, &pg, &sg, False)
        batch_reset(&got)
        fast = not snapshot and _bn_fast(p, n, &got) == DEC_OK
        for level in simd_levels():
            ff_simd_set(_SIMD_NAMES.index(level))
            r_got = _decode_convert(fn, p, n, &got, &pg, &sg, False)
            diff = _batch_diff(&got, r_got, &raw, r_raw)
            if diff is not None:
                diff = f"{level} phase 1 vs scalar: {diff}"
                break
            r_got = _decode_convert(fn, p, n, &got, &pg, &sg, True)
            diff = _batch_diff(&got, r_got, &ref, r_ref)
            if diff is not None:
                diff = f"{level} vs the general decoder: {diff}"
                break
    finally:
        ff_simd_set(old)
        batch_free(&ref)
        batch_free(&raw)
        batch_free(&got)
    return bool(fast), diff


_register("binance-depth", decode_binance_depth)
_register("binance-snapshot", decode_binance_snapshot)
