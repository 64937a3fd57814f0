# Included by _parse.pyx, before the candle decoders. What they share: exact 128-bit
# decimals (quote volumes), phase 2 of a candle (convert_candle) and its cold-path
# message (docs/venues.md, "Candles").

#: Candle value fields in convert_candle's order (CandleValues.bad_field indexes it).
CANDLE_FIELDS = ("open", "high", "low", "close", "volume", "quote_volume")


cdef int parse_decimal128(const char* p, Py_ssize_t n, int decimals,
                          ff_i128* out) noexcept nogil:
    # parse_decimal's grammar and error codes, into a 128-bit count of 10**-decimals
    # units (decimals 0..MAX_QUOTE_DECIMALS); DECIMAL_OVERFLOW beyond 2**127 - 1.
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t frac_start
    cdef ff_i128 acc = ff_i128_from64(0)
    cdef ff_i128 ten = ff_i128_from64(10)
    cdef unsigned int d
    cdef int fd = 0
    cdef int k
    cdef bint too_precise = False
    cdef bint over = False
    if n <= 0:
        return DECIMAL_EMPTY
    if <unsigned int>decimals > MAX_QUOTE_DECIMALS:
        return DECIMAL_OVERFLOW
    while i < n:
        d = <unsigned int>(<unsigned char>p[i]) - 48u
        if d > 9u:
            break
        if not over and (ff_i128_mul(acc, ten, &acc)
                         or ff_i128_add(acc, ff_i128_from64(d), &acc)):
            over = True
        i += 1
    if i == 0:
        return _bad_char(p[0], 0)
    if i < n:
        if p[i] != b'.':
            return _bad_char(p[i], i)
        i += 1
        frac_start = i
        while i < n and fd < decimals:
            d = <unsigned int>(<unsigned char>p[i]) - 48u
            if d > 9u:
                break
            if not over and (ff_i128_mul(acc, ten, &acc)
                             or ff_i128_add(acc, ff_i128_from64(d), &acc)):
                over = True
            fd += 1
            i += 1
        if fd < decimals and i < n:
            return _bad_char(p[i], i)
        while i < n:
            d = <unsigned int>(<unsigned char>p[i]) - 48u
            if d > 9u:
                return _bad_char(p[i], i)
            if d != 0u:
                too_precise = True
            i += 1
        if i == frac_start:
            return DECIMAL_NON_DIGIT        # "5."
        if too_precise:
            return DECIMAL_TOO_PRECISE
    for k in range(decimals - fd):
        if not over and ff_i128_mul(acc, ten, &acc):
            over = True
    if over:
        return DECIMAL_OVERFLOW
    out[0] = acc
    return DECIMAL_OK


cdef inline int _candle_value(const char* s, int32_t slen, int decimals, int field,
                              int64_t* v, CandleValues* out) noexcept nogil:
    # a string's decimal, or a bare JSON number (Kraken ohlc: exponent allowed)
    cdef int rc = parse_text(s, slen, decimals, v)
    if rc != DECIMAL_OK:
        out.bad_field = field
        out.decimal_error = rc
        return -1
    return 0


cdef int convert_candle(const Candle* c, int price_decimals, int size_decimals,
                        CandleValues* out) noexcept nogil:
    cdef int rc
    out.bad_field = -1
    out.decimal_error = DECIMAL_OK
    if (_candle_value(c.open_ptr, c.open_len, price_decimals, 0, &out.open, out) < 0
            or _candle_value(c.high_ptr, c.high_len, price_decimals, 1, &out.high, out) < 0
            or _candle_value(c.low_ptr, c.low_len, price_decimals, 2, &out.low, out) < 0
            or _candle_value(c.close_ptr, c.close_len, price_decimals, 3, &out.close, out) < 0
            or _candle_value(c.volume_ptr, c.volume_len, size_decimals, 4, &out.volume,
                             out) < 0):
        return DEC_BAD_DECIMAL
    if c.quote_ptr == NULL:
        out.quote = ff_i128_from64(-1)      # the venue gives none
        return DEC_OK
    rc = parse_decimal128(c.quote_ptr, c.quote_len, price_decimals + size_decimals,
                          &out.quote)
    if rc != DECIMAL_OK:
        out.bad_field = 5
        out.decimal_error = rc
        return DEC_BAD_DECIMAL
    return DEC_OK


cdef str candle_error_message(const Candle* c, const CandleValues* v, const char* payload,
                              int price_decimals, int size_decimals):
    cdef const char* ptr
    cdef int32_t length
    cdef int decimals
    cdef int f = v.bad_field
    if f == 0:
        ptr, length, decimals = c.open_ptr, c.open_len, price_decimals
    elif f == 1:
        ptr, length, decimals = c.high_ptr, c.high_len, price_decimals
    elif f == 2:
        ptr, length, decimals = c.low_ptr, c.low_len, price_decimals
    elif f == 3:
        ptr, length, decimals = c.close_ptr, c.close_len, price_decimals
    elif f == 4:
        ptr, length, decimals = c.volume_ptr, c.volume_len, size_decimals
    elif f == 5:
        ptr, length, decimals = c.quote_ptr, c.quote_len, price_decimals + size_decimals
    else:
        return "no decimal error in this candle"
    text = ptr[:length].decode("utf-8", "replace")
    where = f" at byte {<Py_ssize_t>(ptr - payload)}" if payload != NULL else ""
    if f == 5 and v.decimal_error == DECIMAL_OVERFLOW:
        msg = f"{_show(text)} does not fit a 128-bit integer at {decimals} decimals"
    else:
        msg = decimal_error_message(v.decimal_error, text, decimals)
    return f"{CANDLE_FIELDS[f]}{where}: {msg}"


cdef object i128_to_int(ff_i128 v):
    return (<object>ff_i128_hi(v) << 64) | <object>ff_i128_lo(v)


def parse_decimal128_py(text, int decimals) -> int:
    """``parse_decimal_py`` at up to ``MAX_QUOTE_DECIMALS`` decimals into a 128-bit value
    (a Python int): quote volumes (docs/venues.md, "Candles"). ``ValueError`` as there."""
    cdef bytes data = _to_bytes(text)
    cdef ff_i128 v
    cdef int rc
    if not 0 <= decimals <= MAX_QUOTE_DECIMALS:
        raise ValueError(f"decimals must be in 0..{MAX_QUOTE_DECIMALS}, got {decimals}")
    rc = parse_decimal128(data, len(data), decimals, &v)
    if rc == DECIMAL_OVERFLOW:
        raise ValueError(f"{_show(text)} does not fit a 128-bit integer at {decimals} decimals")
    if rc != DECIMAL_OK:
        raise ValueError(decimal_error_message(rc, text, decimals))
    return i128_to_int(v)
