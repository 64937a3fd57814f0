# Included by _parse.pyx. OKX v5 public `books` (docs/venues.md, "OKX"):
# {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot"|"update","data":[{"asks":
# [["8476.98","415","0","13"]],"bids":[...],"ts":"1597026383085","checksum":0,"prevSeqId":-1,
# "seqId":123}]}, keys in any order; levels are [price, size, deprecated "0", order count]
# (the last two are read as strings and not used); the retired `checksum` is not read.
# Events ({"event":"subscribe"|"unsubscribe"|"notice"|"error",...}) and the text `pong`
# are control messages (an error event a venue error); other channels are ignored.

cdef enum:
    OK_arg = 1 << 0
    OK_action = 1 << 1
    OK_data = 1 << 2
    OK_event = 1 << 3
    OK_channel = 1 << 4
    OK_instId = 1 << 5

cdef enum:
    OKE_asks = 1 << 0
    OKE_bids = 1 << 1
    OKE_ts = 1 << 2
    OKE_seqId = 1 << 3
    OKE_prevSeqId = 1 << 4


ctypedef struct OkxBook:
    # the fields of a `data` element (the last one read: only a single element is valid)
    uint32_t seen
    int64_t ts
    int64_t seq
    int64_t prev
    int n_elems


cdef const char* _OKX_DATA_WRONG = ("field 'data' has the wrong type "
                                    "(expected an array of one object)")
cdef const char* _OKX_TS_WRONG = ("field 'ts' has the wrong type "
                                  "(expected a string of integer milliseconds)")


cdef int _okx_levels_fast(Cursor* c, DeltaBatch* b, uint8_t side) noexcept nogil:
    """``[[price, size, "0", count], ...]``, four strings a level. 0: parsed; 2: another
    shape; -1: too many levels (cursor failed)."""
    cdef const char* s
    cdef Py_ssize_t slen
    cdef Delta* d
    cdef int ch, j
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
        for j in range(4):
            if j > 0:
                if cur_peek(c) != b',':
                    return 2
                c.i += 1
            if cur_peek(c) != b'"' or cur_string(c, &s, &slen) < 0 or slen > INT32_MAX:
                return 2
            if j == 0:
                d.price_ptr = s
                d.price_len = <int32_t>slen
            elif j == 1:
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


cdef int _okx_levels(Cursor* c, DeltaBatch* b, uint8_t side, Pending* pd,
                     const char* wrong) noexcept nogil:
    """One side's level array appended as Deltas: 0, 1 (another shape: pended, skipped)
    or -1 (cursor failed)."""
    cdef Py_ssize_t saved = b.n_levels
    cdef Py_ssize_t start
    cdef int rc
    cur_peek(c)
    start = c.i
    rc = _okx_levels_fast(c, b, side)
    if rc == 0:
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


cdef int _okx_ms(Cursor* c, int64_t* out, Pending* pd) noexcept nogil:
    """``ts``: a string of 1..18 digits (milliseconds). 0 read, 1 pended, -1 failure."""
    cdef const char* s
    cdef Py_ssize_t sl, i, at
    cdef int rc
    cdef int64_t v = 0
    cdef unsigned int d
    cur_peek(c)
    at = c.i
    if c.i >= c.n or c.p[c.i] != b'"':
        _pend(pd, DEC_WRONG_TYPE, at, _OKX_TS_WRONG)
        return 1 if cur_skip_value(c, 0) == 0 else -1
    rc = cur_string(c, &s, &sl)
    if rc < 0:
        return -1
    if rc == 1 or sl < 1 or sl > 18:
        _pend(pd, DEC_WRONG_TYPE, at, _OKX_TS_WRONG)
        return 1
    for i in range(sl):
        d = <unsigned int>(<unsigned char>s[i]) - 48u
        if d > 9u:
            _pend(pd, DEC_WRONG_TYPE, at, _OKX_TS_WRONG)
            return 1
        v = v * 10 + d
    out[0] = v
    return 0


