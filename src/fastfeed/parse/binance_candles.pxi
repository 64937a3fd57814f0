# Included by _parse.pyx. Binance klines: <symbol>@kline_<interval> events, spot and
# USD-M, raw or combined-stream form: {"e":"kline","E":..,"s":..,"k":{"t","T","s","i",
# "f","L","o","c","h","l","v","n","x","q",...}} (docs/venues.md, "Candles"). A fast path
# for Binance's compact form, the general cursor path for anything else.

cdef enum:
    BK_e = 1 << 0
    BK_E = 1 << 1
    BK_s = 1 << 2
    BK_k = 1 << 3
    BK_data = 1 << 4
    BK_code = 1 << 5
    BK_result = 1 << 6
    BK_id = 1 << 7
    _BK_EVENT_FIELDS = BK_e | BK_E | BK_s | BK_k
    # the fields of k read here
    KK_t = 1 << 0
    KK_T = 1 << 1
    KK_s = 1 << 2
    KK_i = 1 << 3
    KK_f = 1 << 4
    KK_L = 1 << 5
    KK_o = 1 << 6
    KK_c = 1 << 7
    KK_h = 1 << 8
    KK_l = 1 << 9
    KK_v = 1 << 10
    KK_n = 1 << 11
    KK_x = 1 << 12
    KK_q = 1 << 13


# the kline's one-letter fields in the order their absence is reported
cdef const char* _KK_ORDER = b"tTsifLochlvnxq"


ctypedef struct BkObj:
    uint32_t seen
    uint32_t kseen
    Pending pd                  # the first type problem in payload order (k's included)
    const char* e
    Py_ssize_t e_len            # -1: present but not a string
    Py_ssize_t e_at
    const char* s
    Py_ssize_t s_len
    int64_t E
    const char* txt[8]          # k's strings: s i o c h l v q
    Py_ssize_t txt_len[8]
    int64_t num[6]              # k's integers: t T f L n, and x (0/1)
    bint data_bad
    Py_ssize_t data_at


cdef inline void _bk_init(BkObj* o) noexcept nogil:
    cdef int j
    o.seen = o.kseen = 0
    o.pd.code = DEC_OK
    o.pd.at = -1
    o.pd.detail = NULL
    o.e = o.s = NULL
    o.e_len = o.s_len = 0
    o.e_at = -1
    o.E = 0
    for j in range(8):
        o.txt[j] = NULL
        o.txt_len[j] = 0
    for j in range(6):
        o.num[j] = 0
    o.data_bad = False
    o.data_at = -1


cdef inline int _kk_slot(char k, uint32_t* bit, int* kind) noexcept nogil:
    """A kline key's bit, its kind (0 string, 1 integer, 2 boolean) and slot; -1: not
    one read here."""
    if k == b's':
        bit[0], kind[0] = KK_s, 0
        return 0
    if k == b'i':
        bit[0], kind[0] = KK_i, 0
        return 1
    if k == b'o':
        bit[0], kind[0] = KK_o, 0
        return 2
    if k == b'c':
        bit[0], kind[0] = KK_c, 0
        return 3
    if k == b'h':
        bit[0], kind[0] = KK_h, 0
        return 4
    if k == b'l':
        bit[0], kind[0] = KK_l, 0
        return 5
    if k == b'v':
        bit[0], kind[0] = KK_v, 0
        return 6
    if k == b'q':
        bit[0], kind[0] = KK_q, 0
        return 7
    if k == b't':
        bit[0], kind[0] = KK_t, 1
        return 0
    if k == b'T':
        bit[0], kind[0] = KK_T, 1
        return 1
    if k == b'f':
        bit[0], kind[0] = KK_f, 1
        return 2
    if k == b'L':
        bit[0], kind[0] = KK_L, 1
        return 3
    if k == b'n':
        bit[0], kind[0] = KK_n, 1
        return 4
    if k == b'x':
        bit[0], kind[0] = KK_x, 2
        return 5
    return -1


