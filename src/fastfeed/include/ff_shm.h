/* Shared-memory market segment: layout, seqlock writers and readers (declared for Cython in
 * fastfeed/_cdefs.pxd; docs/shm.md is the prose spec, this header the one source of the
 * numbers). Used by the publisher and reader in _shm.pyx and by tests/shm_reader.c.
 *
 * A segment is: header (FF_SHM_HEADER_SIZE bytes) | directory (capacity entries of
 * FF_SHM_DIR_ENTRY_SIZE) | slots (capacity slots of ff_shm_slot_size(depth)). A slot is
 * one instrument: its book (ff_shm_slot, levels after it), then its market block
 * (ff_shm_market: the venue's best bid/offer and the last FF_SHM_TRADES trades), each
 * under its own seqlock (a book and a trade stream are written independently). All
 * integers native-endian (little-endian on every supported host), naturally aligned.
 *
 * Seqlock (one per slot, one writer): the writer makes `seq` odd (relaxed store) and
 * issues a release fence before touching the data, writes the data with relaxed atomic
 * stores, then stores the next even value with release. A reader loads `seq` with
 * acquire (odd: retry), copies the data with relaxed atomic loads, issues an acquire
 * fence and reloads `seq` (relaxed): equal means the copy is one consistent version.
 * Acquire/release only: nothing here relies on x86's stronger ordering. */
#ifndef FF_SHM_H
#define FF_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- layout constants (docs/shm.md) ---- */
#define FF_SHM_MAGIC 0x314745534d485346ULL  /* the bytes "FSHMSEG1" */
#define FF_SHM_VERSION 2u                   /* 2: the market block after the levels */
#define FF_SHM_HEADER_SIZE 128u
#define FF_SHM_DIR_ENTRY_SIZE 64u
#define FF_SHM_VENUE_LEN 24u                /* NUL-padded; at most 23 bytes used */
#define FF_SHM_SYMBOL_LEN 32u               /* NUL-padded; at most 31 bytes used */
#define FF_SHM_SLOT_HEAD 128u               /* slot bytes before the level arrays */
#define FF_SHM_FLAG_CLOSED 1u               /* header.flags: the publisher shut down */
#define FF_SHM_TRADES 32u                   /* trades each market block keeps (a ring) */

/* header.flags, header.n_books and header.heartbeat_ns are accessed atomically. */
typedef struct {
    uint64_t magic;             /*   0: FF_SHM_MAGIC, stored (release) last at creation */
    uint32_t version;           /*   8: FF_SHM_VERSION */
    uint32_t header_size;       /*  12: FF_SHM_HEADER_SIZE */
    uint32_t dir_entry_size;    /*  16: FF_SHM_DIR_ENTRY_SIZE */
    uint32_t slot_size;         /*  20: ff_shm_slot_size(depth) */
    uint32_t capacity;          /*  24: directory entries = slots */
    uint32_t depth;             /*  28: levels per side in every slot */
    uint64_t dir_offset;        /*  32 */
    uint64_t slots_offset;      /*  40 */
    uint64_t total_size;        /*  48: bytes of the whole segment */
    uint64_t generation;        /*  56: random, non-zero, new for every segment created */
    int64_t pid;                /*  64: publisher process id */
    int64_t created_ns;         /*  72: CLOCK_REALTIME ns */
    int64_t heartbeat_ns;       /*  80: CLOCK_REALTIME ns, refreshed by the publisher */
    uint32_t n_books;           /*  88: directory entries in use (store-release) */
    uint32_t flags;             /*  92: FF_SHM_FLAG_* */
    uint8_t reserved[32];       /*  96 */
} ff_shm_header;

typedef struct {
    char venue[FF_SHM_VENUE_LEN];       /*  0 */
    char symbol[FF_SHM_SYMBOL_LEN];     /* 24 */
    uint32_t slot;                      /* 56: slot index */
    uint32_t reserved;                  /* 60 */
} ff_shm_dir_entry;

