# cython: language_level=3
"""Exact decimals and zero-copy venue decoders.

Decimals: ``parse_decimal`` turns decimal text into an int64 count of ``10**-decimals``
units without going through float, rejecting anything it cannot represent exactly.

Grammar accepted (a deliberate subset of JSON/Decimal syntax, what venues actually send)::

    digits [ '.' digits ]        e.g. "5", "5.0", "0.00010000", "007.5"

Rejected: "" (DECIMAL_EMPTY); a leading '+'/'-' (DECIMAL_SIGN: prices and sizes are never
negative); "1e-5"/"1E5" (DECIMAL_EXPONENT); ".5", "5.", ".", "1.2.3", spaces, anything else
(DECIMAL_NON_DIGIT: ".5" and "5." are not valid JSON-ish numbers and no venue sends them,
so accepting them would only hide a corrupted payload). The first offending character
decides between SIGN / EXPONENT / NON_DIGIT. A well-formed string with a non-zero digit
beyond the scale is DECIMAL_TOO_PRECISE (trailing zeros are fine); one whose value does not
fit int64 at the scale is DECIMAL_OVERFLOW. Priority: syntax, then precision, then overflow.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t, INT32_MAX, INT64_MAX
from libc.string cimport memcmp, memcpy, memset

from fastfeed._types cimport (
    MAX_BATCH_LEVELS, SIDE_BID, SIDE_ASK, SEG_UPDATE, SEG_SNAPSHOT,
    MSG_NONE, MSG_DEPTH, MSG_SNAPSHOT, MSG_HEARTBEAT, MSG_CONTROL, MSG_IGNORED, MSG_VENUE_ERROR,
    batch_reset, batch_next_level, batch_next_seg, batch_init, batch_free,
    DeltaBatch, Delta, Segment,
    DEC_OK, DEC_BAD_DECIMAL,
    DECIMAL_OK, DECIMAL_EMPTY, DECIMAL_SIGN, DECIMAL_NON_DIGIT, DECIMAL_TOO_PRECISE,
    DECIMAL_OVERFLOW, DECIMAL_EXPONENT, DECIMAL_OFF_TICK,
    DEC_MALFORMED_JSON, DEC_MISSING_FIELD, DEC_WRONG_TYPE, DEC_TOO_MANY_LEVELS,
    DEC_UNKNOWN_MESSAGE, DEC_BAD_SIDE, DEC_TRUNCATED, DEC_BAD_TIMESTAMP, DEC_OVERFLOW,
)


from fastfeed._cdefs cimport (
    FF_I64_LIM, FF_POW10, ff_barrier, ff_fast_uint, ff_monotonic_ns, ff_pre_decimal,
    ff_scan_string, ff_skip_zeros, ff_take_digits,
)


class DecodeFailed(ValueError):
    """A payload could not be decoded (or its decimals converted); the message says why."""


# ---------------------------------------------------------------------------------------
# Exact decimals
# ---------------------------------------------------------------------------------------

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


cdef inline int _convert_value(const char* s, int32_t slen, int decimals,
                               int64_t* v) noexcept nogil:
    # *v < 0: phase 1 left ~((mantissa << 5) | f), the exact value mantissa * 10**-f (see
    # ff_pre_decimal); scaling it is one multiply. Anything else (no pre-parse, too
    # precise, overflow, a bad scale) goes through parse_decimal on the text, so results
    # and error codes are exactly parse_decimal's.
    cdef uint64_t pre
    cdef unsigned int e
    if v[0] < 0:
        pre = ~(<uint64_t>v[0])
        e = <unsigned int>(decimals - <int>(pre & 31u))
        if e <= MAX_DECIMALS and (pre >> 5) <= FF_I64_LIM[e]:
            v[0] = <int64_t>((pre >> 5) * FF_POW10[e])
            return DECIMAL_OK
    return parse_decimal(s, slen, decimals, v)


cdef int convert_segment(DeltaBatch* b, const Segment* seg, int price_decimals,
                         int size_decimals, int64_t price_tick,
                         int64_t size_step) noexcept nogil:
    cdef Delta* d = b.levels + seg.start
    cdef Delta* end = d + seg.count
    cdef int rc
    while d < end:
        rc = _convert_value(d.price_ptr, d.price_len, price_decimals, &d.price)
        if rc != DECIMAL_OK:
            return _convert_fail(b, rc, "price")
        if price_tick > 1 and d.price % price_tick != 0:
            return _convert_fail(b, DECIMAL_OFF_TICK, "price")
        rc = _convert_value(d.size_ptr, d.size_len, size_decimals, &d.size)
        if rc != DECIMAL_OK:
            return _convert_fail(b, rc, "size")
        if size_step > 1 and d.size % size_step != 0:
            return _convert_fail(b, DECIMAL_OFF_TICK, "size")
        d += 1
    return DEC_OK


cdef str convert_error_message(const DeltaBatch* b, const Segment* seg, const char* payload,
                               int price_decimals, int size_decimals, int64_t price_tick,
                               int64_t size_step):
    cdef const Delta* d = b.levels + seg.start
    cdef const Delta* end = d + seg.count
    cdef int rc
    cdef int64_t v
    while d < end:
        for is_price in (True, False):
            ptr = d.price_ptr if is_price else d.size_ptr
            length = d.price_len if is_price else d.size_len
            decimals = price_decimals if is_price else size_decimals
            unit = price_tick if is_price else size_step
            rc = parse_decimal(ptr, length, decimals, &v)
            if rc == DECIMAL_OK and unit > 1 and v % unit != 0:
                rc = DECIMAL_OFF_TICK
            if rc != DECIMAL_OK:
                text = ptr[:length].decode("utf-8", "replace")
                where = ""
                if payload != NULL:
                    where = f" at byte {<Py_ssize_t>(ptr - payload)}"
                return (f"{'price' if is_price else 'size'}{where}: "
                        + decimal_error_message(rc, text, decimals, unit))
        d += 1
    return "no decimal error in this segment"


# ---------------------------------------------------------------------------------------
# Python boundary (cold path)
# ---------------------------------------------------------------------------------------

cdef bytes _to_bytes(object text):
    if isinstance(text, str):
        return (<str>text).encode("utf-8", "surrogatepass")
    return bytes(text)


def _show(text) -> str:
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", "replace")
    text = str(text)
    if len(text) > 48:
        text = text[:45] + "..."
    return repr(text)


def decimal_error_message(int code, text, int decimals, unit=1) -> str:
    """Human message for a ``DecimalError`` code about ``text`` at ``decimals``.

    ``unit`` is the tick/step in units (only used for DECIMAL_OFF_TICK).
    """
    t = _show(text)
    if code == DECIMAL_EMPTY:
        return "empty string is not a decimal"
    if code == DECIMAL_SIGN:
        return f"{t} has a sign; prices and sizes are unsigned decimals"
    if code == DECIMAL_NON_DIGIT:
        return (f"{t} is not a plain decimal (expected digits, optionally '.' "
                f"and more digits)")
    if code == DECIMAL_TOO_PRECISE:
        return f"{t} has more decimals than the scale allows ({decimals})"
    if code == DECIMAL_OVERFLOW:
        if not 0 <= decimals <= MAX_DECIMALS:
            return f"decimals must be in 0..{MAX_DECIMALS}, got {decimals}"
        return f"{t} does not fit a 64-bit integer at {decimals} decimals"
    if code == DECIMAL_EXPONENT:
        return f"{t} uses an exponent; only plain decimals are accepted"
    if code == DECIMAL_OFF_TICK:
        return f"{t} is not a multiple of the increment {format_decimal_py(unit, decimals)}"
    return f"{t}: decimal error {code}"


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


def bench_parse_decimal(bytes text, int decimals, long long iterations) -> int:
    """Total nanoseconds (monotonic clock, measured in C) for ``iterations`` parses."""
    cdef const char* p = text
    cdef Py_ssize_t n = len(text)
    cdef int64_t v = 0
    cdef int64_t sink = 0
    cdef long long _k, t0, t1
    cdef int rc = parse_decimal(p, n, decimals, &v)
    if rc != DECIMAL_OK:
        raise ValueError(decimal_error_message(rc, text, decimals))
    with nogil:
        t0 = ff_monotonic_ns()
        for _k in range(iterations):
            ff_barrier()            # the text "may have changed": no hoisting the parse
            parse_decimal(p, n, decimals, &v)
            sink += v
        t1 = ff_monotonic_ns()
    if sink == 42:                  # keep the result alive
        print(end="")
    return t1 - t0


_DECODE_MESSAGES = {
    DEC_MALFORMED_JSON: "malformed JSON",
    DEC_MISSING_FIELD: "missing field",
    DEC_WRONG_TYPE: "field has the wrong type",
    DEC_BAD_DECIMAL: "bad decimal",
    DEC_TOO_MANY_LEVELS: f"too many levels (more than {MAX_BATCH_LEVELS})",
    DEC_UNKNOWN_MESSAGE: "unknown message",
    DEC_BAD_SIDE: "bad side",
    DEC_TRUNCATED: "truncated JSON",
    DEC_BAD_TIMESTAMP: "bad timestamp",
    DEC_OVERFLOW: "integer out of range",
}


def decode_error_message(int code, Py_ssize_t offset=-1, detail=None) -> str:
    """Human message for a ``DecodeError`` code, e.g. ``"malformed JSON at byte 17"``.

    ``detail`` (the batch's static reason, e.g. ``"field 'u' missing"``) is the message
    itself for field errors and a suffix for the others. DEC_BAD_DECIMAL messages are built
    with ``decimal_error_message`` (they need the text and the scale).
    """
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    if detail and code in (DEC_MISSING_FIELD, DEC_WRONG_TYPE, DEC_OVERFLOW, DEC_BAD_SIDE,
                           DEC_BAD_TIMESTAMP, DEC_UNKNOWN_MESSAGE):
        return detail               # already names the field
    msg = _DECODE_MESSAGES.get(code, f"decode error {code}")
    if offset >= 0:
        msg = f"{msg} at byte {offset}"
    if detail:
        msg = f"{msg} ({detail})"
    return msg


# ---------------------------------------------------------------------------------------
# JSON cursor: the non-inline parts
# ---------------------------------------------------------------------------------------

cdef int cur_string(Cursor* c, const char** s, Py_ssize_t* length) noexcept nogil:
    cdef const char* p = c.p
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t start = c.i + 1
    cdef Py_ssize_t i = start
    cdef Py_ssize_t k
    cdef unsigned char ch
    cdef int esc = 0
    while True:
        i = ff_scan_string(p, i, n)     # 8 bytes a step to the next '"', '\\' or control
        if i >= n:
            c.i = n
            return cur_fail(c, DEC_TRUNCATED, NULL)
        ch = <unsigned char>p[i]
        if ch == b'"':
            s[0] = p + start
            length[0] = i - start
            c.i = i + 1
            return esc
        if ch != b'\\':
            c.i = i
            return cur_fail(c, DEC_MALFORMED_JSON, "control character in string")
        esc = 1
        i += 1
        if i >= n:
            c.i = n
            return cur_fail(c, DEC_TRUNCATED, NULL)
        ch = <unsigned char>p[i]
        if ch == b'u':
            for k in range(1, 5):
                if i + k >= n:
                    c.i = n
                    return cur_fail(c, DEC_TRUNCATED, NULL)
                if not _is_hex(p[i + k]):
                    c.i = i + k
                    return cur_fail(c, DEC_MALFORMED_JSON, "bad \\u escape")
            i += 5
        elif (ch == b'"' or ch == b'\\' or ch == b'/' or ch == b'b' or ch == b'f'
              or ch == b'n' or ch == b'r' or ch == b't'):
            i += 1
        else:
            c.i = i
            return cur_fail(c, DEC_MALFORMED_JSON, "bad escape")

cdef int cur_int64(Cursor* c, int64_t* out) noexcept nogil:
    cdef const char* p = c.p
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t start
    cdef Py_ssize_t i
    cdef Py_ssize_t nd
    cdef uint64_t acc = 0
    cdef unsigned int d
    cdef bint neg
    cdef int ch = cur_peek(c)
    if ch < 0:
        return cur_fail(c, DEC_TRUNCATED, NULL)
    start = i = c.i
    neg = ch == b'-'
    if neg:
        i += 1
        if i >= n:
            c.i = n
            return cur_fail(c, DEC_TRUNCATED, NULL)
    d = <unsigned int>(<unsigned char>p[i]) - 48u
    if d > 9u:
        if neg:
            c.i = i
            return cur_fail(c, DEC_MALFORMED_JSON, NULL)
        return -2                   # some other value: the caller validates and skips it
    if d == 0u:
        i += 1
        if i < n and <unsigned int>(<unsigned char>p[i]) - 48u <= 9u:
            c.i = i
            return cur_fail(c, DEC_MALFORMED_JSON, "leading zero")
        nd = 1
    else:
        nd = i
        while i < n:
            d = <unsigned int>(<unsigned char>p[i]) - 48u
            if d > 9u:
                break
            acc = acc * 10u + d
            i += 1
        nd = i - nd
    if i < n and (p[i] == b'.' or p[i] == b'e' or p[i] == b'E'):
        c.i = start
        return -2                   # a JSON number, but not an integer
    if nd > 19 or acc > (<uint64_t>INT64_MAX) + <uint64_t>neg:
        c.i = start
        return -3
    out[0] = <int64_t>(0u - acc) if neg else <int64_t>acc
    c.i = i
    return 0


cdef int _skip_number(Cursor* c) noexcept nogil:
    cdef const char* p = c.p
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t i = c.i
    cdef Py_ssize_t s
    if p[i] == b'-':
        i += 1
    if i >= n:
        c.i = n
        return cur_fail(c, DEC_TRUNCATED, NULL)
    if p[i] == b'0':
        i += 1
    elif b'1' <= p[i] <= b'9':
        while i < n and b'0' <= p[i] <= b'9':
            i += 1
    else:
        c.i = i
        return cur_fail(c, DEC_MALFORMED_JSON, NULL)
    if i < n and p[i] == b'.':
        i += 1
        s = i
        while i < n and b'0' <= p[i] <= b'9':
            i += 1
        if i == s:
            c.i = i
            return cur_fail(c, DEC_MALFORMED_JSON, NULL)
    if i < n and (p[i] == b'e' or p[i] == b'E'):
        i += 1
        if i < n and (p[i] == b'+' or p[i] == b'-'):
            i += 1
        s = i
        while i < n and b'0' <= p[i] <= b'9':
            i += 1
        if i == s:
            c.i = i
            return cur_fail(c, DEC_MALFORMED_JSON, NULL)
    c.i = i
    return 0


cdef int _skip_literal(Cursor* c, const char* lit, Py_ssize_t length) noexcept nogil:
    cdef Py_ssize_t avail = c.n - c.i
    if avail < length:
        if memcmp(c.p + c.i, lit, <size_t>avail) == 0:
            c.i = c.n
            return cur_fail(c, DEC_TRUNCATED, NULL)
        return cur_fail(c, DEC_MALFORMED_JSON, NULL)
    if memcmp(c.p + c.i, lit, <size_t>length) != 0:
        return cur_fail(c, DEC_MALFORMED_JSON, NULL)
    c.i += length
    return 0


cdef int cur_skip_value(Cursor* c, int depth) noexcept nogil:
    cdef const char* s
    cdef Py_ssize_t slen
    cdef int ch = cur_peek(c)
    cdef int more
    cdef char close = b'}'
    if ch == b'"':
        return 0 if cur_string(c, &s, &slen) >= 0 else -1
    if ch == b'{' or ch == b'[':
        if depth >= JSON_MAX_DEPTH:
            return cur_fail(c, DEC_MALFORMED_JSON, "nesting too deep")
        if ch == b'[':
            close = b']'
        c.i += 1
        if cur_peek(c) == <unsigned char>close:
            c.i += 1
            return 0
        more = 1
        while more == 1:
            if ch == b'{' and cur_key(c, &s, &slen) < 0:
                return -1
            if cur_skip_value(c, depth + 1) < 0:
                return -1
            more = cur_next(c, close)
        return more
    if ch == b'-' or b'0' <= ch <= b'9':
        return _skip_number(c)
    if ch == b't':
        return _skip_literal(c, "true", 4)
    if ch == b'f':
        return _skip_literal(c, "false", 5)
    if ch == b'n':
        return _skip_literal(c, "null", 4)
    if ch < 0:
        return cur_fail(c, DEC_TRUNCATED, NULL)
    return cur_fail(c, DEC_MALFORMED_JSON, NULL)


cdef inline int _end_of_payload(Cursor* c) noexcept nogil:
    if cur_peek(c) >= 0:
        return cur_fail(c, DEC_MALFORMED_JSON, "extra data after the JSON value")
    return 0


# ---------------------------------------------------------------------------------------
# RFC 3339 timestamps
# ---------------------------------------------------------------------------------------

cdef inline int _d2(const char* p) noexcept nogil:
    cdef unsigned int a = <unsigned int>(<unsigned char>p[0]) - 48u
    cdef unsigned int b = <unsigned int>(<unsigned char>p[1]) - 48u
    if a > 9u or b > 9u:
        return -1
    return <int>(a * 10u + b)


cdef inline int64_t _days_from_civil(int64_t y, int64_t m, int64_t d) noexcept nogil:
    # Howard Hinnant's days_from_civil, for y >= 0 (so / is floor division).
    cdef int64_t era, yoe, doy, doe
    if m <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef int parse_rfc3339_ns(const char* p, Py_ssize_t n, int64_t* out) noexcept nogil:
    cdef int y_hi, y_lo, mo, d, hh, mi, ss, oh, om, dim
    cdef int64_t y, frac = 0, off = 0, secs
    cdef Py_ssize_t i, k
    cdef unsigned int dig
    if n < 20:
        return -1
    y_hi = _d2(p)
    y_lo = _d2(p + 2)
    mo = _d2(p + 5)
    d = _d2(p + 8)
    hh = _d2(p + 11)
    mi = _d2(p + 14)
    ss = _d2(p + 17)
    if (y_hi < 0 or y_lo < 0 or mo < 0 or d < 0 or hh < 0 or mi < 0 or ss < 0
            or p[4] != b'-' or p[7] != b'-' or (p[10] != b'T' and p[10] != b't')
            or p[13] != b':' or p[16] != b':'):
        return -1
    y = y_hi * 100 + y_lo
    i = 19
    if p[i] == b'.':
        i += 1
        k = 0
        while i < n:
            dig = <unsigned int>(<unsigned char>p[i]) - 48u
            if dig > 9u:
                break
            if k == 9:
                return -1           # finer than a nanosecond: not representable
            frac = frac * 10 + dig
            k += 1
            i += 1
        if k == 0:
            return -1
        frac *= <int64_t>FF_POW10[9 - k]
    if i >= n:
        return -1
    if p[i] == b'Z' or p[i] == b'z':
        i += 1
    elif p[i] == b'+' or p[i] == b'-':
        if n - i != 6 or p[i + 3] != b':':
            return -1
        oh = _d2(p + i + 1)
        om = _d2(p + i + 4)
        if oh < 0 or om < 0 or oh > 23 or om > 59:
            return -1
        off = oh * 3600 + om * 60
        if p[i] == b'-':
            off = -off
        i += 6
    else:
        return -1
    if i != n:
        return -1
    if y < 1970 or y > 2261 or mo < 1 or mo > 12 or hh > 23 or mi > 59 or ss > 59:
        return -1
    if mo == 2:
        dim = 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    elif mo == 4 or mo == 6 or mo == 9 or mo == 11:
        dim = 30
    else:
        dim = 31
    if d < 1 or d > dim:
        return -1
    secs = _days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - off
    out[0] = secs * 1000000000 + frac
    return 0


# ---------------------------------------------------------------------------------------
# Decoder plumbing shared by the venues
# ---------------------------------------------------------------------------------------

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
    return slen == litlen and memcmp(s, lit, <size_t>litlen) == 0


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


# ---------------------------------------------------------------------------------------
# Binance: depthUpdate events (spot and USD-M, raw or combined stream) and REST snapshots
# ---------------------------------------------------------------------------------------

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
    members of any type are validated and skipped."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef char ch
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
                rc = _str_field(c, &o.s, &o.s_len, &o.pd,
                                "field 's' has the wrong type (expected string)")
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


cdef inline int _missing(DeltaBatch* b, const char* detail) noexcept nogil:
    return _fail_batch(b, DEC_MISSING_FIELD, -1, detail)


cdef inline bint _lit(const char* p, Py_ssize_t i, Py_ssize_t n, const char* lit,
                      Py_ssize_t length) noexcept nogil:
    return n - i >= length and memcmp(p + i, lit, <size_t>length) == 0


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
    if not _lit(p, j, n, '","U":', 6):
        return -1
    i = ff_fast_uint(p, j + 6, n, &U)
    if i < 0 or not _lit(p, i, n, ',"u":', 5):
        return -1
    i = ff_fast_uint(p, i + 5, n, &u)
    if i < 0:
        return -1
    if _lit(p, i, n, ',"pu":', 6):
        i = ff_fast_uint(p, i + 6, n, &pu)
        if i < 0:
            return -1
    if not _lit(p, i, n, ',"b":[', 6):
        return -1
    cur_init(&c, p, n)
    c.i = i + 5
    if _levels_tight(&c, b, SIDE_BID) < 0 or not _lit(p, c.i, n, ',"a":[', 6):
        return -1
    c.i += 5
    if _levels_tight(&c, b, SIDE_ASK) < 0 or not _lit(p, c.i, n, '}', 1):
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
    cdef Cursor c
    cdef BnObj top
    cdef BnObj inner
    cdef BnObj* ev = &top
    cdef Segment* seg
    batch_reset(b)
    if _bn_fast(p, n, b) == DEC_OK:
        return DEC_OK
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
        ev = &inner
    if ev.seen & BN_e:
        if ev.e_len < 0:
            return _fail_batch(b, DEC_WRONG_TYPE, ev.e_at,
                               "field 'e' has the wrong type (expected string)")
        if not _span_is(ev.e, ev.e_len, "depthUpdate", 11):
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


# ---------------------------------------------------------------------------------------
# Coinbase Advanced Trade: {"channel":..,"timestamp":..,"sequence_num":..,"events":[..]}
# ---------------------------------------------------------------------------------------

cdef enum:
    CB_channel = 1 << 0
    CB_timestamp = 1 << 1
    CB_sequence = 1 << 2
    CB_events = 1 << 3
    CB_type = 1 << 4
    CB_product = 1 << 5
    CB_updates = 1 << 6
    CB_side = 1 << 7
    CB_price = 1 << 8
    CB_qty = 1 << 9
    CB_time = 1 << 10
    CB_bids = 1 << 11
    CB_asks = 1 << 12
    CB_changes = 1 << 13


ctypedef struct CbObj:
    uint32_t seen
    Pending pd                  # envelope / message fields
    Pending ev_pd               # Advanced Trade: inside "events"
    const char* channel
    Py_ssize_t channel_len
    const char* ts
    Py_ssize_t ts_len
    Py_ssize_t ts_at
    const char* type
    Py_ssize_t type_len         # -1: present but not a string
    Py_ssize_t type_at
    const char* product
    Py_ssize_t product_len
    int64_t seq


cdef inline void _cb_init(CbObj* o) noexcept nogil:
    o.seen = 0
    o.pd.code = DEC_OK
    o.pd.at = -1
    o.pd.detail = NULL
    o.ev_pd.code = DEC_OK
    o.ev_pd.at = -1
    o.ev_pd.detail = NULL
    o.channel = o.ts = o.type = o.product = NULL
    o.channel_len = o.ts_len = o.type_len = o.product_len = 0
    o.ts_at = o.type_at = -1
    o.seq = 0


cdef int _cb_update(Cursor* c, DeltaBatch* b, Segment* seg, bint* got_time,
                    Pending* pd) noexcept nogil:
    """One ``{"side":..,"event_time":..,"price_level":..,"new_quantity":..}`` (at '{')."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef const char* s
    cdef Py_ssize_t slen
    cdef uint32_t seen = 0
    cdef int rc
    cdef Py_ssize_t at
    cdef Delta* d = batch_next_level(b)
    if d == NULL:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, NULL)
    d.price_ptr = d.size_ptr = NULL
    d.price_len = d.size_len = 0
    d.price = d.size = 0            # no pre-parse: phase 2 reads the text
    d.side = SIDE_BID
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            if key_is(k, kl, "side", 4):
                if seen & CB_side:
                    return _dup(c)
                seen |= CB_side
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &slen, pd,
                                "field 'side' has the wrong type (expected string)")
                if rc == 0:
                    if _span_is(s, slen, "bid", 3):
                        d.side = SIDE_BID
                    elif _span_is(s, slen, "offer", 5):
                        d.side = SIDE_ASK
                    else:
                        _pend(pd, DEC_BAD_SIDE, at, "update side is not 'bid' or 'offer'")
            elif key_is(k, kl, "price_level", 11):
                if seen & CB_price:
                    return _dup(c)
                seen |= CB_price
                rc = _str_field(c, &s, &slen, pd,
                                "field 'price_level' has the wrong type (expected string)")
                if rc == 0:
                    d.price_ptr = s
                    d.price_len = <int32_t>slen
            elif key_is(k, kl, "new_quantity", 12):
                if seen & CB_qty:
                    return _dup(c)
                seen |= CB_qty
                rc = _str_field(c, &s, &slen, pd,
                                "field 'new_quantity' has the wrong type (expected string)")
                if rc == 0:
                    d.size_ptr = s
                    d.size_len = <int32_t>slen
            elif key_is(k, kl, "event_time", 10):
                if seen & CB_time:
                    return _dup(c)
                seen |= CB_time
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &slen, pd,
                                "field 'event_time' has the wrong type (expected string)")
                if not got_time[0]:
                    # The event's time: that of its first update (parsing every one
                    # would cost ~20 ns a level for nothing).
                    got_time[0] = True
                    if rc == 0 and parse_rfc3339_ns(s, slen, &seg.event_time_ns) < 0:
                        _pend(pd, DEC_BAD_TIMESTAMP, at,
                              "field 'event_time' is not an RFC 3339 timestamp")
            else:
                rc = cur_skip_value(c, 0)
            if rc < 0:
                return -1
            rc = cur_next(c, b'}')
            if rc < 0:
                return -1
            if rc == 0:
                break
    if not seen & CB_side:
        _pend(pd, DEC_MISSING_FIELD, -1, "update field 'side' missing")
    if not seen & CB_price:
        _pend(pd, DEC_MISSING_FIELD, -1, "update field 'price_level' missing")
    if not seen & CB_qty:
        _pend(pd, DEC_MISSING_FIELD, -1, "update field 'new_quantity' missing")
    return 0