# messages by key, indexed like _KK_ORDER
cdef const char* _KK_WRONG[14]
_KK_WRONG[0] = "field 'k.t' has the wrong type (expected integer)"
_KK_WRONG[1] = "field 'k.T' has the wrong type (expected integer)"
_KK_WRONG[2] = "field 'k.s' has the wrong type (expected string)"
_KK_WRONG[3] = "field 'k.i' has the wrong type (expected string)"
_KK_WRONG[4] = "field 'k.f' has the wrong type (expected integer)"
_KK_WRONG[5] = "field 'k.L' has the wrong type (expected integer)"
_KK_WRONG[6] = "field 'k.o' has the wrong type (expected string)"
_KK_WRONG[7] = "field 'k.c' has the wrong type (expected string)"
_KK_WRONG[8] = "field 'k.h' has the wrong type (expected string)"
_KK_WRONG[9] = "field 'k.l' has the wrong type (expected string)"
_KK_WRONG[10] = "field 'k.v' has the wrong type (expected string)"
_KK_WRONG[11] = "field 'k.n' has the wrong type (expected integer)"
_KK_WRONG[12] = "field 'k.x' has the wrong type (expected boolean)"
_KK_WRONG[13] = "field 'k.q' has the wrong type (expected string)"
cdef const char* _KK_MISSING[14]
_KK_MISSING[0] = "field 'k.t' missing"
_KK_MISSING[1] = "field 'k.T' missing"
_KK_MISSING[2] = "field 'k.s' missing"
_KK_MISSING[3] = "field 'k.i' missing"
_KK_MISSING[4] = "field 'k.f' missing"
_KK_MISSING[5] = "field 'k.L' missing"
_KK_MISSING[6] = "field 'k.o' missing"
_KK_MISSING[7] = "field 'k.c' missing"
_KK_MISSING[8] = "field 'k.h' missing"
_KK_MISSING[9] = "field 'k.l' missing"
_KK_MISSING[10] = "field 'k.v' missing"
_KK_MISSING[11] = "field 'k.n' missing"
_KK_MISSING[12] = "field 'k.x' missing"
_KK_MISSING[13] = "field 'k.q' missing"


cdef inline int _kk_index(char k) noexcept nogil:
    cdef int j
    for j in range(14):
        if _KK_ORDER[j] == k:
            return j
    return -1


cdef int _bk_kline(Cursor* c, BkObj* o) noexcept nogil:
    """The members of ``k`` (at '{'). Unknown members are validated and skipped; a
    repeated known key is a duplicate."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc, slot
    cdef Py_ssize_t at
    cdef int kind = 0
    cdef uint32_t bit = 0
    cdef bint flag
    cdef KeySet ks
    ks.n = 0
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
        return 0
    while True:
        if cur_key(c, &k, &kl) < 0:
            return -1
        slot = _kk_slot(k[0], &bit, &kind) if kl == 1 else -1
        if slot >= 0:
            if o.kseen & bit:
                return _dup(c)
            o.kseen |= bit
            if kind == 0 and slot == 0:
                rc = _sym_field(c, &o.txt[0], &o.txt_len[0], &o.pd, _KK_WRONG[2],
                                "field 'k.s' contains an escape (symbols must be plain strings)",
                                "field 'k.s' is not valid UTF-8")
            elif kind == 0:
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &o.txt[slot], &o.txt_len[slot], &o.pd,
                                _KK_WRONG[_kk_index(k[0])])
                if rc == 0 and slot == 1 and not utf8_ok(o.txt[1], o.txt_len[1]):
                    _pend(&o.pd, DEC_BAD_UTF8, at, "field 'k.i' is not valid UTF-8")
            elif kind == 1:
                rc = _int_field(c, &o.num[slot], &o.pd, _KK_WRONG[_kk_index(k[0])],
                                "field 'k.n' out of range" if slot == 4 else
                                "field 'k.t' out of range" if slot == 0 else
                                "field 'k.T' out of range" if slot == 1 else
                                "field 'k.f' out of range" if slot == 2 else
                                "field 'k.L' out of range")
            else:
                rc = _bool_field(c, &flag, &o.pd, _KK_WRONG[12])
                if rc == 0:
                    o.num[5] = 1 if flag else 0
        else:
            if key_set_add(c, &ks, k, kl) < 0:
                return -1
            rc = cur_skip_value(c, 0)
        if rc < 0:
            return -1
        rc = cur_next(c, b'}')
        if rc <= 0:
            return rc


cdef int _bk_object(Cursor* c, BkObj* o, BkObj* inner) noexcept nogil:
    """Members of one Binance object into ``o``; ``inner`` (top level only) receives a
    combined-stream ``data`` object."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef KeySet ks
    ks.n = 0
    cdef Pending e_pd
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
        if key_is(k, kl, "e", 1):
            if o.seen & BK_e:
                return _dup(c)
            o.seen |= BK_e
            cur_peek(c)
            o.e_at = c.i
            rc = _str_field(c, &o.e, &o.e_len, &e_pd, NULL)
            if rc == 1:
                o.e_len = -1
        elif key_is(k, kl, "E", 1):
            if o.seen & BK_E:
                return _dup(c)
            o.seen |= BK_E
            rc = _int_field(c, &o.E, &o.pd, "field 'E' has the wrong type (expected integer)",
                            "field 'E' out of range")
        elif key_is(k, kl, "s", 1):
            if o.seen & BK_s:
                return _dup(c)
            o.seen |= BK_s
            rc = _sym_field(c, &o.s, &o.s_len, &o.pd,
                            "field 's' has the wrong type (expected string)",
                            "field 's' contains an escape (symbols must be plain strings)",
                            "field 's' is not valid UTF-8")
        elif key_is(k, kl, "k", 1):
            if o.seen & BK_k:
                return _dup(c)
            o.seen |= BK_k
            if cur_peek(c) == b'{':
                rc = _bk_kline(c, o)
            else:
                _pend(&o.pd, DEC_WRONG_TYPE, c.i,
                      "field 'k' has the wrong type (expected object)")
                rc = cur_skip_value(c, 0)
        elif inner != NULL and key_is(k, kl, "data", 4):
            if o.seen & BK_data:
                return _dup(c)
            o.seen |= BK_data
            if cur_peek(c) == b'{':
                rc = _bk_object(c, inner, NULL)
            else:
                o.data_bad = True
                o.data_at = c.i
                rc = cur_skip_value(c, 0)
        else:
            if key_is(k, kl, "code", 4):
                o.seen |= BK_code
            elif key_is(k, kl, "result", 6):
                o.seen |= BK_result
            elif key_is(k, kl, "id", 2):
                o.seen |= BK_id
            if key_set_add(c, &ks, k, kl) < 0:
                return -1
            rc = cur_skip_value(c, 0)
        if rc < 0:
            return -1
        rc = cur_next(c, b'}')
        if rc <= 0:
            return rc