/* One book. `seq` sits alone on the first cache line; levels follow the head:
 * bids[depth][2] then asks[depth][2], each [price ticks, size lots], best first. */
typedef struct {
    uint64_t seq;               /*   0: seqlock counter, odd while a write is in progress */
    uint8_t pad0[56];
    int32_t price_decimals;     /*  64 */
    int32_t size_decimals;      /*  68 */
    int32_t state;              /*  72: 0 syncing, 1 live, 2 gap, 3 stale, 4 closed */
    int32_t n_bids;             /*  76: used bid levels, <= depth */
    int32_t n_asks;             /*  80 */
    int32_t reserved;           /*  84 */
    int64_t update_id;          /*  88: venue update id (-1: none / in-band venue) */
    int64_t exchange_ts_ns;     /*  96: venue event time, CLOCK_REALTIME ns (0: none) */
    int64_t recv_ts_ns;         /* 104: receive time, CLOCK_REALTIME ns (0: none) */
    uint64_t updates;           /* 112: publishes into this slot so far */
    uint64_t checksum;          /* 120: ff_shm_checksum of the rest (see below) */
    int64_t levels[];           /* 128 */
} ff_shm_slot;

/* One trade in the market block's ring (48 bytes). */
typedef struct {
    int64_t exchange_ns;        /*  0: execution time, CLOCK_REALTIME ns (the venue's) */
    int64_t recv_ns;            /*  8: receive time, CLOCK_REALTIME ns */
    int64_t trade_id;           /* 16: the venue's id (-1: none) */
    int64_t price;              /* 24: ticks (the slot's price_decimals) */
    int64_t size;               /* 32: lots (the slot's size_decimals) */
    int64_t side;               /* 40: +1 the taker bought, -1 sold, 0 unknown */
} ff_shm_trade;

/* An instrument's market block, after its book's levels (64-byte aligned). */
typedef struct {
    uint64_t seq;               /*   0: seqlock of this block, alone on its cache line */
    uint8_t pad0[56];
    int64_t bid_px;             /*  64: the venue's best bid/offer (a BBO stream) */
    int64_t bid_sz;             /*  72 */
    int64_t ask_px;             /*  80 */
    int64_t ask_sz;             /*  88 */
    int64_t bbo_update_id;      /*  96: the venue's id of that BBO (-1: none) */
    int64_t bbo_exchange_ns;    /* 104 */
    int64_t bbo_recv_ns;        /* 112 */
    uint64_t bbo_updates;       /* 120: BBOs published (0: no BBO stream) */
    uint64_t trades_total;      /* 128: trades published; the newest at (total-1) % TRADES */
    int32_t trade_state;        /* 136: the trade stream's state (book state codes) */
    int32_t reserved;           /* 140 */
    uint8_t pad1[48];           /* 144 */
    ff_shm_trade trades[FF_SHM_TRADES];     /* 192 */
} ff_shm_market;

static inline uint32_t ff_shm_book_size(uint32_t depth) {
    return (FF_SHM_SLOT_HEAD + 32u * depth + 63u) & ~63u;
}
static inline uint32_t ff_shm_slot_size(uint32_t depth) {
    return ff_shm_book_size(depth) + (uint32_t)sizeof(ff_shm_market);
}
static inline uint64_t ff_shm_dir_offset(void) { return FF_SHM_HEADER_SIZE; }
static inline uint64_t ff_shm_slots_offset(uint32_t capacity) {
    return (FF_SHM_HEADER_SIZE + (uint64_t)FF_SHM_DIR_ENTRY_SIZE * capacity + 4095u)
           & ~(uint64_t)4095u;
}
static inline uint64_t ff_shm_total_size(uint32_t capacity, uint32_t depth) {
    return ff_shm_slots_offset(capacity) + (uint64_t)ff_shm_slot_size(depth) * capacity;
}
static inline ff_shm_dir_entry* ff_shm_dir(void* base, uint32_t i) {
    return (ff_shm_dir_entry*)((char*)base + FF_SHM_HEADER_SIZE
                               + (size_t)FF_SHM_DIR_ENTRY_SIZE * i);
}
static inline ff_shm_slot* ff_shm_slot_at(void* base, uint32_t i) {
    ff_shm_header* h = (ff_shm_header*)base;
    return (ff_shm_slot*)((char*)base + h->slots_offset + (size_t)h->slot_size * i);
}
static inline ff_shm_market* ff_shm_market_of(ff_shm_slot* s, uint32_t depth) {
    return (ff_shm_market*)((char*)s + ff_shm_book_size(depth));
}