cdef int _cb_update_tight(Cursor* c, DeltaBatch* b, Segment* seg, bint* got_time,
                          Pending* pd) noexcept nogil:
    """At '{': one update exactly as Coinbase sends it, ``{"side":"bid"|"offer",
    "event_time":"..","price_level":"..","new_quantity":".."}`` without whitespace or
    escapes, decimals pre-parsed while scanning. 0: parsed (same result as _cb_update);
    -1: any deviation, nothing recorded except one level (the caller restores n_levels
    and the cursor and runs _cb_update)."""
    cdef const char* p = c.p
    cdef Py_ssize_t n = c.n
    cdef Py_ssize_t i = c.i
    cdef Py_ssize_t t, te, q
    cdef int64_t pre
    cdef Delta* d
    cdef uint8_t side
    if not _lit(p, i, n, '{"side":"', 9):
        return -1
    i += 9
    if _lit(p, i, n, 'bid","event_time":"', 19):
        side = SIDE_BID
        i += 19
    elif _lit(p, i, n, 'offer","event_time":"', 21):
        side = SIDE_ASK
        i += 21
    else:
        return -1
    t = i
    te = i = ff_scan_string(p, i, n)
    if not _lit(p, i, n, '","price_level":"', 17):
        return -1
    d = batch_next_level(b)
    if d == NULL:
        return -1
    d.side = side
    i += 17
    q = _dec_string(p, i, n, &pre)
    if q < 0 or q - i > INT32_MAX:
        return -1
    d.price_ptr = p + i
    d.price_len = <int32_t>(q - i)
    d.price = pre
    if not _lit(p, q, n, '","new_quantity":"', 18):
        return -1
    i = q + 18
    q = _dec_string(p, i, n, &pre)
    if q < 0 or q - i > INT32_MAX or not _lit(p, q, n, '"}', 2):
        return -1
    d.size_ptr = p + i
    d.size_len = <int32_t>(q - i)
    d.size = pre
    c.i = q + 2
    if not got_time[0]:
        # the event's time is its first update's (as in _cb_update)
        got_time[0] = True
        if parse_rfc3339_ns(p + t, te - t, &seg.event_time_ns) < 0:
            _pend(pd, DEC_BAD_TIMESTAMP, t - 1,
                  "field 'event_time' is not an RFC 3339 timestamp")
    return 0