cdef inline Py_ssize_t _bk_fast_value(const char* p, Py_ssize_t i, Py_ssize_t n, int kind,
                                      bint ascii, const char** txt, Py_ssize_t* txt_len,
                                      int64_t* num) noexcept nogil:
    """The fast path's value at ``p[i]``: a string without escapes (kind 0; ``ascii``:
    bytes below 0x80 only), an integer of 1..18 digits (kind 1) or a boolean (kind 2);
    kind -1 (an unknown member): any of them, skipped. The index after it, or -1."""
    cdef Py_ssize_t j, m
    cdef int64_t v
    cdef char ch = p[i]
    if ch == b'"':
        if kind > 0:
            return -1
        j = ff_scan_string(p, i + 1, n)
        if j >= n or p[j] != b'"':
            return -1
        if kind == 0:
            if ascii:
                for m in range(i + 1, j):
                    if <unsigned char>p[m] >= 0x80:
                        return -1
            txt[0] = p + i + 1
            txt_len[0] = j - i - 1
        return j + 1
    if b'0' <= ch <= b'9':
        if kind == 0 or kind == 2:
            return -1
        j = ff_fast_uint(p, i, n, &v)
        if j >= 0 and kind == 1:
            num[0] = v
        return j
    if kind == 0 or kind == 1:
        return -1
    if ch == b't' and _lit(p, i, n, "true", 4):
        if kind == 2:
            num[0] = 1
        return i + 4
    if ch == b'f' and _lit(p, i, n, "false", 5):
        if kind == 2:
            num[0] = 0
        return i + 5
    return -1


