# Included by _parse.pyx. JSON cursor: the non-inline parts (the inline ones and the
# Cursor struct are in _parse.pxd).

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


cdef inline int _hexval(char ch) noexcept nogil:
    if b'0' <= ch <= b'9':
        return ch - 48
    if b'a' <= ch <= b'f':
        return ch - 87
    return ch - 55


cdef Py_ssize_t unescape_ascii(const char* s, Py_ssize_t n, char* out,
                               Py_ssize_t cap) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t m = 0
    cdef int v
    cdef char ch
    while i < n:
        if m >= cap:
            return -1
        ch = s[i]
        if <unsigned char>ch >= 0x80:
            return -1
        if ch != b'\\':
            out[m] = ch
            i += 1
        else:
            ch = s[i + 1]          # cur_string validated every escape
            if ch == b'u':
                v = ((_hexval(s[i + 2]) << 12) | (_hexval(s[i + 3]) << 8)
                     | (_hexval(s[i + 4]) << 4) | _hexval(s[i + 5]))
                if v >= 0x80:
                    return -1
                out[m] = <char>v
                i += 6
            else:
                if ch == b'b':
                    ch = b'\b'
                elif ch == b'f':
                    ch = b'\f'
                elif ch == b'n':
                    ch = b'\n'
                elif ch == b'r':
                    ch = b'\r'
                elif ch == b't':
                    ch = b'\t'
                out[m] = ch            # '"', '\\' and '/' stand for themselves
                i += 2
        m += 1
    return m


cdef bint utf8_ok(const char* s, Py_ssize_t n) noexcept nogil:
    cdef const unsigned char* p = <const unsigned char*>s
    cdef Py_ssize_t i = 0
    cdef unsigned int c0, c1
    cdef int need
    while i < n:
        c0 = p[i]
        if c0 < 0x80:
            i += 1
            continue
        if 0xC2 <= c0 <= 0xDF:
            need = 1
        elif 0xE0 <= c0 <= 0xEF:
            need = 2
        elif 0xF0 <= c0 <= 0xF4:
            need = 3
        else:
            return False
        if i + need >= n:
            return False
        c1 = p[i + 1]
        if (c1 & 0xC0) != 0x80:
            return False
        if (c0 == 0xE0 and c1 < 0xA0) or (c0 == 0xED and c1 > 0x9F):
            return False            # overlong / UTF-16 surrogate
        if (c0 == 0xF0 and c1 < 0x90) or (c0 == 0xF4 and c1 > 0x8F):
            return False            # overlong / above U+10FFFF
        if need >= 2 and (p[i + 2] & 0xC0) != 0x80:
            return False
        if need == 3 and (p[i + 3] & 0xC0) != 0x80:
            return False
        i += need + 1
    return True
