# Included by _parse.pyx. Exact decimals: text <-> int64 count of 10**-decimals units
# (grammar in the module docstring), phase-2 conversion of a segment's levels, and their
# Python wrappers.

cdef inline int _bad_char(char c, Py_ssize_t i) noexcept nogil:
    # The first offending character names the error.
    if c == b'e' or c == b'E':
        return DECIMAL_EXPONENT
    if i == 0 and (c == b'-' or c == b'+'):
        return DECIMAL_SIGN
    return DECIMAL_NON_DIGIT


cdef int parse_decimal(const char* p, Py_ssize_t n, int decimals,
                       int64_t* out) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t int_digits, frac_start, lead
    cdef uint64_t acc = 0
    cdef unsigned int d
    cdef int fd = 0
    cdef bint too_precise = False
    if n <= 0:
        return DECIMAL_EMPTY
    if <unsigned int>decimals > MAX_DECIMALS:
        return DECIMAL_OVERFLOW
    # Integer part. Unsigned wrap-around on absurdly long inputs is harmless: such values
    # are caught by the digit count below before acc is trusted.
    i = ff_take_digits(p, n, n, &acc)
    if i == 0:
        return _bad_char(p[0], 0)
    int_digits = i
    if i < n:
        if p[i] != b'.':
            return _bad_char(p[i], i)
        i += 1
        frac_start = i
        fd = <int>ff_take_digits(p + i, n - i, decimals, &acc)
        i += fd
        if fd < decimals and i < n:
            return _bad_char(p[i], i)
        # Beyond the scale only zeros are exact; anything else is scanned for the reason.
        i = ff_skip_zeros(p, i, n)
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
    if int_digits + decimals > 18:
        # Could overflow: count significant integer digits (leading zeros do not count).
        lead = 0
        while lead < int_digits and p[lead] == b'0':
            lead += 1
        if int_digits - lead + decimals > 19:
            return DECIMAL_OVERFLOW
        # Now the exact value is < 10**19 < 2**64, so acc and the scaled acc are exact.
        acc *= FF_POW10[decimals - fd]
        if acc > <uint64_t>INT64_MAX:
            return DECIMAL_OVERFLOW
    else:
        acc *= FF_POW10[decimals - fd]
    out[0] = <int64_t>acc
    return DECIMAL_OK


cdef int parse_number(const char* p, Py_ssize_t n, int decimals,
                      int64_t* out) noexcept nogil:
    """parse_decimal's grammar plus an optional exponent, ``digits ['.' digits]
    [('e'|'E') ['+'|'-'] digits]``: a bare JSON number (Kraken v2 sends ``5.1e-05``;
    docs/venues.md, "Exact numbers"), exact: a non-zero digit beyond the scale is
    DECIMAL_TOO_PRECISE, a value beyond int64 DECIMAL_OVERFLOW. Without an exponent it is
    parse_decimal (same codes)."""
    cdef Py_ssize_t m = 0, i, j, first_nz = -1, last_nz = -1, point = -1
    cdef int64_t e = 0, shift
    cdef bint eneg = False
    cdef uint64_t acc = 0
    cdef int sig
    while m < n and p[m] != b'e' and p[m] != b'E':
        m += 1
    if m == n or m == 0:
        return parse_decimal(p, n, decimals, out)
    if <unsigned int>decimals > MAX_DECIMALS:
        return DECIMAL_OVERFLOW
    # the mantissa's syntax first (the first offending character names the error)
    for i in range(m):
        if p[i] == b'.':
            if point >= 0 or i == 0 or i == m - 1:
                return DECIMAL_NON_DIGIT
            point = i
        elif <unsigned int>(<unsigned char>p[i]) - 48u > 9u:
            return _bad_char(p[i], i)
        elif p[i] != b'0':
            if first_nz < 0:
                first_nz = i
            last_nz = i
    i = m + 1
    if i < n and (p[i] == b'+' or p[i] == b'-'):
        eneg = p[i] == b'-'
        i += 1
    if i == n:
        return DECIMAL_NON_DIGIT
    while i < n:
        if <unsigned int>(<unsigned char>p[i]) - 48u > 9u:
            return DECIMAL_NON_DIGIT
        if e < 100000:                  # saturate: far beyond any int64 scale either way
            e = e * 10 + (p[i] - 48)
        i += 1
    if first_nz < 0:
        out[0] = 0
        return DECIMAL_OK
    if eneg:
        e = -e
    # value = D * 10**shift units, D the significant digits first_nz..last_nz
    sig = 0
    for j in range(first_nz, last_nz + 1):
        if p[j] != b'.':
            sig += 1
    # the last significant digit's power of ten, before the exponent and the scale
    if point < 0:
        shift = m - 1 - last_nz
    elif last_nz < point:
        shift = point - 1 - last_nz
    else:
        shift = point - last_nz
    shift += e + decimals
    if shift < 0:
        return DECIMAL_TOO_PRECISE
    if sig + shift > 19:
        return DECIMAL_OVERFLOW
    for j in range(first_nz, last_nz + 1):
        if p[j] != b'.':
            acc = acc * 10u + <unsigned int>(p[j] - 48)
    acc *= FF_POW10[shift]
    if acc > <uint64_t>INT64_MAX:
        return DECIMAL_OVERFLOW
    out[0] = <int64_t>acc
    return DECIMAL_OK