/* ---- atomics ---- */
#if defined(__GNUC__) || defined(__clang__)
#define FF_LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define FF_LOAD_RLX(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define FF_STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define FF_STORE_RLX(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define FF_FENCE_ACQ() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define FF_FENCE_REL() __atomic_thread_fence(__ATOMIC_RELEASE)
#else
#error "ff_shm.h needs the GCC/Clang __atomic builtins"
#endif

/* Checksum of a slot's content: wrapping uint64 sum of update_id, updates, state,
 * n_bids * 2**32 + n_asks and every used level word (price and size), bids then asks. */
static inline uint64_t ff_shm_checksum_head(int32_t state, int32_t nb, int32_t na,
                                            int64_t update_id, uint64_t updates) {
    return (uint64_t)update_id + updates + (uint64_t)(uint32_t)state
           + ((uint64_t)(uint32_t)nb << 32) + (uint64_t)(uint32_t)na;
}

/* ---- writer (single writer per slot) ---- */
static inline void ff_shm_write_begin(ff_shm_slot* s) {
    uint64_t q = FF_LOAD_RLX(&s->seq);
    FF_STORE_RLX(&s->seq, q + 1);           /* odd: write in progress */
    FF_FENCE_REL();                         /* ... ordered before every data store */
}
static inline void ff_shm_write_end(ff_shm_slot* s) {
    uint64_t q = FF_LOAD_RLX(&s->seq);
    FF_STORE_REL(&s->seq, q + 1);           /* even: data stores ordered before it */
}

/* Publish a book given in L2Book order (ascending bid_px / descending ask_px, best LAST):
 * the best min(n, depth) levels of each side, best first, plus the metadata. */
static inline void ff_shm_publish(ff_shm_slot* s, uint32_t depth,
                                  const int64_t* bid_px, const int64_t* bid_sz, int64_t nb,
                                  const int64_t* ask_px, const int64_t* ask_sz, int64_t na,
                                  int32_t state, int64_t update_id, int64_t exchange_ts_ns,
                                  int64_t recv_ts_ns) {
    int64_t kb = nb < (int64_t)depth ? nb : (int64_t)depth;
    int64_t ka = na < (int64_t)depth ? na : (int64_t)depth;
    int64_t* lv = s->levels;
    int64_t* la = s->levels + 2 * (size_t)depth;
    uint64_t upd = FF_LOAD_RLX(&s->updates) + 1;
    uint64_t sum = ff_shm_checksum_head(state, (int32_t)kb, (int32_t)ka, update_id, upd);
    int64_t i, p, q;
    ff_shm_write_begin(s);
    for (i = 0; i < kb; i++) {
        p = bid_px[nb - 1 - i]; q = bid_sz[nb - 1 - i];
        FF_STORE_RLX(&lv[2 * i], p); FF_STORE_RLX(&lv[2 * i + 1], q);
        sum += (uint64_t)p + (uint64_t)q;
    }
    for (i = 0; i < ka; i++) {
        p = ask_px[na - 1 - i]; q = ask_sz[na - 1 - i];
        FF_STORE_RLX(&la[2 * i], p); FF_STORE_RLX(&la[2 * i + 1], q);
        sum += (uint64_t)p + (uint64_t)q;
    }
    FF_STORE_RLX(&s->state, state);
    FF_STORE_RLX(&s->n_bids, (int32_t)kb);
    FF_STORE_RLX(&s->n_asks, (int32_t)ka);
    FF_STORE_RLX(&s->update_id, update_id);
    FF_STORE_RLX(&s->exchange_ts_ns, exchange_ts_ns);
    FF_STORE_RLX(&s->recv_ts_ns, recv_ts_ns);
    FF_STORE_RLX(&s->updates, upd);
    FF_STORE_RLX(&s->checksum, sum);
    ff_shm_write_end(s);
}

