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


cdef inline Py_ssize_t _tight_level(const char* p, Py_ssize_t i, Py_ssize_t n, DeltaBatch* b,
                                    uint8_t side) noexcept nogil:
    """One level ``["price","size"]`` at p[i], the SWAR way: the index just past its ']'
    (readable: the ',' or ']' after it), or -1 on any deviation."""
    cdef Py_ssize_t q
    cdef int64_t pre
    cdef Delta* d
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
    return q + 2


ctypedef Py_ssize_t (*_TightLevelFn)(const char* p, Py_ssize_t i, Py_ssize_t n, DeltaBatch* b,
                                     uint8_t side) noexcept nogil

# _tight_level for the SIMD loops' rare levels and tests: an indirect call, so the scalar
# loop stays its only direct caller and GCC keeps inlining it there (with more callers it
# went out of line: +2.3k instructions a Binance event at scalar, callgrind)
cdef _TightLevelFn _tight_level_far = _tight_level


cdef enum:
    # 64-byte blocks classified at a time by the SIMD loop (1 KB: a usual depth event)
    _TIGHT_BLOCKS = 16
    # bytes ff_tight_level may read from a level's start (ff_level_avx2: FF_AVX2_READ,
    # fewer); a shorter tail is copied
    _TIGHT_READ = 72
    # the tail copy: the payload's last bytes (a tail level starts past the 8th of them)
    _TIGHT_TAIL = 80


ctypedef struct TightScan:
    # Quote / non-digit bitmaps of p[base .. end) (a zero word after the last block, for
    # ff_bits_at), reused by consecutive level arrays of one payload.
    const char* p
    Py_ssize_t base
    Py_ssize_t end
    uint64_t quote[_TIGHT_BLOCKS + 1]
    uint64_t nondigit[_TIGHT_BLOCKS + 1]


cdef inline void tight_scan_init(TightScan* ts) noexcept nogil:
    ts.p = NULL
    ts.base = 0
    ts.end = 0


cdef inline const char* _tail_at(char* tail, bint* ready, const char* p, Py_ssize_t n,
                                 Py_ssize_t i) noexcept nogil:
    # p[i] in a zero-padded copy of the payload's last _TIGHT_TAIL bytes (n >= that; i past
    # its 8th), copied once per array: fixed sizes, plain moves
    if not ready[0]:
        memcpy(tail, p + n - _TIGHT_TAIL, _TIGHT_TAIL)
        memset(tail + _TIGHT_TAIL, 0, _TIGHT_READ + 8)
        ready[0] = True
    return tail + (i - (n - _TIGHT_TAIL))


