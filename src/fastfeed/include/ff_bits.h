/* Bit scans shared by the compiled modules (declared for Cython in fastfeed/_cdefs.pxd).
 * Both are undefined for v == 0: callers guarantee a set bit. */
#ifndef FF_BITS_H
#define FF_BITS_H

#include <stdint.h>

#if defined(_MSC_VER)
#include <intrin.h>
static __inline int ff_ctz64(uint64_t v) {
    unsigned long i; _BitScanForward64(&i, v); return (int)i;
}
static __inline int ff_clz64(uint64_t v) {
    unsigned long i; _BitScanReverse64(&i, v); return 63 - (int)i;
}
#else
#define ff_ctz64(v) __builtin_ctzll(v)
#define ff_clz64(v) __builtin_clzll(v)
#endif

#endif /* FF_BITS_H */
