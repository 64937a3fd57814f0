/* SWAR scanners for the JSON decoders and exact decimals, and the tables they use
 * (declared for Cython in fastfeed/_cdefs.pxd).
 *
 * SWAR: 8 ASCII bytes tested or converted at once in a uint64 (little-endian loads; on a
 * big-endian machine FF_SWAR is 0 and every helper takes its byte-at-a-time loop, same
 * results). A helper reads only the bytes its comment allows (callers say how many are
 * readable). */
#ifndef FF_SWAR_H
#define FF_SWAR_H

#include <Python.h>     /* Py_ssize_t */
#include <stdint.h>
#include <string.h>

#include "ff_bits.h"

/* 10**k for k in 0..19 (10**19 < 2**64). */
static const uint64_t FF_POW10[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
    10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
    10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL,
    10000000000000000000ULL
};
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
/* First index >= i of a quote, a backslash or a control character (< 0x20), or n. */
static inline Py_ssize_t ff_scan_string(const char* p, Py_ssize_t i, Py_ssize_t n) {
#if FF_SWAR
    while (n - i >= 8) {
        uint64_t v = ff_load8(p + i);
        uint64_t q = v ^ 0x2222222222222222ULL;
        uint64_t b = v ^ 0x5C5C5C5C5C5C5C5CULL;
        /* classic has-zero-byte tests; the lowest flagged byte is always exact */
        uint64_t t = (((q - 0x0101010101010101ULL) & ~q)
                      | ((b - 0x0101010101010101ULL) & ~b)
                      | ((v - 0x2020202020202020ULL) & ~v)) & 0x8080808080808080ULL;
        if (t) return i + (ff_ctz64(t) >> 3);
        i += 8;
    }
#endif
    while (i < n) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == 0x22 || ch == 0x5C || ch < 0x20) return i;
        i++;
    }
    return n;
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
/* INT64_MAX / 10**e: a mantissa m scales by 10**e without overflow iff m <= this. */
static const uint64_t FF_I64_LIM[19] = {
    9223372036854775807ULL, 922337203685477580ULL, 92233720368547758ULL,
    9223372036854775ULL, 922337203685477ULL, 92233720368547ULL, 9223372036854ULL,
    922337203685ULL, 92233720368ULL, 9223372036ULL, 922337203ULL, 92233720ULL,
    9223372ULL, 922337ULL, 92233ULL, 9223ULL, 922ULL, 92ULL, 9ULL
};
/* The pre-parse (below) of j integer digits, the low j bytes of w (1..8), and k fraction
   digits, the low k bytes of w2 (k = 0: none; else 1..8); the other bytes are ignored.
   Always inlined (it was ff_pre_decimal's body; the SIMD level loop calls it too). */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline uint64_t ff_pre_value(uint64_t w, int j, uint64_t w2, int k) {
    uint64_t nz, iv;
    int f;
    if (k == 0) return ff_value8(w << (64 - 8 * j)) << 5;
    nz = (w2 ^ 0x3030303030303030ULL) & (k == 8 ? ~0ULL : ((1ULL << (8 * k)) - 1));
    if (!nz) return ff_value8(w << (64 - 8 * j)) << 5;
    f = ((63 - ff_clz64(nz)) >> 3) + 1;
    if (j + f <= 8) {
        /* one conversion: integer digits then the f fraction digits, in one word
           (leading NUL bytes count as 0 digits) */
        return (ff_value8(((w << (64 - 8 * j)) >> (8 * f)) | (w2 << (64 - 8 * f))) << 5)
               | (uint64_t)f;
    }
    iv = ff_value8(w << (64 - 8 * j));
    return ((iv * FF_POW10[f] + ff_value8(w2 << (64 - 8 * f))) << 5) | (uint64_t)f;
}
/* Phase-1 pre-parse of the usual level string (s just past the opening quote, at least
   24 readable bytes): 1..8 integer digits, optionally '.' and 1..8 fraction digits, then
   the closing '"'. On success returns the string length and sets
   *pre = (mantissa << 5) | f, where f is the number of fraction digits up to the last
   non-zero one and mantissa = int * 10**f + those digits (< 10**16): the value is
   mantissa * 10**-f exactly, whatever the scale. Anything else returns -1 (the caller
   scans the string the general way and phase 2 parses it with parse_decimal). */
static inline Py_ssize_t ff_pre_decimal(const char* s, uint64_t* pre) {
#if FF_SWAR
    uint64_t w = ff_load8(s), m = ff_nondigit8(w), w2, m2;
    int j = m ? (ff_ctz64(m) >> 3) : 8, k;
    if (j == 0) return -1;
    if (s[j] == '"') { *pre = ff_pre_value(w, j, 0, 0); return j; }
    if (s[j] != '.') return -1;
    w2 = ff_load8(s + j + 1);
    m2 = ff_nondigit8(w2);
    k = m2 ? (ff_ctz64(m2) >> 3) : 8;
    if (k == 0 || s[j + 1 + k] != '"') return -1;
    *pre = ff_pre_value(w, j, w2, k);
    return j + 1 + k;
#else
    (void)s; (void)pre;
    return -1;
#endif
}
/* A JSON integer of 1..18 digits, no sign, no leading zero (or "0"), at p[i..n);
   returns the index after it or -1 (the general decoder then decides). */
static inline Py_ssize_t ff_fast_uint(const char* p, Py_ssize_t i, Py_ssize_t n,
                                      int64_t* out) {
    uint64_t acc = 0;
    Py_ssize_t nd = ff_take_digits(p + i, n - i, 19, &acc);
    if (nd == 0 || nd > 18 || (p[i] == '0' && nd > 1)) return -1;
    *out = (int64_t)acc;
    return i + nd;
}

/* Do a[0..len) and b[0..len) hold the same bytes? len >= 8; reads exactly those bytes, 8
   at a time (the last load overlaps). Cheaper than a scan when a known-clean span is
   expected to repeat (Coinbase's per-update event_time, docs/venues.md). */
static inline int ff_same_bytes(const char* a, const char* b, Py_ssize_t len) {
    uint64_t x = ff_load8(a + len - 8) ^ ff_load8(b + len - 8);
    Py_ssize_t k = 0;
    if (len > 24) {     /* RFC 3339 times with a fraction (25..35 bytes): no loop for <= 32 */
        x |= (ff_load8(a) ^ ff_load8(b)) | (ff_load8(a + 8) ^ ff_load8(b + 8))
             | (ff_load8(a + 16) ^ ff_load8(b + 16));
        k = 24;
    }
    for (; k + 8 < len; k += 8) x |= ff_load8(a + k) ^ ff_load8(b + k);
    return x == 0;
}

#endif /* FF_SWAR_H */
