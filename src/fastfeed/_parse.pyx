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

from libc.stdint cimport int64_t, uint64_t, INT64_MAX
from libc.string cimport memcpy

from fastfeed._types cimport (
    MAX_BATCH_LEVELS,
    DeltaBatch, Delta, Segment,
    DEC_OK, DEC_BAD_DECIMAL,
    DECIMAL_OK, DECIMAL_EMPTY, DECIMAL_SIGN, DECIMAL_NON_DIGIT, DECIMAL_TOO_PRECISE,
    DECIMAL_OVERFLOW, DECIMAL_EXPONENT, DECIMAL_OFF_TICK,
    DEC_MALFORMED_JSON, DEC_MISSING_FIELD, DEC_WRONG_TYPE, DEC_TOO_MANY_LEVELS,
    DEC_UNKNOWN_MESSAGE, DEC_BAD_SIDE, DEC_TRUNCATED, DEC_BAD_TIMESTAMP, DEC_OVERFLOW,
)


cdef extern from *:
    """
    #include <time.h>
    #include <stdint.h>
    static const uint64_t FF_POW10[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
        100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
        10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
        10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL,
        10000000000000000000ULL
    };
    #include <string.h>
    /* SWAR: 8 ASCII digits at once (little-endian load). */
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    #define FF_SWAR 0
    #else
    #define FF_SWAR 1
    #endif
    static inline uint64_t ff_load8(const char* p) {
        uint64_t v; memcpy(&v, p, 8); return v;
    }
    static inline uint64_t ff_nondigit8(uint64_t v) {
        /* Non-zero byte exactly where the byte is not '0'..'9' (a carry out of a byte
           >= 0xFA only pollutes bytes above it, after the first non-digit). */
        return ((v & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL)
             | (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL);
    }
    static inline uint64_t ff_value8(uint64_t v) {
        v = (v & 0x0F0F0F0F0F0F0F0FULL) * 2561ULL >> 8;
        v = (v & 0x00FF00FF00FF00FFULL) * 6553601ULL >> 16;
        return (v & 0x0000FFFF0000FFFFULL) * 42949672960001ULL >> 32;
    }
    #if defined(_MSC_VER)
    #include <intrin.h>
    static inline int ff_ctz64(uint64_t v) {
        unsigned long i; _BitScanForward64(&i, v); return (int)i;
    }
    #else
    #define ff_ctz64(v) __builtin_ctzll(v)
    #endif
    /* Accumulate the leading decimal digits of p[0..min(avail, maxd)) into *acc (wrapping
       mod 2**64 is the caller's problem); returns how many were taken. */
    static inline Py_ssize_t ff_take_digits(const char* p, Py_ssize_t avail, Py_ssize_t maxd,
                                            uint64_t* acc) {
        Py_ssize_t k = 0, lim = avail < maxd ? avail : maxd, j;
        uint64_t a = *acc, w, m;
    #if FF_SWAR
        while (lim - k >= 8) {
            w = ff_load8(p + k);
            m = ff_nondigit8(w);
            if (m) {
                j = ff_ctz64(m) >> 3;
                if (j) a = a * FF_POW10[j] + ff_value8(w << (64 - 8 * j));
                *acc = a;
                return k + j;
            }
            a = a * 100000000ULL + ff_value8(w);
            k += 8;
        }
        if (lim > k && avail - k >= 8) {
            /* fewer than 8 wanted but 8 readable: bytes past lim count as a stop */
            w = ff_load8(p + k);
            m = ff_nondigit8(w) | (~0ULL << (8 * (lim - k)));
            j = ff_ctz64(m) >> 3;
            if (j) a = a * FF_POW10[j] + ff_value8(w << (64 - 8 * j));
            *acc = a;
            return k + j;
        }
    #endif
        while (k < lim) {
            unsigned d = (unsigned)(unsigned char)p[k] - 48u;
            if (d > 9u) break;
            a = a * 10u + d;
            k++;
        }
        *acc = a;
        return k;
    }
    /* Are p[i..n) all '0'? (n >= 8 lets a window ending at n cover a short tail.) */
    static inline Py_ssize_t ff_skip_zeros(const char* p, Py_ssize_t i, Py_ssize_t n) {
    #if FF_SWAR
        while (n - i >= 8 && ff_load8(p + i) == 0x3030303030303030ULL) i += 8;
        if (n - i > 0 && n - i < 8 && n >= 8) {
            int sh = (int)(8 * (8 - (n - i)));
            if ((ff_load8(p + n - 8) >> sh) == (0x3030303030303030ULL >> sh)) return n;
        }
    #endif
        while (i < n && p[i] == '0') i++;
        return i;
    }
    #if defined(_MSC_VER)
    #include <intrin.h>
    #define ff_barrier() _ReadWriteBarrier()
    #else
    #define ff_barrier() __asm__ __volatile__("" ::: "memory")
    #endif
    #if defined(_WIN32)
    #include <windows.h>
    static long long ff_monotonic_ns(void) {
        LARGE_INTEGER f, c;
        QueryPerformanceFrequency(&f);
        QueryPerformanceCounter(&c);
        return (long long)((double)c.QuadPart * 1e9 / (double)f.QuadPart);
    }
    #else
    static long long ff_monotonic_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    }
    #endif
    """
    const uint64_t FF_POW10[20]
    Py_ssize_t ff_take_digits(const char* p, Py_ssize_t avail, Py_ssize_t maxd,
                              uint64_t* acc) noexcept nogil
    Py_ssize_t ff_skip_zeros(const char* p, Py_ssize_t i, Py_ssize_t n) noexcept nogil
    void ff_barrier() noexcept nogil
    long long ff_monotonic_ns() noexcept nogil


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


cdef int convert_segment(DeltaBatch* b, const Segment* seg, int price_decimals,
                         int size_decimals, int64_t price_tick,
                         int64_t size_step) noexcept nogil:
    cdef Delta* d = b.levels + seg.start
    cdef Delta* end = d + seg.count
    cdef int rc
    while d < end:
        rc = parse_decimal(d.price_ptr, d.price_len, price_decimals, &d.price)
        if rc != DECIMAL_OK:
            return _convert_fail(b, rc, "price")
        if price_tick > 1 and d.price % price_tick != 0:
            return _convert_fail(b, DECIMAL_OFF_TICK, "price")
        rc = parse_decimal(d.size_ptr, d.size_len, size_decimals, &d.size)
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