cdef int _levels_tight_simd(Cursor* c, DeltaBatch* b, uint8_t side, TightScan* ts) noexcept nogil:
    # docs/architecture.md#decoder-fast-paths: the usual level is found from quote and
    # non-digit bitmaps (no serial scan), anything else goes to _tight_level, so the batch
    # is exactly the SWAR loop's
    cdef const char* p = c.p
    cdef const char* lp
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t i = c.i + 1
    cdef Py_ssize_t nblk
    cdef int r
    cdef ff_tight_lv lv
    cdef uint64_t tq[2]
    cdef uint64_t tn[2]
    cdef char tail[_TIGHT_TAIL + _TIGHT_READ + 8]
    cdef bint tail_ready = False
    cdef Delta* d
    cdef char ch
    if i < n and p[i] == b']':
        c.i = i + 1
        return 0
    if ts.p != p:
        tight_scan_init(ts)
        ts.p = p
    while True:
        if n - i >= _TIGHT_READ:
            if i + 64 > ts.end or i < ts.base:
                nblk = (n - i) >> 6
                if nblk > _TIGHT_BLOCKS:
                    nblk = _TIGHT_BLOCKS
                ff_simd_classify(p + i, nblk, ts.quote, ts.nondigit)
                ts.quote[nblk] = 0
                ts.nondigit[nblk] = 0
                ts.base = i
                ts.end = i + 64 * nblk
            lp = p + i
            r = ff_tight_level(lp, ff_bits_at(ts.quote, i - ts.base),
                               ff_bits_at(ts.nondigit, i - ts.base), &lv)
        elif n >= _TIGHT_TAIL:
            # the tail: a zero-padded copy of the payload's last bytes (fixed sizes: plain
            # moves; a NUL is no quote, digit nor structure, so only a level whose bytes
            # are all real can match)
            lp = _tail_at(tail, &tail_ready, p, n, i)
            ff_simd_classify(lp, 1, tq, tn)
            r = ff_tight_level(lp, tq[0], tn[0], &lv)
        else:
            r = 0
        if r > 0:
            d = batch_next_level(b)
            if d == NULL:
                return -1
            d.side = side
            d.price_ptr = p + i + lv.p_off
            d.price_len = lv.p_len
            d.price = lv.p_pre
            d.size_ptr = p + i + lv.s_off
            d.size_len = lv.s_len
            d.size = lv.s_pre
            ch = lp[r]
            i += r + 1
        else:
            i = _tight_level_far(p, i, n, b, side)
            if i < 0:
                return -1
            ch = p[i]
            i += 1
        if ch == b',':
            continue
        if ch == b']':
            c.i = i
            return 0
        return -1


cdef inline int _put_lv(DeltaBatch* b, uint8_t side, const ff_lv* lv, const char* src,
                        const char* dst) noexcept nogil:
    # one ff_lv level into the batch, its spans moved from the bytes it read at src to the
    # payload's at dst
    cdef Delta* d = batch_next_level(b)
    if d == NULL:
        return -1
    d.side = side
    d.price_ptr = dst + (lv.price - src)
    d.price_len = lv.p_len
    d.price = lv.p_pre
    d.size_ptr = dst + (lv.size - src)
    d.size_len = lv.s_len
    d.size = lv.s_pre
    return 0


cdef enum:
    # levels ff_levels_avx2 matches per call (a depth event's side fits in one)
    _AVX2_RUN = 32


cdef int _levels_tight_avx2(Cursor* c, DeltaBatch* b, uint8_t side) noexcept nogil:
    # docs/architecture.md#decoder-fast-paths: runs of usual levels matched and converted
    # by ff_levels_avx2 (each level from its own loads, no bitmaps), the last ones from the
    # tail copy by ff_level_avx2, anything else by _tight_level: the SWAR loop's batch
    cdef const char* p = c.p
    cdef const char* lp
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t i = c.i + 1
    cdef Py_ssize_t k, m, stop
    cdef ff_lv run[_AVX2_RUN]
    cdef char tail[_TIGHT_TAIL + _TIGHT_READ + 8]
    cdef bint tail_ready = False
    cdef int r
    cdef char ch
    if i < n and p[i] == b']':
        c.i = i + 1
        return 0
    while True:
        m = ff_levels_avx2(p, i, n, run, _AVX2_RUN, &stop)
        if m > 0:
            for k in range(m):
                if _put_lv(b, side, &run[k], p, p) < 0:
                    return -1
            ch = p[stop]
            i = stop + 1
        else:
            r = 0
            if n - i < FF_AVX2_READ and n >= _TIGHT_TAIL:
                lp = _tail_at(tail, &tail_ready, p, n, i)
                r = ff_level_avx2(lp, &run[0])
            if r > 0:
                if _put_lv(b, side, &run[0], lp, p + i) < 0:
                    return -1
                ch = lp[r]
                i += r + 1
            else:
                i = _tight_level_far(p, i, n, b, side)
                if i < 0:
                    return -1
                ch = p[i]
                i += 1
        if ch == b',':
            continue
        if ch == b']':
            c.i = i
            return 0
        return -1