cdef Py_ssize_t _bk_fast_object(const char* p, Py_ssize_t i, Py_ssize_t n, BkObj* o,
                                BkObj* inner, bint kline) noexcept nogil:
    """The fast path: an object at ``p[i] == '{'`` in Binance's compact form (no
    whitespace, no escapes, ASCII names and symbols, values strings, 1..18-digit
    integers or booleans; any key order, unknown keys too), the event (kline False;
    ``inner``: the top level, which may hold ``data``) or its ``k`` (kline True), filling
    ``o`` exactly as _bk_object / _bk_kline would. The index after its '}', or -1 on any
    deviation: the caller then runs the general decoder (the exact result or error)."""
    cdef Py_ssize_t ks, k
    cdef int slot, kind
    cdef uint32_t bit = 0
    cdef int64_t scratch = 0
    cdef const char* sp = NULL
    cdef Py_ssize_t sl = 0
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
        if kline:
            slot = _kk_slot(p[ks], &bit, &kind) if k - ks == 1 else -1
            if slot >= 0:
                if o.kseen & bit:
                    return -1
                o.kseen |= bit
                if kind == 0:
                    i = _bk_fast_value(p, i, n, 0, slot <= 1, &o.txt[slot],
                                       &o.txt_len[slot], NULL)
                else:
                    i = _bk_fast_value(p, i, n, kind, False, NULL, NULL, &o.num[slot])
            elif not raw_key_new(&unknown, p, ks, k - ks):
                return -1
            else:
                i = _bk_fast_value(p, i, n, -1, False, NULL, NULL, NULL)
        elif k - ks == 1 and p[ks] == b'k':
            if o.seen & BK_k:
                return -1
            o.seen |= BK_k
            i = _bk_fast_object(p, i, n, o, NULL, True)
        elif k - ks == 1 and (p[ks] == b'e' or p[ks] == b's'):
            bit = BK_e if p[ks] == b'e' else BK_s
            if o.seen & bit:
                return -1
            o.seen |= bit
            if bit == BK_e:
                o.e_at = i
            i = _bk_fast_value(p, i, n, 0, True, &sp, &sl, NULL)
            if bit == BK_e:
                o.e, o.e_len = sp, sl
            else:
                o.s, o.s_len = sp, sl
        elif k - ks == 1 and p[ks] == b'E':
            if o.seen & BK_E:
                return -1
            o.seen |= BK_E
            i = _bk_fast_value(p, i, n, 1, False, NULL, NULL, &o.E)
        elif inner != NULL and k - ks == 4 and _lit(p, ks, k, "data", 4):
            if o.seen & BK_data:
                return -1
            o.seen |= BK_data
            i = _bk_fast_object(p, i, n, inner, NULL, False)
        elif not raw_key_new(&unknown, p, ks, k - ks):
            return -1
        else:
            if k - ks == 4 and _lit(p, ks, k, "code", 4):
                o.seen |= BK_code
            elif k - ks == 6 and _lit(p, ks, k, "result", 6):
                o.seen |= BK_result
            elif k - ks == 2 and _lit(p, ks, k, "id", 2):
                o.seen |= BK_id
            i = _bk_fast_value(p, i, n, -1, False, NULL, NULL, &scratch)
        if i < 0 or i >= n:
            return -1
        if p[i] == b',':
            i += 1
        elif p[i] == b'}':
            return i + 1
        else:
            return -1


# largest ms value whose ns, plus one more ms, fits int64
cdef int64_t _BK_MAX_MS = 9223372036853