cdef Py_ssize_t format_decimal(int64_t v, int decimals, char* out,
                               Py_ssize_t cap) noexcept nogil:
    cdef char buf[48]
    cdef Py_ssize_t pos = 48
    cdef Py_ssize_t length
    cdef int _k
    cdef bint neg = v < 0
    cdef uint64_t u = <uint64_t>v
    if <unsigned int>decimals > MAX_DECIMALS:
        return -1
    if neg:
        u = 0u - u                  # exact for INT64_MIN too
    for _k in range(decimals):
        pos -= 1
        buf[pos] = <char>(48 + <int>(u % 10u))
        u //= 10u
    if decimals:
        pos -= 1
        buf[pos] = b'.'
    while True:
        pos -= 1
        buf[pos] = <char>(48 + <int>(u % 10u))
        u //= 10u
        if u == 0u:
            break
    if neg:
        pos -= 1
        buf[pos] = b'-'
    length = 48 - pos
    if length > cap:
        return -1
    memcpy(out, &buf[pos], length)
    return length


cdef inline int _convert_fail(DeltaBatch* b, int code, const char* what) noexcept nogil:
    b.error = DEC_BAD_DECIMAL
    b.decimal_error = code
    b.error_offset = -1
    b.error_detail = what
    return DEC_BAD_DECIMAL


cdef enum:
    _OFF_GRID = -1          # _convert_value: exact, but not a multiple of the grid's step


cdef bint is_bare_number(const char* s, Py_ssize_t n) noexcept nogil:
    """A value's text (a pointer into its payload) is a bare JSON number (Kraken v2;
    followed by ',', '}', ']' or space), not a string's content (followed by its
    closing quote)."""
    return n > 0 and s[n] != b'"'


cdef int parse_text(const char* s, Py_ssize_t n, int decimals, int64_t* out) noexcept nogil:
    """A value's text at ``decimals``: a string's decimal (parse_decimal), or a bare JSON
    number (parse_number: exponent allowed, exact; docs/venues.md, "Exact numbers"). The
    one place that choice is made (book levels, tickers, candles)."""
    if is_bare_number(s, n):
        return parse_number(s, n, decimals, out)
    return parse_decimal(s, n, decimals, out)


cdef inline int _parse_level_text(const char* s, int32_t slen, int decimals,
                                  int64_t* v) noexcept nogil:
    return parse_text(s, slen, decimals, v)


cdef inline int _convert_value(const char* s, int32_t slen, int decimals, int grid_decimals,
                               int64_t step, int64_t* v) noexcept nogil:
    # *v < 0: phase 1 left ~((mantissa << 5) | f), the exact value mantissa * 10**-f with f
    # its significant fraction digits (see ff_pre_decimal): scaling it is one multiply, and
    # "on the grid" is f <= grid_decimals, one compare; only a value that fails it (off
    # the grid, or any value when the step is not a power of ten) pays a modulo. Anything
    # else (no pre-parse, too precise, overflow, a bad scale) goes through parse_decimal on
    # the text, so results and error codes are exactly parse_decimal's, then a modulo (a
    # slow path anyway). Returns a DecimalError code, or _OFF_GRID for a value converted
    # exactly that is off the grid (docs/venues.md#instrument-scales).
    cdef uint64_t pre
    cdef unsigned int e
    cdef int f
    cdef int rc
    if v[0] < 0:
        pre = ~(<uint64_t>v[0])
        f = <int>(pre & 31u)
        e = <unsigned int>(decimals - f)
        if e <= MAX_DECIMALS and (pre >> 5) <= FF_I64_LIM[e]:
            v[0] = <int64_t>((pre >> 5) * FF_POW10[e])
            if f <= grid_decimals or v[0] % step == 0:
                return DECIMAL_OK
            return _OFF_GRID
    rc = _parse_level_text(s, slen, decimals, v)
    if rc == DECIMAL_OK and step > 1 and v[0] % step != 0:
        return _OFF_GRID
    return rc


