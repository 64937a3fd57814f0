/* CRC32 (IEEE 802.3, zlib's crc32) and the Kraken v2 book checksum over int64 levels
   (docs/venues.md, "Kraken"). Header-only; the table is built once on first use. */
#ifndef FF_CRC32_H
#define FF_CRC32_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

/* Slicing-by-8: table[k][b] is the CRC of byte b followed by k zero bytes, so eight
   input bytes take eight lookups and no serial dependency between them (~4x the
   byte-at-a-time loop); built once on first use. */
static uint32_t ff_crc32_table[8][256];
static int ff_crc32_ready = 0;

static inline void ff_crc32_init(void) {
    uint32_t c;
    int n, k;
    for (n = 0; n < 256; n++) {
        c = (uint32_t)n;
        for (k = 0; k < 8; k++) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        ff_crc32_table[0][n] = c;
    }
    for (n = 0; n < 256; n++) {
        c = ff_crc32_table[0][n];
        for (k = 1; k < 8; k++) {
            c = ff_crc32_table[0][c & 0xFFu] ^ (c >> 8);
            ff_crc32_table[k][n] = c;
        }
    }
    ff_crc32_ready = 1;
}

static inline uint32_t ff_crc32_update(uint32_t crc, const char* buf, size_t len) {
    const unsigned char* p = (const unsigned char*)buf;
    uint32_t lo, hi;
    if (!ff_crc32_ready) ff_crc32_init();
    crc = ~crc;
    while (len >= 8) {
        lo = ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
              (uint32_t)p[3] << 24) ^ crc;
        hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
             (uint32_t)p[7] << 24;
        crc = ff_crc32_table[7][lo & 0xFFu] ^ ff_crc32_table[6][(lo >> 8) & 0xFFu] ^
              ff_crc32_table[5][(lo >> 16) & 0xFFu] ^ ff_crc32_table[4][lo >> 24] ^
              ff_crc32_table[3][hi & 0xFFu] ^ ff_crc32_table[2][(hi >> 8) & 0xFFu] ^
              ff_crc32_table[1][(hi >> 16) & 0xFFu] ^ ff_crc32_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = ff_crc32_table[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

/* The decimal digits of v (>= 0; a negative value writes nothing) rescaled to a precision
   from the book's scale: divided by div, or multiplied by mul; one of them is 1). */
static const char ff_ck_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static const uint64_t ff_ck_pow10[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};

static inline size_t ff_ck_digits(int64_t v, int64_t div, int64_t mul, char* out) {
    size_t n = 1, i;
    uint64_t u = (uint64_t)(v < 0 ? 0 : v), q;
    if (div != 1) u /= (uint64_t)div;       /* a 64-bit divide costs tens of cycles */
    if (mul != 1) u *= (uint64_t)mul;
    if (u == 0)
        return 0;                           /* Kraken strips leading zeros: "0" is "" */
    while (n < 20 && u >= ff_ck_pow10[n]) n++;
    i = n;
    while (u >= 100) {                      /* two digits a step, from the right */
        q = u / 100u;
        memcpy(out + i - 2, ff_ck_pairs + (size_t)(u - q * 100u) * 2, 2);
        i -= 2;
        u = q;
    }
    if (u >= 10)
        memcpy(out + i - 2, ff_ck_pairs + (size_t)u * 2, 2);
    else
        out[i - 1] = (char)('0' + (int)u);
    return n;
}

/* Kraken's book checksum: the top `levels` asks (best first) then bids (best first),
   price then qty of each, as digits at the fixed precisions; CRC32 of the concatenation.
   Sides are stored best LAST (docs/architecture.md, "_book.pyx"). */
static inline uint32_t ff_kraken_checksum(
        const int64_t* ask_px, const int64_t* ask_sz, ptrdiff_t n_asks,
        const int64_t* bid_px, const int64_t* bid_sz, ptrdiff_t n_bids, int levels,
        int64_t pdiv, int64_t pmul, int64_t sdiv, int64_t smul) {
    char buf[48 * 2 * 2 * 10 + 64];
    size_t len = 0;
    ptrdiff_t i, k;
    uint32_t crc = 0;
    for (k = 0, i = n_asks - 1; i >= 0 && k < levels; i--, k++) {
        len += ff_ck_digits(ask_px[i], pdiv, pmul, buf + len);
        len += ff_ck_digits(ask_sz[i], sdiv, smul, buf + len);
        if (len > sizeof(buf) - 48) { crc = ff_crc32_update(crc, buf, len); len = 0; }
    }
    for (k = 0, i = n_bids - 1; i >= 0 && k < levels; i--, k++) {
        len += ff_ck_digits(bid_px[i], pdiv, pmul, buf + len);
        len += ff_ck_digits(bid_sz[i], sdiv, smul, buf + len);
        if (len > sizeof(buf) - 48) { crc = ff_crc32_update(crc, buf, len); len = 0; }
    }
    return ff_crc32_update(crc, buf, len);
}

#endif