cdef int _okx_element(Cursor* c, DeltaBatch* b, OkxBook* bk, Pending* pd) noexcept nogil:
    """One ``data`` object (the cursor at its '{'): asks, bids, ts, seqId, prevSeqId; the
    rest (``checksum`` among them) skipped, duplicates refused. 0, or -1 (cursor failed)."""
    cdef KeySet ks
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    ks.n = 0
    bk.seen = 0
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
        return 0
    while True:
        if cur_key(c, &k, &kl) < 0:
            return -1
        if key_is(k, kl, "asks", 4):
            if bk.seen & OKE_asks:
                return _dup(c)
            bk.seen |= OKE_asks
            rc = _okx_levels(c, b, SIDE_ASK, pd, "field 'asks' has the wrong type "
                             "(expected [price, size, \"0\", count] string arrays)")
        elif key_is(k, kl, "bids", 4):
            if bk.seen & OKE_bids:
                return _dup(c)
            bk.seen |= OKE_bids
            rc = _okx_levels(c, b, SIDE_BID, pd, "field 'bids' has the wrong type "
                             "(expected [price, size, \"0\", count] string arrays)")
        elif key_is(k, kl, "ts", 2):
            if bk.seen & OKE_ts:
                return _dup(c)
            bk.seen |= OKE_ts
            rc = _okx_ms(c, &bk.ts, pd)
        elif key_is(k, kl, "seqId", 5):
            if bk.seen & OKE_seqId:
                return _dup(c)
            bk.seen |= OKE_seqId
            rc = _int_field(c, &bk.seq, pd, "field 'seqId' has the wrong type (expected integer)",
                            "field 'seqId' out of range")
        elif key_is(k, kl, "prevSeqId", 9):
            if bk.seen & OKE_prevSeqId:
                return _dup(c)
            bk.seen |= OKE_prevSeqId
            rc = _int_field(c, &bk.prev, pd,
                            "field 'prevSeqId' has the wrong type (expected integer)",
                            "field 'prevSeqId' out of range")
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


cdef int _okx_data(Cursor* c, DeltaBatch* b, OkxBook* bk, Pending* pd) noexcept nogil:
    """The ``data`` array (the cursor at its '['): every element read, a non-object or a
    count other than one pended. 0, or -1 (cursor failed)."""
    cdef Py_ssize_t at = c.i
    cdef int rc
    bk.n_elems = 0
    c.i += 1
    if cur_peek(c) == b']':
        c.i += 1
    else:
        while True:
            bk.n_elems += 1
            if cur_peek(c) == b'{':
                if _okx_element(c, b, bk, pd) < 0:
                    return -1
            else:
                _pend(pd, DEC_WRONG_TYPE, c.i, _OKX_DATA_WRONG)
                if cur_skip_value(c, 0) < 0:
                    return -1
            rc = cur_next(c, b']')
            if rc < 0:
                return -1
            if rc == 0:
                break
    if bk.n_elems != 1:
        _pend(pd, DEC_WRONG_TYPE, at, _OKX_DATA_WRONG)
    return 0


cdef int _okx_arg(Cursor* c, uint32_t* seen, Pending* pd, const char** chan,
                  Py_ssize_t* chan_len, const char** inst, Py_ssize_t* inst_len) noexcept nogil:
    """The ``arg`` object (the cursor at its '{'): ``channel`` (a non-string: length -1)
    and ``instId``; others skipped. 0, or -1 (cursor failed)."""
    cdef KeySet ks
    cdef Pending scratch
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    ks.n = 0
    scratch.code = DEC_OK
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
        return 0
    while True:
        if cur_key(c, &k, &kl) < 0:
            return -1
        if key_is(k, kl, "channel", 7):
            if seen[0] & OK_channel:
                return _dup(c)
            seen[0] |= OK_channel
            rc = _str_field(c, chan, chan_len, &scratch, NULL)
            if rc == 1:
                chan_len[0] = -1
        elif key_is(k, kl, "instId", 6):
            if seen[0] & OK_instId:
                return _dup(c)
            seen[0] |= OK_instId
            rc = _sym_field(c, inst, inst_len, pd,
                            "field 'instId' has the wrong type (expected string)",
                            "field 'instId' contains an escape (symbols must be plain strings)",
                            "field 'instId' is not valid UTF-8")
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


