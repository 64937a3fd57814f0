/* SIMD classification for the level-array fast path, chosen at run time (declared for
 * Cython in fastfeed/_cdefs.pxd; the rules are in docs/architecture.md, "Decoder fast
 * paths").
 *
 * Levels: FF_SIMD_SCALAR (the SWAR loop of parse/levels.pxi, every machine), FF_SIMD_SSE2
 * (x86-64 baseline), FF_SIMD_AVX2 (x86-64 when the CPU and OS have it: gcc/clang
 * target("avx2") functions, never -march), FF_SIMD_NEON (little-endian aarch64, always
 * present there). ff_simd_detect() is the best level this machine runs; the module picks
 * one once at import (FASTFEED_SIMD may force a lower one) and stores it with
 * ff_simd_set().
 *
 * ff_simd_classify reads exactly 64 * nblocks bytes: callers classify only whole
 * blocks that lie inside the payload and handle a shorter tail from a zero-padded copy.
 * The SIMD levels need little-endian words (the SWAR conversions): FF_SWAR gates them. */
#ifndef FF_SIMD_H
#define FF_SIMD_H

#include <Python.h>     /* Py_ssize_t */
#include <stdint.h>
#include <string.h>

#include "ff_bits.h"
#include "ff_swar.h"

enum { FF_SIMD_SCALAR = 0, FF_SIMD_SSE2 = 1, FF_SIMD_AVX2 = 2, FF_SIMD_NEON = 3 };

#if FF_SWAR && (defined(__x86_64__) || defined(_M_X64))
#define FF_SIMD_X86 1
#include <emmintrin.h>
#if defined(__GNUC__)
#include <immintrin.h>
#define FF_SIMD_HAVE_AVX2 1
#endif
#elif FF_SWAR && (defined(__aarch64__) || defined(_M_ARM64)) && !defined(__ARM_BIG_ENDIAN)
#define FF_SIMD_ARM 1
#include <arm_neon.h>
#endif

/* Always inlined into the level loop: called out of line, the level's fields come back
   through the stack as narrow stores read wide (a store-forwarding stall per level). */
#if defined(__GNUC__)
#define FF_SIMD_INLINE static inline __attribute__((always_inline))
#else
#define FF_SIMD_INLINE static inline
#endif

/* The level in use (one per extension module that includes this header: only _parse). */
static int ff_simd_level_now = FF_SIMD_SCALAR;

#if FF_SIMD_X86
/* 16 bytes: quote and non-digit bits. Non-digit: (b - '0') unsigned > 9, as a signed
   compare after flipping the top bit (SSE2 has no unsigned byte compare). */
static inline void ff_cls16_sse2(const char* p, uint64_t* q, uint64_t* nd, int sh) {
    __m128i v = _mm_loadu_si128((const __m128i*)(const void*)p);
    __m128i t = _mm_xor_si128(_mm_sub_epi8(v, _mm_set1_epi8('0')),
                              _mm_set1_epi8((char)0x80));
    *q |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"'))) << sh;
    *nd |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpgt_epi8(t, _mm_set1_epi8((char)0x89)))
           << sh;
}
static void ff_classify_sse2(const char* p, Py_ssize_t nblocks, uint64_t* quote,
                             uint64_t* nondigit) {
    Py_ssize_t k;
    for (k = 0; k < nblocks; k++, p += 64) {
        uint64_t q = 0, nd = 0;
        ff_cls16_sse2(p, &q, &nd, 0);
        ff_cls16_sse2(p + 16, &q, &nd, 16);
        ff_cls16_sse2(p + 32, &q, &nd, 32);
        ff_cls16_sse2(p + 48, &q, &nd, 48);
        quote[k] = q;
        nondigit[k] = nd;
    }
}
#endif


#if FF_SIMD_ARM
/* 4 x 16 lanes of 0x00/0xFF to a 64-bit mask (bit i = byte i): weight each lane by its bit
   and add neighbours pairwise three times. */
