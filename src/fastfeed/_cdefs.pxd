# cython: language_level=3
"""Cython declarations of the shared C helpers in ``src/fastfeed/include/*.h``.

Declarations only (no module behind this file): ``from fastfeed._cdefs cimport ...``
makes the generated C ``#include`` the header; setup.py puts ``src/fastfeed/include`` on
every extension's include path.
"""

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t


cdef extern from "ff_bits.h":
    # Trailing / leading zero bits of a 64-bit word; v must be non-zero.
    int ff_ctz64(uint64_t v) noexcept nogil
    int ff_clz64(uint64_t v) noexcept nogil


cdef extern from "ff_clock.h":
    # CLOCK_MONOTONIC in ns: what the hot path stamps frames with.
    int64_t ff_monotonic_ns() noexcept nogil
    # CLOCK_REALTIME in ns since the Unix epoch.
    int64_t ff_wall_ns() noexcept nogil
    # Compiler barrier: no memory access moves across it (benchmark loops).
    void ff_barrier() noexcept nogil
    # wall - monotonic (ns), re-read at most once a second; mono_now: a monotonic stamp.
    int64_t ff_wall_offset_ns(int64_t mono_now) noexcept nogil


cdef extern from "ff_swar.h":
    # 10**k, k in 0..19.
    const uint64_t FF_POW10[20]
    # INT64_MAX // 10**e, e in 0..18: m * 10**e fits int64 iff m <= FF_I64_LIM[e].
    const uint64_t FF_I64_LIM[19]
    # Leading digits of p[0..min(avail, maxd)) accumulated into *acc; how many were taken.
    Py_ssize_t ff_take_digits(const char* p, Py_ssize_t avail, Py_ssize_t maxd,
                              uint64_t* acc) noexcept nogil
    # First index >= i of p[i..n) that is not '0' (n if none).
    Py_ssize_t ff_skip_zeros(const char* p, Py_ssize_t i, Py_ssize_t n) noexcept nogil
    # First index >= i of a '"', a '\\' or a control character, or n.
    Py_ssize_t ff_scan_string(const char* p, Py_ssize_t i, Py_ssize_t n) noexcept nogil
    # Pre-parse of a short plain decimal string (24 readable bytes at s): its length and
    # *pre = (mantissa << 5) | fraction digits, or -1 (see the header).
    Py_ssize_t ff_pre_decimal(const char* s, uint64_t* pre) noexcept nogil
    # A JSON integer of 1..18 digits at p[i..n): index after it (value in *out) or -1.
    Py_ssize_t ff_fast_uint(const char* p, Py_ssize_t i, Py_ssize_t n,
                            int64_t* out) noexcept nogil
    # Same bytes in a[0..len) and b[0..len)? len >= 8 (8-byte loads, the last overlapping).
    int ff_same_bytes(const char* a, const char* b, Py_ssize_t len) noexcept nogil
    # 8 bytes at p as a little-endian uint64 (unaligned).
    uint64_t ff_load8(const char* p) noexcept nogil


cdef extern from "ff_simd.h":
    # Run-time SIMD dispatch for the level-array fast path (docs/architecture.md,
    # "Decoder fast paths"): level codes, detection, the level in use.
    enum:
        FF_SIMD_SCALAR
        FF_SIMD_SSE2
        FF_SIMD_AVX2
        FF_SIMD_NEON
    int ff_simd_detect() noexcept nogil
    int ff_simd_available(int level) noexcept nogil
    int ff_simd_set(int level) noexcept nogil
    int ff_simd_level() noexcept nogil
    # Quote / non-digit bitmaps of p[0 .. 64 * nblocks), one word per 64 bytes.
    void ff_simd_classify(const char* p, Py_ssize_t nblocks, uint64_t* quote,
                          uint64_t* nondigit) noexcept nogil
    # 64 bits of a bitmap from bit offset o (word o // 64 + 1 must exist).
    uint64_t ff_bits_at(const uint64_t* a, Py_ssize_t o) noexcept nogil
    ctypedef struct ff_tight_lv:
        int32_t p_off
        int32_t p_len
        int32_t s_off
        int32_t s_len
        int64_t p_pre
        int64_t s_pre
    # One usual `["price","size"]` level at lp[0] from its 64-byte masks (72 bytes
    # readable): the index past its ']', or 0 for any other shape.
    int ff_tight_level(const char* lp, uint64_t qm, uint64_t nm, ff_tight_lv* o) noexcept nogil
    # The AVX2 level: the same usual level and pre-parses from lp[0..FF_AVX2_READ) alone
    # (no bitmaps; strings of at most 15 bytes), both strings converted at once; one
    # level (the tail copy), or a run of them from p[i] in one call.
    enum:
        FF_AVX2_READ
    ctypedef struct ff_lv:
        const char* price
        const char* size
        int32_t p_len
        int32_t s_len
        int64_t p_pre
        int64_t s_pre
    int ff_level_avx2(const char* lp, ff_lv* o) noexcept nogil
    Py_ssize_t ff_levels_avx2(const char* p, Py_ssize_t i, Py_ssize_t n, ff_lv* out,
                              Py_ssize_t max, Py_ssize_t* stop) noexcept nogil


