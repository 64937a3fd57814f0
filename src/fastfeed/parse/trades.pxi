# Included by _parse.pyx, before the trade decoders. What they share: the trade stream
# names, boolean fields, numeric-string ids, and the first of two pending problems.
# Trade decoders fill one Delta (price/size text, converted by convert_segment) and one
# Trade (id, time, side, stream) per trade, in the venue's order oldest first; segments
# are runs of one symbol (docs/venues.md, "Trades").

#: Trade stream names by TradeStream code (the keys of Venue.trade_streams).
TRADE_STREAMS = {
    TRADE_STREAM_TRADE: "trade",
    TRADE_STREAM_AGG: "aggTrade",
    TRADE_STREAM_MARKET_TRADES: "market_trades",
    TRADE_STREAM_MATCHES: "matches",
}


cdef inline int _bool_field(Cursor* c, bint* out, Pending* pd, const char* wrong) noexcept nogil:
    """0: ``true``/``false`` read; 1: another JSON type (pended, skipped); -1: failure."""
    cdef int ch = cur_peek(c)
    if ch == b't':
        if _skip_literal(c, "true", 4) < 0:
            return -1
        out[0] = True
        return 0
    if ch == b'f':
        if _skip_literal(c, "false", 5) < 0:
            return -1
        out[0] = False
        return 0
    _pend(pd, DEC_WRONG_TYPE, c.i, wrong)
    return 1 if cur_skip_value(c, 0) == 0 else -1


cdef inline int64_t _numeric_id(const char* s, Py_ssize_t n) noexcept nogil:
    """A string id that is a plain decimal integer in 0..2**62 (raw text, at most 19
    digits, leading zeros allowed): its value; anything else (a UUID, an escape): -1."""
    cdef uint64_t acc = 0
    cdef Py_ssize_t i
    cdef unsigned int d
    if n <= 0 or n > 19:
        return -1
    for i in range(n):
        d = <unsigned int>(<unsigned char>s[i]) - 48u
        if d > 9u:
            return -1
        acc = acc * 10u + d
    if acc > <uint64_t>MAX_UPDATE_ID:
        return -1
    return <int64_t>acc


cdef inline const Pending* _first_pending(const Pending* a, const Pending* b) noexcept nogil:
    """Of two pending problems, the one met first in the payload (NULL: neither)."""
    if a.code == DEC_OK:
        return b if b.code != DEC_OK else NULL
    if b.code == DEC_OK or a.at <= b.at:
        return a
    return b


cdef inline void _trade_set(Trade* t, int64_t trade_id, int64_t first_id, int64_t last_id,
                            int64_t time_ns, int8_t side, uint8_t stream) noexcept nogil:
    t.trade_id = trade_id
    t.first_id = first_id
    t.last_id = last_id
    t.time_ns = time_ns
    t.side = side
    t.stream = stream
    t.symbol_ptr = NULL
    t.symbol_len = 0


# Unknown keys a fast path skipped, to catch a repeat (docs/venues.md#accepted-json): the
# fast paths see escape-free keys only, so equal bytes are equal names. More than
# MAX_FAST_UNKNOWN_KEYS, or a repeat, sends the message to the general decoder (KeySet).
cdef enum:
    MAX_FAST_UNKNOWN_KEYS = 8

ctypedef struct RawKeys:
    int n
    Py_ssize_t at[MAX_FAST_UNKNOWN_KEYS]
    Py_ssize_t length[MAX_FAST_UNKNOWN_KEYS]


cdef inline bint raw_key_new(RawKeys* rk, const char* p, Py_ssize_t at,
                             Py_ssize_t length) noexcept nogil:
    """Record the unknown key ``p[at:at + length]``; False if it repeats one already seen
    in this object, or if there are too many to track (the caller then falls back)."""
    cdef int j
    if rk.n == MAX_FAST_UNKNOWN_KEYS:
        return False
    for j in range(rk.n):
        if rk.length[j] == length and memcmp(p + rk.at[j], p + at, <size_t>length) == 0:
            return False
    rk.at[rk.n] = at
    rk.length[rk.n] = length
    rk.n += 1
    return True