cdef int _levels_tight_swar(Cursor* c, DeltaBatch* b, uint8_t side,
                            TightScan* ts) noexcept nogil:
    # the scalar level: _tight_level, one level at a time
    cdef Py_ssize_t i = c.i + 1
    cdef char ch
    if i < c.n and c.p[i] == b']':
        c.i = i + 1
        return 0
    while True:
        i = _tight_level(c.p, i, c.n, b, side)
        if i < 0:
            return -1
        ch = c.p[i]
        i += 1
        if ch == b',':
            continue
        if ch == b']':
            c.i = i
            return 0
        return -1


cdef int _levels_tight_avx2_ts(Cursor* c, DeltaBatch* b, uint8_t side,
                               TightScan* ts) noexcept nogil:
    return _levels_tight_avx2(c, b, side)


ctypedef int (*_TightFn)(Cursor* c, DeltaBatch* b, uint8_t side, TightScan* ts) noexcept nogil

# The level-array loop by FF_SIMD_* code, called through this table: each loop stays its
# own function (all inlined into one dispatcher, they outgrow GCC's inlining limits)
cdef _TightFn _TIGHT_LOOPS[4]
_TIGHT_LOOPS[FF_SIMD_SCALAR] = _levels_tight_swar
_TIGHT_LOOPS[FF_SIMD_SSE2] = _levels_tight_simd
_TIGHT_LOOPS[FF_SIMD_AVX2] = _levels_tight_avx2_ts
_TIGHT_LOOPS[FF_SIMD_NEON] = _levels_tight_simd


cdef int _levels_tight(Cursor* c, DeltaBatch* b, uint8_t side, TightScan* ts) noexcept nogil:
    """At '[': ``[["price","size"],...]`` with no whitespace and no escapes, the shape
    venues send. 0: parsed (spans recorded, decimals pre-parsed in the same pass);
    -1: any deviation (nothing reported: the caller restores the batch and cursor and
    runs the general loop, which gives the exact result or error). ``ts``: the SIMD
    loop's bitmaps, shared by the arrays of one payload (NULL: a fresh one)."""
    cdef TightScan own
    if ts == NULL:
        tight_scan_init(&own)
        ts = &own
    return _TIGHT_LOOPS[ff_simd_level()](c, b, side, ts)


# SIMD levels by FF_SIMD_* code (docs/architecture.md#decoder-fast-paths)
_SIMD_NAMES = ("scalar", "sse2", "avx2", "neon")


def simd_levels() -> tuple:
    """The SIMD levels this machine runs, lowest first (``"scalar"`` always; ``"sse2"``
    and ``"avx2"`` on x86-64, ``"neon"`` on aarch64): what ``FASTFEED_SIMD`` may name."""
    return tuple(name for code, name in enumerate(_SIMD_NAMES) if ff_simd_available(code))


def simd_level() -> str:
    """The SIMD level the level-array fast path uses, chosen once at import: ``avx2``
    where this CPU runs it, else ``scalar``, or the one ``FASTFEED_SIMD`` names
    (docs/architecture.md, "Decoder fast paths"). Every level decodes to exactly the same
    batches; only the speed differs."""
    return _SIMD_NAMES[ff_simd_level()]


def _set_simd_level(str name) -> str:
    """Switch the SIMD level (tests and benches only; not thread-safe against a decode in
    flight, which would still be correct): returns the previous level's name."""
    if name not in _SIMD_NAMES or not ff_simd_available(_SIMD_NAMES.index(name)):
        raise ValueError(f"SIMD level {name!r} is not one this machine runs "
                         f"({', '.join(simd_levels())})")
    return _SIMD_NAMES[ff_simd_set(_SIMD_NAMES.index(name))]


