/* 128-bit signed integers for sums that can exceed int64: quote volumes, which are
 * products of a price and a size (docs/venues.md, "Candles"). Declared for Cython in
 * fastfeed/_cdefs.pxd. GCC and Clang only (__int128, __builtin_*_overflow). */
#ifndef FF_I128_H
#define FF_I128_H

#include <stdint.h>

typedef __int128 ff_i128;

/* a + b and a * b into *out; 1 on overflow (*out then undefined), else 0. */
static inline int ff_i128_add(ff_i128 a, ff_i128 b, ff_i128* out) {
    return __builtin_add_overflow(a, b, out);
}
static inline int ff_i128_mul(ff_i128 a, ff_i128 b, ff_i128* out) {
    return __builtin_mul_overflow(a, b, out);
}
/* v = hi * 2**64 + lo, the layout of the candle records' quote volume. */
static inline int64_t ff_i128_hi(ff_i128 v) { return (int64_t)(v >> 64); }
static inline uint64_t ff_i128_lo(ff_i128 v) { return (uint64_t)v; }
static inline ff_i128 ff_i128_make(int64_t hi, uint64_t lo) {
    return (ff_i128)(((unsigned __int128)(uint64_t)hi << 64) | lo);
}
static inline ff_i128 ff_i128_from64(int64_t v) { return (ff_i128)v; }

#endif /* FF_I128_H */