cdef int grid_init(Grid* g, int decimals, int64_t step) noexcept nogil:
    cdef int64_t u = step
    cdef int k = 0
    if <unsigned int>decimals > MAX_DECIMALS or step < 1:
        return -1
    while k < decimals and u % 10 == 0:
        u //= 10
        k += 1
    g.decimals = decimals
    g.grid_decimals = decimals - k if u == 1 else -1
    g.step = step
    return 0


cdef int convert_segment(DeltaBatch* b, const Segment* seg, const Grid* price,
                         const Grid* size) noexcept nogil:
    cdef Delta* d = b.levels + seg.start
    cdef Delta* end = d + seg.count
    cdef Delta* counted = NULL         # the last level counted off the grid
    # the grids in locals: stores through the levels cannot alias them (kept in registers)
    cdef int pd = price.decimals, pg = price.grid_decimals
    cdef int sd = size.decimals, sg = size.grid_decimals
    cdef int64_t pstep = price.step, sstep = size.step
    cdef int rc
    cdef Py_ssize_t n_off = 0
    while d < end:
        rc = _convert_value(d.price_ptr, d.price_len, pd, pg, pstep, &d.price)
        if rc != DECIMAL_OK:
            if rc != _OFF_GRID:
                return _convert_fail(b, rc, "price")
            n_off += 1
            counted = d
        rc = _convert_value(d.size_ptr, d.size_len, sd, sg, sstep, &d.size)
        if rc != DECIMAL_OK:
            if rc != _OFF_GRID:
                return _convert_fail(b, rc, "size")
            if counted != d:
                n_off += 1
        d += 1
    b.off_grid = n_off
    return DEC_OK


cdef bytes _to_bytes(object text):
    if isinstance(text, str):
        return (<str>text).encode("utf-8", "surrogatepass")
    return bytes(text)


def parse_decimal_py(text, int decimals) -> int:
    """Parse decimal text (str or bytes) exactly into an int count of ``10**-decimals``.

    ``parse_decimal_py("97250.01000000", 2) == 9725001``. Raises ``ValueError`` with a
    specific message for empty, signed, non-digit, exponent, too precise or overflowing
    input, and for ``decimals`` outside 0..18.
    """
    cdef bytes data = _to_bytes(text)
    cdef int64_t v = 0
    cdef int rc
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be in 0..{MAX_DECIMALS}, got {decimals}")
    rc = parse_decimal(data, len(data), decimals, &v)
    if rc != DECIMAL_OK:
        raise ValueError(decimal_error_message(rc, text, decimals))
    return v


def parse_number_py(text, int decimals) -> int:
    """Parse a JSON number's text exactly, exponent allowed (``"5.1e-05"`` at 8 decimals
    is ``5100``): ``parse_decimal_py``'s grammar plus ``e``/``E``, an optional sign and
    digits. Raises ``ValueError`` like ``parse_decimal_py``."""
    cdef bytes data = _to_bytes(text)
    cdef int64_t v = 0
    cdef int rc
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be in 0..{MAX_DECIMALS}, got {decimals}")
    rc = parse_number(data, len(data), decimals, &v)
    if rc != DECIMAL_OK:
        raise ValueError(decimal_error_message(rc, text, decimals))
    return v


def format_decimal_py(int64_t value, int decimals) -> str:
    """Format an int count of ``10**-decimals`` units as fixed-point text.

    ``format_decimal_py(9725001, 2) == "97250.01"``; exactly ``decimals`` fractional digits.
    """
    cdef char buf[48]
    cdef Py_ssize_t length
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be in 0..{MAX_DECIMALS}, got {decimals}")
    length = format_decimal(value, decimals, buf, 48)
    return buf[:length].decode("ascii")


def scale_from_increment(increment) -> tuple:
    """The scale of a tick/step: ``(decimals, units)``, ``increment == units * 10**-decimals``.

    ``"0.01"`` → ``(2, 1)``, ``"0.5"`` → ``(1, 5)``, ``"1.00000000"`` → ``(0, 1)``,
    ``"10"`` → ``(0, 10)``, ``"0.0050"`` → ``(3, 5)``. Raises ``ValueError`` for zero,
    negative or malformed increments.
    """
    if isinstance(increment, (bytes, bytearray)):
        increment = bytes(increment).decode("utf-8", "replace")
    if not isinstance(increment, str):
        raise TypeError(f"increment must be a decimal string, got {type(increment).__name__}")
    s = <str>increment
    frac = s.partition(".")[2]
    frac = frac.rstrip("0")
    decimals = len(frac)
    if decimals > MAX_DECIMALS:
        raise ValueError(f"increment {_show(s)} has more than {MAX_DECIMALS} decimals")
    try:
        units = parse_decimal_py(s, decimals)
    except ValueError as exc:
        raise ValueError(f"bad increment: {exc}") from None
    if units <= 0:
        raise ValueError(f"increment {_show(s)} must be positive")
    return decimals, units