static inline uint64_t ff_neon_mask64(uint8x16_t a, uint8x16_t b, uint8x16_t c,
                                      uint8x16_t d) {
    static const uint8_t w[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bits = vld1q_u8(w);
    uint8x16_t s0 = vpaddq_u8(vandq_u8(a, bits), vandq_u8(b, bits));
    uint8x16_t s1 = vpaddq_u8(vandq_u8(c, bits), vandq_u8(d, bits));
    s0 = vpaddq_u8(s0, s1);
    s0 = vpaddq_u8(s0, s0);
    return vgetq_lane_u64(vreinterpretq_u64_u8(s0), 0);
}
static void ff_classify_neon(const char* p, Py_ssize_t nblocks, uint64_t* quote,
                             uint64_t* nondigit) {
    const uint8x16_t dq = vdupq_n_u8('"'), d0 = vdupq_n_u8('0'), d9 = vdupq_n_u8(9);
    Py_ssize_t k;
    for (k = 0; k < nblocks; k++, p += 64) {
        const uint8_t* u = (const uint8_t*)p;
        uint8x16_t v0 = vld1q_u8(u), v1 = vld1q_u8(u + 16);
        uint8x16_t v2 = vld1q_u8(u + 32), v3 = vld1q_u8(u + 48);
        quote[k] = ff_neon_mask64(vceqq_u8(v0, dq), vceqq_u8(v1, dq), vceqq_u8(v2, dq),
                                  vceqq_u8(v3, dq));
        nondigit[k] = ff_neon_mask64(
            vcgtq_u8(vsubq_u8(v0, d0), d9), vcgtq_u8(vsubq_u8(v1, d0), d9),
            vcgtq_u8(vsubq_u8(v2, d0), d9), vcgtq_u8(vsubq_u8(v3, d0), d9));
    }
}
#endif

/* The best level this machine runs. */
static inline int ff_simd_detect(void) {
#if FF_SIMD_HAVE_AVX2
    __builtin_cpu_init();
    /* avx2 checks the OS saves the YMM state (XCR0) too */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi")
            && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("lzcnt"))
        return FF_SIMD_AVX2;
#endif
#if FF_SIMD_X86
    return FF_SIMD_SSE2;
#elif FF_SIMD_ARM
    return FF_SIMD_NEON;
#else
    return FF_SIMD_SCALAR;
#endif
}

/* Can this machine run `level`? (SSE2 is implied by AVX2; NEON only on aarch64.) */
static inline int ff_simd_available(int level) {
    int best = ff_simd_detect();
    if (level == FF_SIMD_SCALAR || level == best) return 1;
    return level == FF_SIMD_SSE2 && best == FF_SIMD_AVX2;
}

/* Use `level` from now on (the caller checked ff_simd_available); returns the old one. */
static inline int ff_simd_set(int level) {
    int old = ff_simd_level_now;
    ff_simd_level_now = level;
    return old;
}

static inline int ff_simd_level(void) { return ff_simd_level_now; }

/* Bit b of quote[k] / nondigit[k]: is p[64k + b] a '"' / not '0'..'9'. Reads p[0 ..
   64 * nblocks); only valid at the SSE2 and NEON levels (scalar and AVX2 never call it:
   AVX2 has its own per-level path, ff_level_avx2). */
static inline void ff_simd_classify(const char* p, Py_ssize_t nblocks, uint64_t* quote,
                                    uint64_t* nondigit) {
    switch (ff_simd_level_now) {
#if FF_SIMD_X86
    case FF_SIMD_SSE2: ff_classify_sse2(p, nblocks, quote, nondigit); return;
#endif
#if FF_SIMD_ARM
    case FF_SIMD_NEON: ff_classify_neon(p, nblocks, quote, nondigit); return;
#endif
    default:    /* not called here; defined anyway (zero bitmaps) */
        memset(quote, 0, (size_t)nblocks * sizeof(uint64_t));
        memset(nondigit, 0, (size_t)nblocks * sizeof(uint64_t));
        (void)p;
        return;
    }
}

/* 64 bits of a classified bitmap from bit offset o (a[o / 64 + 1] must exist). */
FF_SIMD_INLINE uint64_t ff_bits_at(const uint64_t* a, Py_ssize_t o) {
    Py_ssize_t w = o >> 6;
    unsigned sh = (unsigned)(o & 63);
    return (a[w] >> sh) | ((a[w + 1] << 1) << (63 - sh));
}

/* One level of a tight array, found from the masks of lp[0..64), lp[0] == '[':
   offsets and lengths of the price and size strings and their pre-parses. */
typedef struct {
    int32_t p_off, p_len, s_off, s_len;
    int64_t p_pre, s_pre;
} ff_tight_lv;

/* lp[s..e) (e <= 63, the closing quote at e) as ff_pre_decimal's plain decimal: 1..8
   digits, optionally '.' and 1..8 digits. 1 with *pre = ~pre-parse, else 0. */