def _level_paths(bytes level) -> tuple:
    """One level ``["price","size"]`` (the bytes after it: ``]]``) through the SWAR
    matcher (``_tight_level``) and, where this machine runs the AVX2 level, through
    ``ff_level_avx2`` alone (tests): ``(swar, avx2)``, each None when that matcher does
    not take the level, else ``(end, price_at, price_len, size_at, size_len, price_pre,
    size_pre)``; avx2 is also None without AVX2. Both read a zero-padded copy (as the
    tail path does)."""
    cdef bytes data = level + b"]]" + bytes(FF_AVX2_READ)
    cdef const char* p = data
    cdef Py_ssize_t n = len(level) + 2
    cdef DeltaBatch b
    cdef Delta* d
    cdef ff_lv lv
    cdef Py_ssize_t r
    swar = avx2 = None
    if batch_init(&b, 4) < 0:
        raise MemoryError()
    try:
        r = _tight_level_far(p, 0, n, &b, SIDE_BID)
        if r >= 0 and b.n_levels == 1:
            d = &b.levels[0]
            swar = (r, d.price_ptr - p, d.price_len, d.size_ptr - p, d.size_len, d.price,
                    d.size)
    finally:
        batch_free(&b)
    if ff_simd_available(FF_SIMD_AVX2):
        r = ff_level_avx2(p, &lv)
        if r > 0:
            avx2 = (r, lv.price - p, lv.p_len, lv.size - p, lv.s_len, lv.p_pre, lv.s_pre)
    return swar, avx2


def _init_simd_level(str env) -> None:
    # FASTFEED_SIMD, read once at import. Unset, "" or "auto": avx2 where the machine runs
    # it, else scalar (the bitmap loop of sse2 and neon measured slower than the SWAR one
    # on the Binance workloads, docs/architecture.md#decoder-fast-paths); sse2 and neon
    # must be asked for by name
    if env in ("", "auto"):
        ff_simd_set(FF_SIMD_AVX2 if ff_simd_available(FF_SIMD_AVX2) else FF_SIMD_SCALAR)
        return
    if env not in _SIMD_NAMES:
        raise ValueError(f"FASTFEED_SIMD={env!r} is not one of auto, {', '.join(_SIMD_NAMES)}")
    if not ff_simd_available(_SIMD_NAMES.index(env)):
        raise ValueError(f"FASTFEED_SIMD={env!r}: this machine runs {', '.join(simd_levels())}")
    ff_simd_set(_SIMD_NAMES.index(env))


import os as _os
_init_simd_level(_os.environ.get("FASTFEED_SIMD", "").strip().lower())
del _os


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
        if _levels_tight(c, b, side, NULL) == 0:
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


# Duplicate keys (docs/venues.md#accepted-json). A known field has a bit in its object's
# `seen` mask; every other key of an object a decoder consumes goes into a KeySet, a
# fixed array of raw spans compared with each new one (memcmp, or as JSON means them when
# either has an escape). The fast paths only match layouts without unknown keys, so normal
# traffic adds at most a few spans (Coinbase Advanced Trade's `client_id`). An object with
# more unknown keys than the array holds is rejected: no venue message has more than ~25
# fields, and checking an unbounded number would cost O(keys^2) on hostile input.
cdef enum:
    MAX_UNKNOWN_KEYS = 64

ctypedef struct KeySet:
    int n
    const char* k[MAX_UNKNOWN_KEYS]
    Py_ssize_t kl[MAX_UNKNOWN_KEYS]
    bint esc[MAX_UNKNOWN_KEYS]


cdef inline int _hex4(const char* s) noexcept nogil:
    return ((_hexval(s[0]) << 12) | (_hexval(s[1]) << 8) | (_hexval(s[2]) << 4)
            | _hexval(s[3]))


