/* CRC32 (IEEE 802.3, zlib's crc32) and the Kraken v2 book checksum over int64 levels
   (docs/venues.md, "Kraken"). Header-only; the table is built once on first use. */
#ifndef FF_CRC32_H
#define FF_CRC32_H

#include <stdint.h>
#include <stddef.h>

static uint32_t ff_crc32_table[256];
static int ff_crc32_ready = 0;

static inline void ff_crc32_init(void) {
    uint32_t c;
    int n, k;
    for (n = 0; n < 256; n++) {
        c = (uint32_t)n;
        for (k = 0; k < 8; k++) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        ff_crc32_table[n] = c;
    }
    ff_crc32_ready = 1;
}

/* crc32(prefix + buf) from crc = crc32(prefix) (0 for the empty prefix), as zlib. */
static inline uint32_t ff_crc32_update(uint32_t crc, const char* buf, size_t len) {
    size_t i;
    if (!ff_crc32_ready) ff_crc32_init();
    crc = ~crc;
    for (i = 0; i < len; i++)
        crc = ff_crc32_table[(crc ^ (unsigned char)buf[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

/* The decimal digits of v at the checksum's precision, no leading zeros (v converted
   from the book's scale: divided by div, or multiplied by mul; one of them is 1). */
static inline size_t ff_ck_digits(int64_t v, int64_t div, int64_t mul, char* out) {
    char tmp[24];
    size_t n = 0, i;
    uint64_t u = (uint64_t)(v < 0 ? 0 : v);
    u = (u / (uint64_t)div) * (uint64_t)mul;
    while (u) { tmp[n++] = (char)('0' + (int)(u % 10u)); u /= 10u; }
    for (i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
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