FF_SIMD_INLINE int ff_tight_decimal(const char* lp, uint64_t nm, int s, int e, int64_t* pre) {
    uint64_t im = nm & ((1ULL << e) - 1) & ~((1ULL << s) - 1);
    uint64_t w2 = 0;
    int j, k = 0, dot;
    if (!im) {
        j = e - s;
        if ((unsigned)(j - 1) > 7u) return 0;
    } else {
        dot = ff_ctz64(im);
        if ((im & (im - 1)) || lp[dot] != '.') return 0;
        j = dot - s;
        k = e - dot - 1;
        if ((unsigned)(j - 1) > 7u || (unsigned)(k - 1) > 7u) return 0;
        w2 = ff_load8(lp + dot + 1);
    }
    *pre = ~(int64_t)ff_pre_value(ff_load8(lp + s), j, w2, k);
    return 1;
}

/* The usual level `["<decimal>","<decimal>"]` at lp[0], within lp[0..64) (qm, nm: quote
   and non-digit bits from lp; lp[0..72) readable). Returns the index just past its ']'
   (lp[that] is the ',' or ']' after it, for the caller) or 0: any other shape (the
   caller's scalar loop takes that level, so results stay exactly the scalar path's). */
FF_SIMD_INLINE int ff_tight_level(const char* lp, uint64_t qm, uint64_t nm, ff_tight_lv* o) {
    uint64_t r = qm & ~3ULL;
    int q1, q2, q3;
    if ((qm & 3) != 2 || lp[0] != '[' || !r) return 0;
    q1 = ff_ctz64(r);
    r &= r - 1;
    if (!r) return 0;
    q2 = ff_ctz64(r);
    r &= r - 1;
    if (!r) return 0;
    q3 = ff_ctz64(r);
    if (q2 != q1 + 2 || lp[q1 + 1] != ',' || q3 > 61 || lp[q3 + 1] != ']') return 0;
    if (!ff_tight_decimal(lp, nm, 2, q1, &o->p_pre)
            || !ff_tight_decimal(lp, nm, q2 + 1, q3, &o->s_pre))
        return 0;
    o->p_off = 2;
    o->p_len = q1 - 2;
    o->s_off = q2 + 1;
    o->s_len = q3 - q2 - 1;
    return q3 + 2;
}

/* One level as ff_level_avx2 finds it: the price and size spans (into the bytes it read)
   and their pre-parses, negated (ff_pre_value's, see parse/levels.pxi _dec_string). */
typedef struct {
    const char* price;
    const char* size;
    int32_t p_len, s_len;
    int64_t p_pre, s_pre;
} ff_lv;

/* Bytes ff_level_avx2 may read from a level's start. */
#define FF_AVX2_READ 40

#if FF_SIMD_HAVE_AVX2
/* Gather controls for ff_level_avx2 (pshufb): row (j - 1) * 9 + f moves a string's j
   integer digits and its first f fraction digits (skipping the '.' at j) right-aligned
   into 16 lanes, one digit number of j + f <= 16 digits; 0x80 zeroes the lanes before. */
#define FF_GD(j, f, t) ((t) - (16 - (j) - (f)))
#define FF_G(j, f, t) \
    (FF_GD(j, f, t) < 0 ? 0x80 : FF_GD(j, f, t) < (j) ? FF_GD(j, f, t) : FF_GD(j, f, t) + 1)
#define FF_GROW(j, f) { \
    FF_G(j, f, 0), FF_G(j, f, 1), FF_G(j, f, 2), FF_G(j, f, 3), FF_G(j, f, 4), \
    FF_G(j, f, 5), FF_G(j, f, 6), FF_G(j, f, 7), FF_G(j, f, 8), FF_G(j, f, 9), \
    FF_G(j, f, 10), FF_G(j, f, 11), FF_G(j, f, 12), FF_G(j, f, 13), FF_G(j, f, 14), \
    FF_G(j, f, 15)}
#define FF_GJ(j) FF_GROW(j, 0), FF_GROW(j, 1), FF_GROW(j, 2), FF_GROW(j, 3), FF_GROW(j, 4), \
    FF_GROW(j, 5), FF_GROW(j, 6), FF_GROW(j, 7), FF_GROW(j, 8)
static const uint8_t FF_GATHER[72][16] __attribute__((aligned(16))) = {
    FF_GJ(1), FF_GJ(2), FF_GJ(3), FF_GJ(4), FF_GJ(5), FF_GJ(6), FF_GJ(7), FF_GJ(8)
};
#undef FF_GJ
#undef FF_GROW
#undef FF_G
#undef FF_GD

