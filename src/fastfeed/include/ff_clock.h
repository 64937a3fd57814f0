/* Clocks and a compiler barrier (declared for Cython in fastfeed/_cdefs.pxd).
 *
 * ff_monotonic_ns: the clock the hot path stamps frames with (CLOCK_MONOTONIC; the
 * performance counter on Windows). ff_wall_ns: ns since the Unix epoch (CLOCK_REALTIME).
 * ff_barrier: the compiler may not move memory accesses across it (no CPU fence), so a
 * benchmark loop cannot hoist work that "might" see changed memory. ff_wall_offset_ns:
 * wall - monotonic, cached for a second (below). */
#ifndef FF_CLOCK_H
#define FF_CLOCK_H

#include <stdint.h>

#if defined(_MSC_VER)
#include <intrin.h>
#define ff_barrier() _ReadWriteBarrier()
#else
#define ff_barrier() __asm__ __volatile__("" ::: "memory")
#endif

#if defined(_WIN32)
#include <windows.h>
static __inline int64_t ff_monotonic_ns(void) {
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (int64_t)((double)c.QuadPart * 1e9 / (double)f.QuadPart);
}
static __inline int64_t ff_wall_ns(void) {
    /* FILETIME: 100 ns ticks since 1601-01-01; 11644473600 s to the Unix epoch */
    FILETIME ft;
    ULARGE_INTEGER t;
    GetSystemTimePreciseAsFileTime(&ft);
    t.LowPart = ft.dwLowDateTime;
    t.HighPart = ft.dwHighDateTime;
    return ((int64_t)t.QuadPart - 116444736000000000LL) * 100;
}
#else
#include <time.h>
static inline int64_t ff_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static inline int64_t ff_wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
#endif

/* wall - monotonic, refreshed at most once a second: a monotonic receive stamp plus this
 * is the receive time since the epoch, with one clock read per second instead of one per
 * message (NTP slews the wall clock slowly; a second-old offset is good to well under a
 * microsecond). The cache is per extension module (a static in a static inline). */
static inline int64_t ff_wall_offset_ns(int64_t mono_now) {
    static int64_t offset = 0;
    static int64_t taken = INT64_MIN / 2;
    if (mono_now - taken > 1000000000LL) {
        offset = ff_wall_ns() - ff_monotonic_ns();
        taken = mono_now;
    }
    return offset;
}

#endif /* FF_CLOCK_H */