cdef int decode_binance_candles(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Binance ``kline`` events (spot and USD-M, raw or combined-stream form) →
    MSG_CANDLES with one candle; subscribe results → MSG_CONTROL, ``{"code":..}`` →
    MSG_VENUE_ERROR, other events (``continuous_kline`` too) → MSG_IGNORED. Every field
    of ``k`` listed in _KK_ORDER is required; ``k.s`` must equal ``s``; ``f``/``L`` are
    -1 (no trade) or 0..2**62; ``T`` must not be before ``t``."""
    cdef Cursor c
    cdef BkObj top
    cdef BkObj inner
    cdef BkObj* ev = &top
    cdef Segment* seg
    cdef Delta* d
    cdef Candle* cd
    cdef int j
    cdef uint32_t bit = 0
    cdef int kind = 0
    batch_reset(b)
    _bk_init(&top)
    _bk_init(&inner)
    if _bk_fast_object(p, 0, n, &top, &inner, False) != n:
        _bk_init(&top)
        _bk_init(&inner)
        cur_init(&c, p, n)
        if _bk_object(&c, &top, &inner) < 0 or _end_of_payload(&c) < 0:
            return _fail_cursor(b, &c)
    if top.seen & BK_data:
        if top.data_bad:
            return _fail_batch(b, DEC_WRONG_TYPE, top.data_at,
                               "field 'data' has the wrong type (expected object)")
        if top.seen & _BK_EVENT_FIELDS:
            return _fail_batch(b, DEC_MISPLACED_FIELD, -1,
                               "event field next to 'data' in a combined-stream envelope")
        ev = &inner
    if not ev.seen & BK_e:
        if ev.seen & BK_code:
            b.msg_kind = MSG_VENUE_ERROR
            return DEC_OK
        if ev.seen & (BK_result | BK_id):
            b.msg_kind = MSG_CONTROL
            return DEC_OK
        return _missing(b, "field 'e' missing")
    if ev.e_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, ev.e_at,
                           "field 'e' has the wrong type (expected string)")
    if not _span_is(ev.e, ev.e_len, "kline", 5):
        if not utf8_ok(ev.e, ev.e_len):
            return _fail_batch(b, DEC_BAD_UTF8, ev.e_at, "field 'e' is not valid UTF-8")
        b.msg_kind = MSG_IGNORED
        return DEC_OK
    if ev.pd.code != DEC_OK:
        return _fail_batch(b, ev.pd.code, ev.pd.at, ev.pd.detail)
    if not ev.seen & BK_E:
        return _missing(b, "field 'E' missing")
    if not ev.seen & BK_s:
        return _missing(b, "field 's' missing")
    if not ev.seen & BK_k:
        return _missing(b, "field 'k' missing")
    for j in range(14):
        _kk_slot(_KK_ORDER[j], &bit, &kind)
        if not ev.kseen & bit:
            return _missing(b, _KK_MISSING[j])
    if not _ns_from_ms_ok(ev.E):
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'E' out of range")
    if not 0 <= ev.num[0] <= _BK_MAX_MS:
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'k.t' out of range")
    if not 0 <= ev.num[1] <= _BK_MAX_MS:
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'k.T' out of range")
    if ev.num[1] < ev.num[0]:
        return _fail_batch(b, DEC_ID_ORDER, -1, "field 'k.T' is before 'k.t'")
    if not -1 <= ev.num[2] <= MAX_UPDATE_ID:
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'k.f' out of range (expected -1..2**62)")
    if not -1 <= ev.num[3] <= MAX_UPDATE_ID:
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'k.L' out of range (expected -1..2**62)")
    if not 0 <= ev.num[4] <= MAX_UPDATE_ID:
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'k.n' out of range (expected 0..2**62)")
    if ev.s_len != ev.txt_len[0] or memcmp(ev.s, ev.txt[0], <size_t>ev.s_len) != 0:
        return _fail_batch(b, DEC_MISPLACED_FIELD, -1, "field 'k.s' differs from 's'")
    cd = batch_next_candle(b, &d)
    seg = batch_next_seg(b)
    if cd == NULL or seg == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "out of memory")
    cd.symbol_ptr = ev.txt[0]
    cd.symbol_len = <int32_t>ev.txt_len[0]
    cd.interval_ptr = ev.txt[1]
    cd.interval_len = <int32_t>ev.txt_len[1]
    cd.open_ptr = ev.txt[2]
    cd.open_len = <int32_t>ev.txt_len[2]
    cd.close_ptr = ev.txt[3]
    cd.close_len = <int32_t>ev.txt_len[3]
    cd.high_ptr = ev.txt[4]
    cd.high_len = <int32_t>ev.txt_len[4]
    cd.low_ptr = ev.txt[5]
    cd.low_len = <int32_t>ev.txt_len[5]
    cd.volume_ptr = ev.txt[6]
    cd.volume_len = <int32_t>ev.txt_len[6]
    cd.quote_ptr = ev.txt[7]
    cd.quote_len = <int32_t>ev.txt_len[7]
    cd.open_ns = ev.num[0] * 1000000
    cd.close_ns = (ev.num[1] + 1) * 1000000
    cd.first_id = ev.num[2]
    cd.last_id = ev.num[3]
    cd.trades = ev.num[4]
    cd.closed = <int8_t>ev.num[5]
    d.price_ptr = cd.close_ptr
    d.price_len = cd.close_len
    d.size_ptr = cd.volume_ptr
    d.size_len = cd.volume_len
    d.price = d.size = 0            # no pre-parse: phase 2 reads the text
    d.side = SIDE_BID
    seg.symbol_ptr = cd.symbol_ptr
    seg.symbol_len = cd.symbol_len
    seg.kind = SEG_UPDATE
    seg.start = 0
    seg.count = 1
    seg.event_time_ns = ev.E * 1000000
    b.msg_kind = MSG_CANDLES
    b.event_time_ns = ev.E * 1000000
    return DEC_OK


_register("binance-candles", decode_binance_candles)