/* ---- market block writer (single writer per block) ---- */
static inline void ff_shm_market_begin(ff_shm_market* m) {
    uint64_t q = FF_LOAD_RLX(&m->seq);
    FF_STORE_RLX(&m->seq, q + 1);
    FF_FENCE_REL();
}
static inline void ff_shm_market_end(ff_shm_market* m) {
    uint64_t q = FF_LOAD_RLX(&m->seq);
    FF_STORE_REL(&m->seq, q + 1);
}
/* Inside begin/end: one trade into the ring as the `index`-th published (0-based). */
static inline void ff_shm_put_trade(ff_shm_market* m, uint64_t index, int64_t exchange_ns,
                                    int64_t recv_ns, int64_t trade_id, int64_t price,
                                    int64_t size, int64_t side) {
    ff_shm_trade* t = &m->trades[index % FF_SHM_TRADES];
    FF_STORE_RLX(&t->exchange_ns, exchange_ns);
    FF_STORE_RLX(&t->recv_ns, recv_ns);
    FF_STORE_RLX(&t->trade_id, trade_id);
    FF_STORE_RLX(&t->price, price);
    FF_STORE_RLX(&t->size, size);
    FF_STORE_RLX(&t->side, side);
}
static inline void ff_shm_publish_bbo(ff_shm_market* m, int64_t bid_px, int64_t bid_sz,
                                      int64_t ask_px, int64_t ask_sz, int64_t update_id,
                                      int64_t exchange_ns, int64_t recv_ns) {
    ff_shm_market_begin(m);
    FF_STORE_RLX(&m->bid_px, bid_px);
    FF_STORE_RLX(&m->bid_sz, bid_sz);
    FF_STORE_RLX(&m->ask_px, ask_px);
    FF_STORE_RLX(&m->ask_sz, ask_sz);
    FF_STORE_RLX(&m->bbo_update_id, update_id);
    FF_STORE_RLX(&m->bbo_exchange_ns, exchange_ns);
    FF_STORE_RLX(&m->bbo_recv_ns, recv_ns);
    FF_STORE_RLX(&m->bbo_updates, FF_LOAD_RLX(&m->bbo_updates) + 1);
    ff_shm_market_end(m);
}

/* ---- reader ---- */
/* A reader's copy of one slot; `levels` has room for 4 * depth words. */
typedef struct {
    uint64_t seq;
    int32_t price_decimals, size_decimals, state, n_bids, n_asks;
    int64_t update_id, exchange_ts_ns, recv_ts_ns;
    uint64_t updates, checksum;
} ff_shm_view;

/* One attempt: 1 and a consistent copy in *v / levels, or 0 (a write was in progress or
 * happened during the copy: retry). recheck = 0 skips the second load of seq (DEBUG
 * ONLY: torn copies then pass; the torn-read test proves it can see them). */