cdef int _cb_array(Cursor* c, DeltaBatch* b, Segment* seg, Pending* pd, bint events,
                   const char* wrong) noexcept nogil:
    """``events`` (events=True) or an event's ``updates`` array of objects."""
    cdef int rc
    cdef Py_ssize_t saved, start
    cdef bint got_time = False
    if cur_peek(c) != b'[':
        _pend(pd, DEC_WRONG_TYPE, c.i, wrong)
        return cur_skip_value(c, 0)
    c.i += 1
    if cur_peek(c) == b']':
        c.i += 1
        return 0
    while True:
        if cur_peek(c) != b'{':
            _pend(pd, DEC_WRONG_TYPE, c.i, wrong)
            rc = cur_skip_value(c, 0)
        elif events:
            rc = _cb_event(c, b, pd)
        else:
            saved = b.n_levels
            start = c.i
            rc = _cb_update_tight(c, b, seg, &got_time, pd)
            if rc < 0:
                b.n_levels = saved
                c.i = start
                rc = _cb_update(c, b, seg, &got_time, pd)
        if rc < 0:
            return -1
        rc = cur_next(c, b']')
        if rc <= 0:
            return rc


cdef int _cb_event(Cursor* c, DeltaBatch* b, Pending* pd) noexcept nogil:
    """One ``{"type":..,"product_id":..,"updates":[..]}`` (at '{') → one Segment."""
    cdef const char* k
    cdef Py_ssize_t kl
    cdef const char* s
    cdef Py_ssize_t slen
    cdef uint32_t seen = 0
    cdef int rc
    cdef Py_ssize_t at
    cdef Py_ssize_t seg_index = b.n_segs
    cdef Segment* seg = batch_next_seg(b)
    if seg == NULL:
        return cur_fail(c, DEC_TOO_MANY_LEVELS, "too many segments")
    seg.symbol_ptr = NULL
    seg.symbol_len = 0
    seg.kind = SEG_UPDATE
    seg.start = b.n_levels
    seg.count = 0
    seg.event_time_ns = 0
    c.i += 1
    if cur_peek(c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(c, &k, &kl) < 0:
                return -1
            if key_is(k, kl, "type", 4):
                if seen & CB_type:
                    return _dup(c)
                seen |= CB_type
                cur_peek(c)
                at = c.i
                rc = _str_field(c, &s, &slen, pd,
                                "event field 'type' has the wrong type (expected string)")
                if rc == 0:
                    if _span_is(s, slen, "update", 6):
                        b.segs[seg_index].kind = SEG_UPDATE
                    elif _span_is(s, slen, "snapshot", 8):
                        b.segs[seg_index].kind = SEG_SNAPSHOT
                    else:
                        _pend(pd, DEC_UNKNOWN_MESSAGE, at,
                              "event type is not 'snapshot' or 'update'")
            elif key_is(k, kl, "product_id", 10):
                if seen & CB_product:
                    return _dup(c)
                seen |= CB_product
                rc = _str_field(c, &s, &slen, pd,
                                "event field 'product_id' has the wrong type (expected string)")
                if rc == 0:
                    b.segs[seg_index].symbol_ptr = s
                    b.segs[seg_index].symbol_len = <int32_t>slen
            elif key_is(k, kl, "updates", 7):
                if seen & CB_updates:
                    return _dup(c)
                seen |= CB_updates
                # the segment array does not move while levels are appended
                rc = _cb_array(c, b, &b.segs[seg_index], pd, False,
                               "field 'updates' has the wrong type (expected array of objects)")
            else:
                rc = cur_skip_value(c, 0)
            if rc < 0:
                return -1
            rc = cur_next(c, b'}')
            if rc < 0:
                return -1
            if rc == 0:
                break
    seg = &b.segs[seg_index]
    seg.count = b.n_levels - seg.start
    if not seen & CB_type:
        _pend(pd, DEC_MISSING_FIELD, -1, "event field 'type' missing")
    if not seen & CB_product:
        _pend(pd, DEC_MISSING_FIELD, -1, "event field 'product_id' missing")
    if not seen & CB_updates:
        _pend(pd, DEC_MISSING_FIELD, -1, "event field 'updates' missing")
    return 0


cdef int decode_coinbase_at(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Coinbase Advanced Trade: ``l2_data`` → MSG_DEPTH (one Segment per event, kind from
    the event type), ``heartbeats`` → MSG_HEARTBEAT, ``subscriptions`` → MSG_CONTROL,
    ``{"type":"error"}`` → MSG_VENUE_ERROR, other channels → MSG_IGNORED. ``last_id`` is
    ``sequence_num`` whenever present (it counts every message on the connection)."""
    cdef Cursor c
    cdef CbObj o
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef bint seq_ok = False
    cdef Pending ignored
    ignored.code = DEC_OK
    batch_reset(b)
    cur_init(&c, p, n)
    _cb_init(&o)
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            if key_is(k, kl, "channel", 7):
                if o.seen & CB_channel:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_channel
                rc = _str_field(&c, &o.channel, &o.channel_len, &o.pd,
                                "field 'channel' has the wrong type (expected string)")
            elif key_is(k, kl, "timestamp", 9):
                if o.seen & CB_timestamp:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_timestamp
                cur_peek(&c)
                o.ts_at = c.i
                rc = _str_field(&c, &o.ts, &o.ts_len, &o.pd,
                                "field 'timestamp' has the wrong type (expected string)")
            elif key_is(k, kl, "sequence_num", 12):
                if o.seen & CB_sequence:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_sequence
                rc = _int_field(&c, &o.seq, &o.pd,
                                "field 'sequence_num' has the wrong type (expected integer)",
                                "field 'sequence_num' out of range")
                seq_ok = rc == 0
            elif key_is(k, kl, "events", 6):
                if o.seen & CB_events:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_events
                rc = _cb_array(&c, b, NULL, &o.ev_pd, True,
                               "field 'events' has the wrong type (expected array of objects)")
            elif key_is(k, kl, "type", 4):
                # only {"type":"error"} matters here; any other type or value is ignored
                rc = _str_field(&c, &o.type, &o.type_len, &ignored, NULL)
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
    if seq_ok:
        b.last_id = o.seq
    if o.type != NULL and _span_is(o.type, o.type_len, "error", 5):
        b.n_levels = b.n_segs = 0
        b.msg_kind = MSG_VENUE_ERROR
        return DEC_OK
    if o.pd.code != DEC_OK:
        return _fail_batch(b, o.pd.code, o.pd.at, o.pd.detail)
    if not o.seen & CB_channel:
        return _missing(b, "field 'channel' missing")
    if o.seen & CB_timestamp:
        if parse_rfc3339_ns(o.ts, o.ts_len, &b.event_time_ns) < 0:
            return _fail_batch(b, DEC_BAD_TIMESTAMP, o.ts_at,
                               "field 'timestamp' is not an RFC 3339 timestamp")
    if _span_is(o.channel, o.channel_len, "l2_data", 7):
        if not o.seen & CB_sequence:
            return _missing(b, "field 'sequence_num' missing")
        if not o.seen & CB_timestamp:
            return _missing(b, "field 'timestamp' missing")
        if not o.seen & CB_events:
            return _missing(b, "field 'events' missing")
        if o.ev_pd.code != DEC_OK:
            return _fail_batch(b, o.ev_pd.code, o.ev_pd.at, o.ev_pd.detail)
        b.msg_kind = MSG_DEPTH
        return DEC_OK
    b.n_levels = b.n_segs = 0
    if _span_is(o.channel, o.channel_len, "heartbeats", 10):
        b.msg_kind = MSG_HEARTBEAT
    elif _span_is(o.channel, o.channel_len, "subscriptions", 13):
        b.msg_kind = MSG_CONTROL
    else:
        b.msg_kind = MSG_IGNORED
    return DEC_OK


# ---------------------------------------------------------------------------------------
# Coinbase Exchange: {"type":"snapshot"|"l2update"|"heartbeat"|..., ...}
# ---------------------------------------------------------------------------------------

cdef int decode_coinbase_exchange(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Coinbase Exchange ``snapshot`` → MSG_SNAPSHOT, ``l2update`` → MSG_DEPTH (``buy`` =
    bid, ``sell`` = ask), ``heartbeat`` → MSG_HEARTBEAT (last_id = ``sequence``),
    ``subscriptions`` → MSG_CONTROL, ``error`` → MSG_VENUE_ERROR, others → MSG_IGNORED."""
    cdef Cursor c
    cdef CbObj o
    cdef const char* k
    cdef Py_ssize_t kl
    cdef int rc
    cdef Segment* seg
    cdef bint snap, upd
    batch_reset(b)
    cur_init(&c, p, n)
    _cb_init(&o)
    if cur_expect(&c, b'{') < 0:
        return _fail_cursor(b, &c)
    if cur_peek(&c) == b'}':
        c.i += 1
    else:
        while True:
            if cur_key(&c, &k, &kl) < 0:
                return _fail_cursor(b, &c)
            if key_is(k, kl, "type", 4):
                if o.seen & CB_type:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_type
                cur_peek(&c)
                o.type_at = c.i
                rc = _str_field(&c, &o.type, &o.type_len, &o.ev_pd, NULL)
                if rc == 1:
                    o.type_len = -1
            elif key_is(k, kl, "product_id", 10):
                if o.seen & CB_product:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_product
                rc = _str_field(&c, &o.product, &o.product_len, &o.pd,
                                "field 'product_id' has the wrong type (expected string)")
            elif key_is(k, kl, "changes", 7):
                if o.seen & CB_changes:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_changes
                rc = _levels(&c, b, SIDE_BID, True, &o.pd,
                             "field 'changes' has the wrong type "
                             "(expected [side, price, size] string triples)")
            elif key_is(k, kl, "bids", 4):
                if o.seen & CB_bids:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_bids
                rc = _levels(&c, b, SIDE_BID, False, &o.pd,
                             "field 'bids' has the wrong type "
                             "(expected [price, size] string pairs)")
            elif key_is(k, kl, "asks", 4):
                if o.seen & CB_asks:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_asks
                rc = _levels(&c, b, SIDE_ASK, False, &o.pd,
                             "field 'asks' has the wrong type "
                             "(expected [price, size] string pairs)")
            elif key_is(k, kl, "time", 4):
                if o.seen & CB_time:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_time
                cur_peek(&c)
                o.ts_at = c.i
                rc = _str_field(&c, &o.ts, &o.ts_len, &o.pd,
                                "field 'time' has the wrong type (expected string)")
            elif key_is(k, kl, "sequence", 8):
                if o.seen & CB_sequence:
                    return _fail_batch(b, DEC_MALFORMED_JSON, c.i, "duplicate field")
                o.seen |= CB_sequence
                rc = _int_field(&c, &o.seq, &o.pd,
                                "field 'sequence' has the wrong type (expected integer)",
                                "field 'sequence' out of range")
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
    if not o.seen & CB_type:
        return _missing(b, "field 'type' missing")
    if o.type_len < 0:
        return _fail_batch(b, DEC_WRONG_TYPE, o.type_at,
                           "field 'type' has the wrong type (expected string)")
    snap = _span_is(o.type, o.type_len, "snapshot", 8)
    upd = _span_is(o.type, o.type_len, "l2update", 8)
    if snap or upd or _span_is(o.type, o.type_len, "heartbeat", 9):
        if o.pd.code != DEC_OK:
            return _fail_batch(b, o.pd.code, o.pd.at, o.pd.detail)
        if snap or upd:
            if not o.seen & CB_product:
                return _missing(b, "field 'product_id' missing")
        if snap:
            if not o.seen & CB_bids:
                return _missing(b, "field 'bids' missing")
            if not o.seen & CB_asks:
                return _missing(b, "field 'asks' missing")
        if upd:
            if not o.seen & CB_changes:
                return _missing(b, "field 'changes' missing")
            if not o.seen & CB_time:
                return _missing(b, "field 'time' missing")
        if o.seen & CB_time:
            if parse_rfc3339_ns(o.ts, o.ts_len, &b.event_time_ns) < 0:
                return _fail_batch(b, DEC_BAD_TIMESTAMP, o.ts_at,
                                   "field 'time' is not an RFC 3339 timestamp")
        if o.seen & CB_sequence:
            b.last_id = o.seq
        if snap or upd:
            seg = batch_next_seg(b)
            if seg == NULL:
                return _fail_batch(b, DEC_TOO_MANY_LEVELS, -1, "too many segments")
            seg.symbol_ptr = o.product
            seg.symbol_len = <int32_t>o.product_len
            seg.kind = SEG_SNAPSHOT if snap else SEG_UPDATE
            seg.start = 0
            seg.count = b.n_levels
            seg.event_time_ns = b.event_time_ns
            b.msg_kind = MSG_SNAPSHOT if snap else MSG_DEPTH
        else:
            b.n_levels = 0
            b.msg_kind = MSG_HEARTBEAT
        return DEC_OK
    b.n_levels = 0
    if _span_is(o.type, o.type_len, "subscriptions", 13):
        b.msg_kind = MSG_CONTROL
    elif _span_is(o.type, o.type_len, "error", 5):
        b.msg_kind = MSG_VENUE_ERROR
    else:
        b.msg_kind = MSG_IGNORED
    return DEC_OK


# ---------------------------------------------------------------------------------------
# Dispatch and the Python boundary for decoders
# ---------------------------------------------------------------------------------------

cdef DecodeFn decoder_for(str venue, bint snapshot) noexcept:
    if venue == "binance" or venue == "binance-usdm":
        if snapshot:
            return decode_binance_snapshot
        return decode_binance_depth
    if venue == "coinbase":
        if snapshot:
            return NULL                                     # no REST step
        return decode_coinbase_at
    if venue == "coinbase-exchange":
        return decode_coinbase_exchange                     # snapshots come in-band
    return NULL


cdef str batch_error_message(const DeltaBatch* b):
    detail = None
    if b.error_detail != NULL:
        detail = (<bytes>b.error_detail).decode("utf-8", "replace")
    if b.error == DEC_BAD_DECIMAL:
        return f"bad decimal in {detail or 'a level'}"
    return decode_error_message(b.error, b.error_offset, detail)


_KIND_NAMES = {
    MSG_NONE: "none",
    MSG_DEPTH: "depth",
    MSG_SNAPSHOT: "snapshot",
    MSG_HEARTBEAT: "heartbeat",
    MSG_CONTROL: "control",
    MSG_IGNORED: "ignored",
    MSG_VENUE_ERROR: "venue_error",
}


cdef DecodeFn _checked_decoder(str venue, bint snapshot) except NULL:
    cdef DecodeFn fn = decoder_for(venue, snapshot)
    if fn == NULL:
        if venue == "coinbase" and snapshot:
            raise ValueError("coinbase (Advanced Trade) has no snapshot decoder: "
                             "snapshots arrive in-band on l2_data")
        raise ValueError(f"unknown venue {venue!r} (expected binance, binance-usdm, "
                         f"coinbase or coinbase-exchange)")
    return fn


def _check_scale(int price_decimals, int size_decimals, int64_t price_tick,
                 int64_t size_step):
    for name, value in (("price_decimals", price_decimals), ("size_decimals", size_decimals)):
        if not 0 <= value <= MAX_DECIMALS:
            raise ValueError(f"{name} must be in 0..{MAX_DECIMALS}, got {value}")
    if price_tick < 1 or size_step < 1:
        raise ValueError("price_tick and size_step are counts of units and must be >= 1")


def decode_message(str venue, payload, int price_decimals, int size_decimals,
                   int64_t price_tick=1, int64_t size_step=1, *, bint snapshot=False) -> dict:
    """Decode one payload through the compiled decoder and convert its levels.

    Returns ``{"kind", "first_id", "last_id", "prev_id", "event_time_ns", "txn_time_ns",
    "segments": [{"symbol", "kind", "event_time_ns", "levels": [(side, price, size)]}]}``
    with ``side`` ``"bid"``/``"ask"`` and integer ticks/lots. Raises ``DecodeFailed``
    with a specific message when the payload or one of its decimals is bad.
    """
    cdef DecodeFn fn = _checked_decoder(venue, snapshot)
    cdef bytes data = bytes(payload)
    cdef const char* p = data
    cdef DeltaBatch b
    cdef Segment* seg
    cdef Delta* d
    cdef Py_ssize_t si, li
    cdef int rc
    _check_scale(price_decimals, size_decimals, price_tick, size_step)
    if batch_init(&b, 64) < 0:
        raise MemoryError()
    try:
        rc = fn(p, len(data), &b)
        if rc != DEC_OK:
            raise DecodeFailed(batch_error_message(&b))
        segments = []
        for si in range(b.n_segs):
            seg = &b.segs[si]
            if convert_segment(&b, seg, price_decimals, size_decimals, price_tick,
                               size_step) != DEC_OK:
                raise DecodeFailed(convert_error_message(&b, seg, p, price_decimals,
                                                         size_decimals, price_tick, size_step))
            levels = []
            for li in range(seg.start, seg.start + seg.count):
                d = &b.levels[li]
                levels.append(("bid" if d.side == SIDE_BID else "ask", d.price, d.size))
            symbol = None
            if seg.symbol_ptr != NULL:
                symbol = seg.symbol_ptr[:seg.symbol_len].decode("utf-8", "replace")
            segments.append({
                "symbol": symbol,
                "kind": "snapshot" if seg.kind == SEG_SNAPSHOT else "update",
                "event_time_ns": seg.event_time_ns,
                "levels": levels,
            })
        return {
            "kind": _KIND_NAMES.get(b.msg_kind, str(b.msg_kind)),
            "first_id": b.first_id,
            "last_id": b.last_id,
            "prev_id": b.prev_id,
            "event_time_ns": b.event_time_ns,
            "txn_time_ns": b.txn_time_ns,
            "segments": segments,
        }
    finally:
        batch_free(&b)


def bench_decode(str venue, bytes payload, long long iterations, int price_decimals,
                 int size_decimals, *, bint snapshot=False) -> int:
    """Total nanoseconds (monotonic clock, measured in C) for ``iterations`` rounds of
    decode + convert of every segment of ``payload``; the payload must decode cleanly."""
    cdef DecodeFn fn = _checked_decoder(venue, snapshot)
    cdef const char* p = payload
    cdef Py_ssize_t n = len(payload)
    cdef DeltaBatch b
    cdef long long _k, t0, t1
    cdef Py_ssize_t si
    cdef int rc = 0
    _check_scale(price_decimals, size_decimals, 1, 1)
    decode_message(venue, payload, price_decimals, size_decimals, snapshot=snapshot)
    if batch_init(&b, 64) < 0:
        raise MemoryError()
    with nogil:
        t0 = ff_monotonic_ns()
        for _k in range(iterations):
            ff_barrier()
            rc |= fn(p, n, &b)
            for si in range(b.n_segs):
                rc |= convert_segment(&b, &b.segs[si], price_decimals, size_decimals, 1, 1)
        t1 = ff_monotonic_ns()
    batch_free(&b)
    if rc != DEC_OK:
        raise DecodeFailed("payload stopped decoding during the benchmark")
    return t1 - t0