/* FF_ROWBASE[l * 16 + j]: for a string of l <= 15 bytes whose first non-digit (its '.',
   else its end) is at j: 1 + the first FF_GATHER row of j integer digits when it can be
   ff_pre_decimal's plain decimal (1 <= j <= 8, and no fraction (l == j) or 1..8 fraction
   digits), else 0. */
#define FF_RB(l, j) (((j) >= 1 && (j) <= 8 && ((l) == (j) || ((l) - (j) >= 2 && (l) - (j) <= 9))) \
                     ? ((j) - 1) * 9 + 1 : 0)
#define FF_RBL(l) FF_RB(l, 0), FF_RB(l, 1), FF_RB(l, 2), FF_RB(l, 3), FF_RB(l, 4), \
    FF_RB(l, 5), FF_RB(l, 6), FF_RB(l, 7), FF_RB(l, 8), FF_RB(l, 9), FF_RB(l, 10), \
    FF_RB(l, 11), FF_RB(l, 12), FF_RB(l, 13), FF_RB(l, 14), FF_RB(l, 15)
static const uint8_t FF_ROWBASE[256] = {
    FF_RBL(0), FF_RBL(1), FF_RBL(2), FF_RBL(3), FF_RBL(4), FF_RBL(5), FF_RBL(6), FF_RBL(7),
    FF_RBL(8), FF_RBL(9), FF_RBL(10), FF_RBL(11), FF_RBL(12), FF_RBL(13), FF_RBL(14),
    FF_RBL(15)
};
#undef FF_RBL
#undef FF_RB

/* The AVX2 level also uses BMI1/BMI2/LZCNT (every AVX2 CPU has them; ff_simd_detect
   checks each). */
#define FF_AVX2_TARGET __attribute__((target("avx2,bmi,bmi2,lzcnt")))
#define FF_AVX2_INLINE static inline __attribute__((always_inline)) FF_AVX2_TARGET
/* ff_level_avx2_at's byte constants, as memory operands (built in registers, they were
   rebuilt for every level) */
#define FF_K32(c) {c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, \
                   c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c}
static const uint8_t FF_AVX2_K[4][32] __attribute__((aligned(32))) = {
    FF_K32('"'), FF_K32('0'), FF_K32(9), FF_K32('.')
};
#undef FF_K32
#define FF_AVX2_KV(i) _mm256_load_si256((const __m256i*)(const void*)FF_AVX2_K[i])
#define FF_AVX2_KX(i) _mm_load_si128((const __m128i*)(const void*)FF_AVX2_K[i])

/* The usual level `["<decimal>","<decimal>"]` at lp[0] (lp[0..FF_AVX2_READ) readable; it
   reads at most lp[0..38)), each string ff_pre_decimal's plain decimal (1..8 digits,
   optionally '.' and 1..8 digits) of at most 15 bytes: each string's quote, digit, '0'
   and '.' bits from one 16-byte load, both conversions in one 256-bit chain (price in the
   low lane, size in the high one). Returns the index just past its ']' (lp[that] is the
   ',' or ']' after it, for the caller), or 0 for any other level (the caller's scalar
   loop takes it, so the batch is exactly the SWAR loop's). Little-endian (FF_SWAR). */