cdef int decode_okx(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """OKX ``books`` ``snapshot`` → MSG_SNAPSHOT, ``update`` → MSG_DEPTH (first and last
    id = ``seqId``, previous id = ``prevSeqId``; a book message without both, from before
    OKX added them, has all three -1: unchained); other channels → MSG_IGNORED; ``pong``
    and events → MSG_CONTROL, an ``error`` event → MSG_VENUE_ERROR."""
    cdef Cursor c
    cdef KeySet ks
    cdef Pending pd, scratch
    cdef OkxBook bk
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef uint32_t seen = 0
    cdef bint arg_bad = False
    cdef const char* chan = NULL
    cdef Py_ssize_t chan_len = 0
    cdef const char* inst = NULL
    cdef Py_ssize_t inst_len = 0
    cdef const char* act = NULL
    cdef Py_ssize_t act_len = 0, act_at = -1, arg_at = -1
    cdef const char* ev = NULL
    cdef Py_ssize_t ev_len = 0, ev_at = -1
    cdef bint snap, has_seq, has_prev
    cdef Segment* seg
    batch_reset(b)
    if n == 4 and memcmp(p, b"pong", 4) == 0:
        b.msg_kind = MSG_CONTROL        # the answer to our text `ping`
        return DEC_OK
    cur_init(&c, p, n)
    ks.n = 0
    pd.code = DEC_OK
    pd.at = -1
    pd.detail = NULL
    scratch = pd
    bk.seen = 0
    bk.n_elems = 0
    bk.ts = bk.seq = bk.prev = 0
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            if key_is(k, kl, "arg", 3):
                if seen & OK_arg:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= OK_arg
                cur_peek(&c)
                arg_at = c.i
                if c.i < c.n and c.p[c.i] == b'{':
                    rc = _okx_arg(&c, &seen, &pd, &chan, &chan_len, &inst, &inst_len)
                else:
                    arg_bad = True
                    rc = cur_skip_value(&c, 0)
            elif key_is(k, kl, "action", 6):
                if seen & OK_action:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= OK_action
                cur_peek(&c)
                act_at = c.i
                rc = _str_field(&c, &act, &act_len, &pd,
                                "field 'action' has the wrong type (expected string)")
            elif key_is(k, kl, "event", 5):
                if seen & OK_event:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= OK_event
                cur_peek(&c)
                ev_at = c.i
                rc = _str_field(&c, &ev, &ev_len, &scratch, NULL)
                if rc == 1:
                    ev_len = -1
            elif key_is(k, kl, "data", 4):
                if seen & OK_data:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                seen |= OK_data
                if cur_peek(&c) == b'[':
                    rc = _okx_data(&c, b, &bk, &pd)
                else:
                    _pend(&pd, DEC_WRONG_TYPE, c.i, _OKX_DATA_WRONG)
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
    if seen & OK_event:
        b.n_levels = 0
        if ev_len < 0:
            return _fail_batch(b, DEC_WRONG_TYPE, ev_at,
                               "field 'event' has the wrong type (expected string)")
        b.msg_kind = MSG_VENUE_ERROR if _span_is(ev, ev_len, "error", 5) else MSG_CONTROL
        return DEC_OK
    if not seen & OK_arg:
        return _missing(b, "field 'arg' missing")
    if arg_bad:
        return _fail_batch(b, DEC_WRONG_TYPE, arg_at,
                           "field 'arg' has the wrong type (expected object)")
    if not seen & OK_channel:
        return _missing(b, "field 'channel' missing")
    if chan_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, -1,
                           "field 'channel' has the wrong type (expected string)")
    if not _span_is(chan, chan_len, "books", 5):
        b.n_levels = 0
        b.msg_kind = MSG_IGNORED        # trades, tickers, ... (not decoded here yet)
        return DEC_OK
    if pd.code != DEC_OK:
        return _fail_batch(b, pd.code, pd.at, pd.detail)
    if not seen & OK_instId:
        return _missing(b, "field 'instId' missing")
    if not seen & OK_action:
        return _missing(b, "field 'action' missing")
    if not seen & OK_data:
        return _missing(b, "field 'data' missing")
    snap = _span_is(act, act_len, "snapshot", 8)
    if not snap and not _span_is(act, act_len, "update", 6):
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, act_at,
                           "field 'action' is not 'snapshot' or 'update'")
    if not bk.seen & OKE_asks:
        return _missing(b, "field 'asks' missing")
    if not bk.seen & OKE_bids:
        return _missing(b, "field 'bids' missing")
    if not bk.seen & OKE_ts:
        return _missing(b, "field 'ts' missing")
    has_seq = (bk.seen & OKE_seqId) != 0
    has_prev = (bk.seen & OKE_prevSeqId) != 0
    if has_seq and not has_prev:
        return _missing(b, "field 'prevSeqId' missing")
    if has_prev and not has_seq:
        return _missing(b, "field 'seqId' missing")
    if not _ns_from_ms_ok(bk.ts):
        return _fail_batch(b, DEC_OVERFLOW, -1, "field 'ts' out of range")
    if has_seq:
        if bk.seq < 0 or bk.seq > MAX_UPDATE_ID:
            return _fail_batch(b, DEC_OVERFLOW, -1, "field 'seqId' out of range")
        if bk.prev < -1 or bk.prev > MAX_UPDATE_ID:
            return _fail_batch(b, DEC_OVERFLOW, -1, "field 'prevSeqId' out of range")
        b.first_id = bk.seq
        b.last_id = bk.seq
        b.prev_id = bk.prev
    # else: a recording from before seqId (docs/venues.md, "OKX"): ids stay -1, unchained
    b.event_time_ns = bk.ts * 1000000
    seg = batch_next_seg(b)
    if seg == NULL:
        return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
    seg.symbol_ptr = inst
    seg.symbol_len = <int32_t>inst_len
    seg.kind = SEG_SNAPSHOT if snap else SEG_UPDATE
    seg.start = 0
    seg.count = b.n_levels
    seg.event_time_ns = b.event_time_ns
    b.msg_kind = MSG_SNAPSHOT if snap else MSG_DEPTH
    return DEC_OK


_register("okx", decode_okx)