cdef extern from "ff_shm.h":
    # Shared-memory market segment (docs/shm.md): layout constants, seqlock writers and
    # readers of a slot's book and of its market block (best bid/offer, last trades).
    const unsigned long long FF_SHM_MAGIC
    const unsigned int FF_SHM_VERSION
    const unsigned int FF_SHM_HEADER_SIZE
    const unsigned int FF_SHM_DIR_ENTRY_SIZE
    const unsigned int FF_SHM_VENUE_LEN
    const unsigned int FF_SHM_SYMBOL_LEN
    const unsigned int FF_SHM_FLAG_CLOSED
    const unsigned int FF_SHM_TRADES
    ctypedef struct ff_shm_header:
        uint64_t magic
        uint32_t version
        uint32_t header_size
        uint32_t dir_entry_size
        uint32_t slot_size
        uint32_t capacity
        uint32_t depth
        uint64_t dir_offset
        uint64_t slots_offset
        uint64_t total_size
        uint64_t generation
        int64_t pid
        int64_t created_ns
        int64_t heartbeat_ns
        uint32_t n_books
        uint32_t flags
    ctypedef struct ff_shm_dir_entry:
        char venue[24]
        char symbol[32]
        uint32_t slot
    ctypedef struct ff_shm_slot:
        uint64_t seq
        int32_t price_decimals
        int32_t size_decimals
        int32_t state
        int64_t update_id
        uint64_t updates
        int64_t levels[1]
    ctypedef struct ff_shm_view:
        uint64_t seq
        int32_t price_decimals
        int32_t size_decimals
        int32_t state
        int32_t n_bids
        int32_t n_asks
        int64_t update_id
        int64_t exchange_ts_ns
        int64_t recv_ts_ns
        uint64_t updates
        uint64_t checksum
    ctypedef struct ff_shm_trade:
        int64_t exchange_ns
        int64_t recv_ns
        int64_t trade_id
        int64_t price
        int64_t size
        int64_t side
    ctypedef struct ff_shm_market:
        uint64_t seq
        int64_t bid_px
        int64_t bid_sz
        int64_t ask_px
        int64_t ask_sz
        int64_t bbo_update_id
        int64_t bbo_exchange_ns
        int64_t bbo_recv_ns
        uint64_t bbo_updates
        uint64_t trades_total
        int32_t trade_state
        ff_shm_trade trades[32]
    uint32_t ff_shm_book_size(uint32_t depth) noexcept nogil
    uint32_t ff_shm_slot_size(uint32_t depth) noexcept nogil
    uint64_t ff_shm_slots_offset(uint32_t capacity) noexcept nogil
    uint64_t ff_shm_total_size(uint32_t capacity, uint32_t depth) noexcept nogil
    ff_shm_dir_entry* ff_shm_dir(void* base, uint32_t i) noexcept nogil
    ff_shm_slot* ff_shm_slot_at(void* base, uint32_t i) noexcept nogil
    ff_shm_market* ff_shm_market_of(ff_shm_slot* s, uint32_t depth) noexcept nogil
    # Atomic accessors (the header's macros), for the few fields touched outside a slot.
    uint64_t FF_LOAD_ACQ(...) noexcept nogil
    uint64_t FF_LOAD_RLX(...) noexcept nogil
    void FF_STORE_REL(...) noexcept nogil
    void FF_STORE_RLX(...) noexcept nogil
    void ff_shm_write_begin(ff_shm_slot* s) noexcept nogil
    void ff_shm_write_end(ff_shm_slot* s) noexcept nogil
    # Publish a book in L2Book order (best LAST) as the slot's best-first top `depth`.
    void ff_shm_publish(ff_shm_slot* s, uint32_t depth,
                        const int64_t* bid_px, const int64_t* bid_sz, int64_t nb,
                        const int64_t* ask_px, const int64_t* ask_sz, int64_t na,
                        int32_t state, int64_t update_id, int64_t exchange_ts_ns,
                        int64_t recv_ts_ns) noexcept nogil
    # One read attempt: 1 with a consistent copy, 0 to retry (recheck=0: debug only).
    int ff_shm_try_read(const ff_shm_slot* s, uint32_t depth, ff_shm_view* v,
                        int64_t* levels, int recheck) noexcept nogil
    uint64_t ff_shm_view_checksum(const ff_shm_view* v, uint32_t depth,
                                  const int64_t* levels) noexcept nogil
    # The market block: trades go in between begin/end (one seqlock write per message).
    void ff_shm_market_begin(ff_shm_market* m) noexcept nogil
    void ff_shm_market_end(ff_shm_market* m) noexcept nogil
    void ff_shm_put_trade(ff_shm_market* m, uint64_t index, int64_t exchange_ns,
                          int64_t recv_ns, int64_t trade_id, int64_t price, int64_t size,
                          int64_t side) noexcept nogil
    void ff_shm_publish_bbo(ff_shm_market* m, int64_t bid_px, int64_t bid_sz, int64_t ask_px,
                            int64_t ask_sz, int64_t update_id, int64_t exchange_ns,
                            int64_t recv_ns) noexcept nogil
    int ff_shm_try_read_market(const ff_shm_market* m, ff_shm_market* out) noexcept nogil