static inline int ff_shm_try_read(const ff_shm_slot* s, uint32_t depth, ff_shm_view* v,
                                  int64_t* levels, int recheck) {
    uint64_t s1 = FF_LOAD_ACQ(&s->seq), s2;
    int32_t nb, na, i;
    const int64_t* lb = s->levels;
    const int64_t* la = s->levels + 2 * (size_t)depth;
    if (s1 & 1u) return 0;
    v->price_decimals = FF_LOAD_RLX(&s->price_decimals);
    v->size_decimals = FF_LOAD_RLX(&s->size_decimals);
    v->state = FF_LOAD_RLX(&s->state);
    nb = FF_LOAD_RLX(&s->n_bids);
    na = FF_LOAD_RLX(&s->n_asks);
    if (nb < 0 || nb > (int32_t)depth || na < 0 || na > (int32_t)depth) {
        if (recheck) return 0;                  /* torn counts: only possible mid-write */
        nb = nb < 0 ? 0 : (nb > (int32_t)depth ? (int32_t)depth : nb);
        na = na < 0 ? 0 : (na > (int32_t)depth ? (int32_t)depth : na);
    }
    v->n_bids = nb;
    v->n_asks = na;
    v->update_id = FF_LOAD_RLX(&s->update_id);
    v->exchange_ts_ns = FF_LOAD_RLX(&s->exchange_ts_ns);
    v->recv_ts_ns = FF_LOAD_RLX(&s->recv_ts_ns);
    v->updates = FF_LOAD_RLX(&s->updates);
    v->checksum = FF_LOAD_RLX(&s->checksum);
    for (i = 0; i < 2 * nb; i++) levels[i] = FF_LOAD_RLX(&lb[i]);
    for (i = 0; i < 2 * na; i++) levels[2 * (size_t)depth + i] = FF_LOAD_RLX(&la[i]);
    FF_FENCE_ACQ();                             /* the copy is ordered before the reload */
    s2 = FF_LOAD_RLX(&s->seq);
    if (recheck && s2 != s1) return 0;
    v->seq = s1;
    return 1;
}

/* The checksum the copy should carry (compare with v->checksum). */
static inline uint64_t ff_shm_view_checksum(const ff_shm_view* v, uint32_t depth,
                                            const int64_t* levels) {
    uint64_t sum = ff_shm_checksum_head(v->state, v->n_bids, v->n_asks, v->update_id,
                                        v->updates);
    int32_t i;
    for (i = 0; i < 2 * v->n_bids; i++) sum += (uint64_t)levels[i];
    for (i = 0; i < 2 * v->n_asks; i++) sum += (uint64_t)levels[2 * (size_t)depth + i];
    return sum;
}

/* One attempt at a consistent copy of a market block (1) or 0 (retry). The copy holds
 * every field and the whole ring; the newest min(trades_total, FF_SHM_TRADES) entries
 * are meaningful. */
static inline int ff_shm_try_read_market(const ff_shm_market* m, ff_shm_market* out) {
    uint64_t s1 = FF_LOAD_ACQ(&m->seq), s2;
    uint32_t i;
    if (s1 & 1u) return 0;
    out->bid_px = FF_LOAD_RLX(&m->bid_px);
    out->bid_sz = FF_LOAD_RLX(&m->bid_sz);
    out->ask_px = FF_LOAD_RLX(&m->ask_px);
    out->ask_sz = FF_LOAD_RLX(&m->ask_sz);
    out->bbo_update_id = FF_LOAD_RLX(&m->bbo_update_id);
    out->bbo_exchange_ns = FF_LOAD_RLX(&m->bbo_exchange_ns);
    out->bbo_recv_ns = FF_LOAD_RLX(&m->bbo_recv_ns);
    out->bbo_updates = FF_LOAD_RLX(&m->bbo_updates);
    out->trades_total = FF_LOAD_RLX(&m->trades_total);
    out->trade_state = FF_LOAD_RLX(&m->trade_state);
    for (i = 0; i < FF_SHM_TRADES; i++) {
        out->trades[i].exchange_ns = FF_LOAD_RLX(&m->trades[i].exchange_ns);
        out->trades[i].recv_ns = FF_LOAD_RLX(&m->trades[i].recv_ns);
        out->trades[i].trade_id = FF_LOAD_RLX(&m->trades[i].trade_id);
        out->trades[i].price = FF_LOAD_RLX(&m->trades[i].price);
        out->trades[i].size = FF_LOAD_RLX(&m->trades[i].size);
        out->trades[i].side = FF_LOAD_RLX(&m->trades[i].side);
    }
    FF_FENCE_ACQ();
    s2 = FF_LOAD_RLX(&m->seq);
    if (s2 != s1) return 0;
    out->seq = s1;
    return 1;
}

#endif /* FF_SHM_H */