FF_AVX2_INLINE int ff_level_avx2_at(const char* lp, ff_lv* o) {
    __m128i a, b;
    __m256i v, t, g;
    uint32_t qa, qb, in, dm, zm, dots, jb, j1, j2, r1, r2, f1, f2;
    size_t l1, l2, s2;
    uint16_t w;
    memcpy(&w, lp, 2);
    if (w != 0x225B) return 0;                  /* '[' '"' */
    a = _mm_loadu_si128((const __m128i*)(const void*)(lp + 2));
    qa = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, FF_AVX2_KX(0)));
    if (!qa) return 0;
    l1 = _tzcnt_u32(qa);
    memcpy(&w, lp + 3 + l1, 2);
    if (w != 0x222C) return 0;                  /* ',' '"' */
    s2 = l1 + 5;
    b = _mm_loadu_si128((const __m128i*)(const void*)(lp + s2));
    qb = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, FF_AVX2_KX(0)));
    if (!qb) return 0;
    l2 = _tzcnt_u32(qb);
    if (lp[s2 + l2 + 1] != ']') return 0;
    /* bit i: price byte i (low 16 bits), size byte i (high 16); digit: (b - '0') <= 9 */
    v = _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1);
    t = _mm256_sub_epi8(v, FF_AVX2_KV(1));
    dm = (uint32_t)_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_min_epu8(t, FF_AVX2_KV(2)), t));
    zm = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(t, _mm256_setzero_si256()));
    dots = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, FF_AVX2_KV(3)));
    in = (_blsmsk_u32(qa) >> 1) | ((_blsmsk_u32(qb) >> 1) << 16);    /* the strings */
    dots &= in;
    if ((~dm & in) != dots) return 0;           /* only digits and dots */
    /* j: the first dot, else the end; a second dot leaves a third bit in its lane */
    jb = dots | _blsi_u32(qa) | (_blsi_u32(qb) << 16);
    if (_blsr_u32(_blsr_u32(jb & 0xFFFFu)) | _blsr_u32(_blsr_u32(jb >> 16))) return 0;
    j1 = _tzcnt_u32(jb);
    j2 = _tzcnt_u32(jb >> 16);
    r1 = FF_ROWBASE[l1 * 16 + j1];
    r2 = FF_ROWBASE[l2 * 16 + j2];
    if (!r1 || !r2) return 0;
    /* f: fraction digits up to the last non-zero one (the non-zero digits above j; bit j
       itself is the dot or the quote) */
    zm = dm & ~zm & in;
    f1 = 31u - _lzcnt_u32(_bzhi_u32(zm, 16) >> j1 | 1u);
    f2 = 31u - _lzcnt_u32(zm >> 16 >> j2 | 1u);
    /* right-align the j + f digits (FF_GATHER), then 16 digits per lane: pairs (x10 +
       x1), quads (x100 + x1), packed to 16 bits, 8-digit halves (x10000 + x1), and
       high * 10**8 + low as one 64-bit word per lane */
    g = _mm256_shuffle_epi8(t, _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_load_si128(
            (const __m128i*)(const void*)FF_GATHER[r1 - 1 + f1])),
        _mm_load_si128((const __m128i*)(const void*)FF_GATHER[r2 - 1 + f2]), 1));
    g = _mm256_maddubs_epi16(g, _mm256_set1_epi16(0x010A));
    g = _mm256_madd_epi16(g, _mm256_set1_epi32(0x00010064));
    g = _mm256_packus_epi32(g, g);
    g = _mm256_madd_epi16(g, _mm256_set1_epi32(0x00012710));
    g = _mm256_slli_epi64(_mm256_add_epi64(
        _mm256_mul_epu32(g, _mm256_set1_epi64x(100000000)), _mm256_srli_epi64(g, 32)), 5);
    o->p_pre = ~(_mm_cvtsi128_si64(_mm256_castsi256_si128(g)) | (int64_t)f1);
    o->s_pre = ~(_mm_cvtsi128_si64(_mm256_extracti128_si256(g, 1)) | (int64_t)f2);
    o->price = lp + 2;
    o->size = lp + s2;
    o->p_len = (int32_t)l1;
    o->s_len = (int32_t)l2;
    return (int)(s2 + l2 + 2);
}

/* One level at lp[0] (ff_level_avx2_at, out of line: the tail copy's levels). */
FF_AVX2_TARGET
static inline int ff_level_avx2(const char* lp, ff_lv* o) {
    return ff_level_avx2_at(lp, o);
}

/* Consecutive usual levels from p[i] (a '['), while FF_AVX2_READ bytes are left before
   n: at most `max` of them into out (spans into p). Returns how many; *stop is the index
   just past the last one's ']' (its ',' or ']'), i when none. */
FF_AVX2_TARGET
static inline Py_ssize_t ff_levels_avx2(const char* p, Py_ssize_t i, Py_ssize_t n,
                                        ff_lv* out, Py_ssize_t max, Py_ssize_t* stop) {
    Py_ssize_t k = 0;
    int r;
    *stop = i;
    while (k < max && n - i >= FF_AVX2_READ) {
        r = ff_level_avx2_at(p + i, out + k);
        if (!r) break;
        k++;
        i += r;
        *stop = i;
        if (p[i] != ',') break;
        i++;
    }
    return k;
}
#else
/* never called: FF_SIMD_AVX2 is not available here */
static inline int ff_level_avx2(const char* lp, ff_lv* o) {
    (void)lp; (void)o;
    return 0;
}
static inline Py_ssize_t ff_levels_avx2(const char* p, Py_ssize_t i, Py_ssize_t n,
                                        ff_lv* out, Py_ssize_t max, Py_ssize_t* stop) {
    (void)p; (void)n; (void)out; (void)max;
    *stop = i;
    return 0;
}
#endif

#endif /* FF_SIMD_H */