cdef extern from "ff_i128.h":
    # 128-bit signed integer (quote volumes: docs/venues.md, "Candles"); opaque to Cython
    # beyond these helpers. add/mul return 1 on overflow.
    ctypedef struct ff_i128:
        pass
    int ff_i128_add(ff_i128 a, ff_i128 b, ff_i128* out) noexcept nogil
    int ff_i128_mul(ff_i128 a, ff_i128 b, ff_i128* out) noexcept nogil
    int64_t ff_i128_hi(ff_i128 v) noexcept nogil
    uint64_t ff_i128_lo(ff_i128 v) noexcept nogil
    ff_i128 ff_i128_make(int64_t hi, uint64_t lo) noexcept nogil
    ff_i128 ff_i128_from64(int64_t v) noexcept nogil


cdef extern from "ff_fanout.h":
    # Fan-out change logs (docs/fanout.md): the level changes a published book applied
    # since its last flush, and the hub listing the dirty ones.
    const unsigned int FF_FAN_FULL
    const unsigned int FF_FAN_NEW_EPOCH
    const unsigned int FF_FAN_STATE
    const unsigned int FF_FAN_PERIODIC
    ctypedef struct ff_fan_hub:
        uint32_t* dirty
        uint32_t n_dirty
        uint32_t cap
        uint32_t armed
    ctypedef struct ff_fan_log:
        int64_t* px[2]
        int64_t* sz[2]
        uint32_t n[2]
        uint32_t cap
        uint32_t flags
        uint32_t dirty
        uint32_t slot
        uint32_t messages
        uint32_t book_id
        uint32_t trades
        int64_t first_id
        int64_t last_id
        int64_t exchange_ns
        int64_t recv_mono_ns
        uint64_t epoch
        uint64_t seq
        ff_fan_hub* hub
    # List the log as dirty with `flags`; 1 if the hub was idle (wake the publisher).
    int ff_fan_touch(ff_fan_log* g, uint32_t flags) noexcept nogil
    void ff_fan_level(ff_fan_log* g, int side, int64_t price, int64_t size) noexcept nogil
    void ff_fan_message(ff_fan_log* g, int64_t first_id, int64_t last_id,
                        int64_t exchange_ns, int64_t recv_mono_ns) noexcept nogil
    void ff_fan_reset(ff_fan_log* g) noexcept nogil


cdef extern from "ff_writer.h":
    # A socket writer thread (docs/fanout.md): buffers queued by the owner are sent from a
    # thread of its own on a dup of the connection's descriptor; no Python, no GIL.
    ctypedef struct ff_wbuf:
        const char* p
        size_t len
        void* owner
        ff_wbuf* next
    ctypedef struct ff_writer:
        int fd
        int notify_fd
        size_t queued
        int err
        int finished
        uint64_t sends
        uint64_t bytes
    int ff_writer_start(ff_writer* w, int fd, int notify_fd, size_t low_mark) noexcept nogil
    size_t ff_writer_submit(ff_writer* w, ff_wbuf* b, size_t high_mark) noexcept nogil
    ff_wbuf* ff_writer_take_done(ff_writer* w) noexcept nogil
    size_t ff_writer_queued(ff_writer* w) noexcept nogil
    void ff_writer_stop(ff_writer* w, int drain) noexcept nogil
    void ff_writer_join(ff_writer* w) noexcept nogil
    void ff_writer_free(ff_writer* w) noexcept nogil
