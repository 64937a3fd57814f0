/* The level-array fast path of include/ff_simd.h on its own, for benches/cross_aarch64.py
 * (docs/architecture.md, "Decoder fast paths", portability): built for the host as a shared
 * library (called with ctypes at the x86-64 levels) and for aarch64 as a freestanding static
 * executable (no libc; run in the unicorn emulator at the NEON level). The same source and
 * flags both ways, so the two outputs must be byte-equal.
 *
 * FF_HARNESS_PLANT=1 plants a bug in the NEON non-digit test (a compare > becomes >=, so
 * '9' counts as a non-digit): the driver checks its comparison catches it. */
#if defined(__aarch64__) && FF_HARNESS_PLANT
#include <arm_neon.h>
#define vcgtq_u8 vcgeq_u8
#endif

#include "ff_simd.h"

#if defined(__aarch64__) && !FF_SIMD_ARM
#error "FF_SIMD_ARM is not set on aarch64: the NEON level would not be built"
#endif

/* One payload: buf[off .. off + len) (and 8 more readable bytes), its bitmaps at
   bits[bits .. bits + 2 * (len / 64 + 1)) (quote words, then non-digit words). */
typedef struct {
    int64_t off, len, bits;
} ff_hjob;

/* A level ff_tight_level matched at buf[pos]. */
typedef struct {
    int64_t pos;
    int32_t r, p_off, p_len, s_off, s_len, pad;
    int64_t p_pre, s_pre;
} ff_hlevel;

/* No libc in the aarch64 build: the compiler may still call these. */
#if FF_HARNESS_FREESTANDING
void* memcpy(void* d, const void* s, size_t n) {
    unsigned char* a = d;
    const unsigned char* b = s;
    while (n--) *a++ = *b++;
    return d;
}
void* memset(void* d, int c, size_t n) {
    unsigned char* a = d;
    while (n--) *a++ = (unsigned char)c;
    return d;
}
#endif

/* Can this build run `level` (FF_SIMD_*)? */
int ff_harness_available(int level) { return ff_simd_available(level); }

/* At SIMD `level`: classify each job's whole 64-byte blocks as levels.pxi does (a zero
   word after the last, for ff_bits_at), then try ff_tight_level at every offset whose
   64 bits lie inside them. r[off + i] = its result at buf[off + i]; each match also goes
   to lv[]. Returns how many matched. */
int64_t ff_harness_run(int level, const char* buf, const ff_hjob* jobs, int64_t njobs,
                       uint64_t* bits, int8_t* r, ff_hlevel* lv) {
    int64_t j, i, nlv = 0;
    ff_simd_set(level);
    for (j = 0; j < njobs; j++) {
        const char* p = buf + jobs[j].off;
        int64_t nblk = jobs[j].len >> 6;
        uint64_t* q = bits + jobs[j].bits;
        uint64_t* nd = q + nblk + 1;
        if (nblk == 0) continue;
        ff_simd_classify(p, nblk, q, nd);
        q[nblk] = 0;
        nd[nblk] = 0;
        for (i = 0; i + 64 <= 64 * nblk; i++) {
            ff_tight_lv o;
            int k = ff_tight_level(p + i, ff_bits_at(q, i), ff_bits_at(nd, i), &o);
            r[jobs[j].off + i] = (int8_t)k;
            if (k) {
                ff_hlevel* h = &lv[nlv++];
                h->pos = jobs[j].off + i;
                h->r = k;
                h->p_off = o.p_off;
                h->p_len = o.p_len;
                h->s_off = o.s_off;
                h->s_len = o.s_len;
                h->pad = 0;
                h->p_pre = o.p_pre;
                h->s_pre = o.s_pre;
            }
        }
    }
    return nlv;
}
