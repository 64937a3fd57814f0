/* Fan-out change logs (declared for Cython in fastfeed/_cdefs.pxd; docs/fanout.md).
 *
 * A book published over NATS owns one ff_fan_log: the level changes it applied since the
 * publisher last flushed it, per side in applied order, in fixed arrays of `cap` entries
 * (memory per book known and bounded). The hot path appends; the publisher drains. More
 * than `cap` changes, or a book replaced wholesale, set `full`: the next flush sends the
 * whole book instead (docs/wire.md, "Limits"), so nothing is ever lost, only coalesced.
 *
 * Logs share an ff_fan_hub: the list of dirty logs (each at most once) and whether the
 * publisher's flush is already scheduled. ff_fan_touch returns 1 exactly when the hub goes
 * from idle to armed: then, and only then, the caller wakes the publisher (one Python call
 * per flush, not per message). */
#ifndef FF_FANOUT_H
#define FF_FANOUT_H

#include <stdint.h>

#define FF_FAN_FULL 1u          /* more changes than fit, or wholesale replacement */
#define FF_FAN_NEW_EPOCH 2u     /* the book was replaced: next snapshot starts an epoch */
#define FF_FAN_STATE 4u         /* the state changed (a delta must carry it) */
#define FF_FAN_PERIODIC 8u      /* a periodic snapshot is due */

typedef struct {
    uint32_t *dirty;            /* slots of the dirty logs, n_dirty of them */
    uint32_t n_dirty;
    uint32_t cap;               /* room in `dirty`: the number of slots ever attached */
    uint32_t armed;             /* a flush is scheduled */
} ff_fan_hub;

typedef struct {
    int64_t *px[2];             /* per side (0 bid, 1 ask): prices in applied order */
    int64_t *sz[2];             /* sizes; 0 deletes */
    uint32_t n[2];
    uint32_t cap;               /* entries per side */
    uint32_t flags;             /* FF_FAN_* pending for the next flush */
    uint32_t dirty;             /* listed in the hub */
    uint32_t slot;              /* index in the hub */
    uint32_t messages;          /* venue messages since the last flush */
    uint32_t book_id;           /* CRC-32 of "venue:symbol" (docs/wire.md) */
    uint32_t trades;            /* 1: a trade stream's mark (no level arrays, cap 0) */
    int64_t first_id;           /* venue update ids covered since the last flush */
    int64_t last_id;
    int64_t exchange_ns;        /* of the last applied message (ns since the epoch) */
    int64_t recv_mono_ns;       /* its receive stamp (CLOCK_MONOTONIC) */
    uint64_t epoch;             /* published epoch and sequence (docs/wire.md) */
    uint64_t seq;
    ff_fan_hub *hub;
} ff_fan_log;

/* List the log as dirty; 1 if the hub was idle (the caller wakes the publisher). */
static inline int ff_fan_touch(ff_fan_log *g, uint32_t flags) {
    ff_fan_hub *h = g->hub;
    g->flags |= flags;
    if (g->dirty)
        return 0;
    g->dirty = 1;
    h->dirty[h->n_dirty++] = g->slot;
    if (h->armed)
        return 0;
    h->armed = 1;
    return 1;
}

/* One applied level change. */
static inline void ff_fan_level(ff_fan_log *g, int side, int64_t price, int64_t size) {
    uint32_t i;
    if (g->flags & FF_FAN_FULL)
        return;
    i = g->n[side];
    if (i == g->cap) {
        g->flags |= FF_FAN_FULL;
        return;
    }
    g->px[side][i] = price;
    g->sz[side][i] = size;
    g->n[side] = i + 1;
}

/* One applied venue message's ids and times (after its levels). */
static inline void ff_fan_message(ff_fan_log *g, int64_t first_id, int64_t last_id,
                                  int64_t exchange_ns, int64_t recv_mono_ns) {
    if (g->messages == 0)
        g->first_id = first_id >= 0 ? first_id : last_id;
    g->messages++;
    if (last_id >= 0)
        g->last_id = last_id;
    if (exchange_ns > 0)
        g->exchange_ns = exchange_ns;
    g->recv_mono_ns = recv_mono_ns;
}

/* Forget what was flushed (the flags the flush consumed are cleared by the caller). */
static inline void ff_fan_reset(ff_fan_log *g) {
    g->n[0] = g->n[1] = 0;
    g->messages = 0;
    g->first_id = -1;
    g->dirty = 0;
}

#endif
