# Included by _parse.pyx. RFC 3339 timestamps -> int64 ns since the epoch.

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