cdef int _code_point(const char* s, Py_ssize_t n, Py_ssize_t* at) noexcept nogil:
    """The next code point of the raw, validated string s[0:n] from *at (advanced past it),
    as the reference twin reads it: escapes decoded (a \\u surrogate pair combined), UTF-8
    decoded, and a byte that starts no valid UTF-8 sequence is U+DC00 + byte (Python's
    ``surrogateescape``: ``"\\udcff"`` equals a raw 0xFF byte, as it does for the twin)."""
    cdef const unsigned char* p = <const unsigned char*>s
    cdef Py_ssize_t i = at[0]
    cdef unsigned int c0 = p[i]
    cdef int v, w
    cdef int need
    if c0 == 0x5C:                  # backslash: cur_string validated the escape
        c0 = p[i + 1]
        if c0 == b'u':
            v = _hex4(s + i + 2)
            i += 6
            if (0xD800 <= v <= 0xDBFF and n - i >= 6 and p[i] == 0x5C and p[i + 1] == b'u'):
                w = _hex4(s + i + 2)
                if 0xDC00 <= w <= 0xDFFF:
                    v = 0x10000 + ((v - 0xD800) << 10) + (w - 0xDC00)
                    i += 6
            at[0] = i
            return v
        at[0] = i + 2
        if c0 == b'b':
            return 8
        if c0 == b'f':
            return 12
        if c0 == b'n':
            return 10
        if c0 == b'r':
            return 13
        if c0 == b't':
            return 9
        return <int>c0              # '"', '\\' and '/' stand for themselves
    at[0] = i + 1
    if c0 < 0x80:
        return <int>c0
    if c0 < 0xC2 or c0 > 0xF4:
        return 0xDC00 + <int>c0
    if c0 <= 0xDF:
        need = 1
        v = <int>(c0 & 0x1F)
    elif c0 <= 0xEF:
        need = 2
        v = <int>(c0 & 0x0F)
    else:
        need = 3
        v = <int>(c0 & 0x07)
    if i + need >= n or not utf8_ok(s + i, need + 1):
        return 0xDC00 + <int>c0
    for w in range(1, need + 1):
        v = (v << 6) | <int>(p[i + w] & 0x3F)
    at[0] = i + need + 1
    return v


cdef bint _keys_equal(const char* a, Py_ssize_t an, const char* b,
                      Py_ssize_t bn) noexcept nogil:
    """Two raw key spans, at least one with an escape, compared as JSON means them."""
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t j = 0
    while i < an and j < bn:
        if _code_point(a, an, &i) != _code_point(b, bn, &j):
            return False
    return i == an and j == bn


cdef int key_set_add(Cursor* c, KeySet* ks, const char* k, Py_ssize_t kl) noexcept nogil:
    """Record key ``k`` (as cur_key returned it) of the current object: 0, or -1 with the
    cursor failed (a repeated key, or more than MAX_UNKNOWN_KEYS of them)."""
    cdef bint esc = False
    cdef int j
    if k == c.kbuf or k == c.kraw:  # escaped (decoded into kbuf, or left raw)
        k = c.kraw
        kl = c.kraw_len
        esc = True
    for j in range(ks.n):
        if esc or ks.esc[j]:
            if _keys_equal(k, kl, ks.k[j], ks.kl[j]):
                return _dup(c)
        elif kl == ks.kl[j] and memcmp(k, ks.k[j], <size_t>kl) == 0:
            return _dup(c)
    if ks.n == MAX_UNKNOWN_KEYS:
        return cur_fail(c, DEC_MALFORMED_JSON, "more than 64 unknown fields in one object")
    ks.k[ks.n] = k
    ks.kl[ks.n] = kl
    ks.esc[ks.n] = esc
    ks.n += 1
    return 0


cdef inline bint _ns_from_ms_ok(int64_t ms) noexcept nogil:
    # ms * 1_000_000 must fit int64
    return -9223372036854LL <= ms <= 9223372036854LL


cdef inline int _missing(DeltaBatch* b, const char* detail) noexcept nogil:
    return _fail_batch(b, DEC_MISSING_FIELD, -1, detail)


cdef inline bint _lit(const char* p, Py_ssize_t i, Py_ssize_t n, const char* lit,
                      Py_ssize_t length) noexcept nogil:
    return n - i >= length and memcmp(p + i, lit, <size_t>length) == 0
