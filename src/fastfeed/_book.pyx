# cython: language_level=3
"""L2 order book core: exact int64 prices and sizes in numpy arrays, updated from C.

Each side is a pair of int64 arrays (prices, sizes) kept sorted with the best level at
the END of the used region: bids ascending, asks descending. A change near the top then
moves only the few levels above it and the best level is O(1).

The used region floats inside its array (``bid_lo`` elements from the start): an insert
or delete shifts whichever part of the side is shorter, so changes near the bottom are
as cheap as changes near the top, and truncation to N levels (Kraken) is a pointer move.
When the side that must shift has no slack the block is re-centred; the arrays grow
(doubling, the only branch that touches Python) when more than 3/4 full.

Prices are ticks at ``price_decimals`` (value × 10**price_decimals), sizes lots at
``size_decimals``, both never negative. Size 0 deletes a level; deleting an absent
level is a no-op.

Hot path (``apply_deltas``, tuned on ``benches/book.py binance_realistic``): a run of
same-side changes sorted best first (how Binance, Bybit and OKX send a message's side)
is applied in one pass: its part among the best 32 levels merged top-down, its part
below the worst level appended (docs/performance.md, "Book apply"). Any other change
goes one by one: located by a branch-free count over the best 8 levels, then over the
64 below them (8 block heads, then one block), then the worst 8, then a branch-free
lower bound over the rest; an insert or delete that shifts at most 8 levels copies
a fixed 8-element block through registers (slack outside the used region absorbs
the overshoot) instead of calling memmove.
"""

cimport numpy as cnp
from libc.stdint cimport INT64_MAX, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc, qsort
from libc.string cimport memcpy, memmove

from fastfeed._types cimport SIDE_ASK, SIDE_BID, Delta

import numpy as np

cnp.import_array()

#: Side code of a bid level (``apply(BID, price, size)``).
BID = SIDE_BID
#: Side code of an ask level.
ASK = SIDE_ASK

cdef enum:
    # _locate: the best TOP_WINDOW levels are counted branch-free (on Binance BTCUSDT
    # traffic ~72% of changes land there); next the NEAR_WINDOW levels below them, then
    # the worst TOP_WINDOW (~20%: the venue keeps its depth by changes at the bottom),
    # then the rest by a branch-free lower bound. Measured (benches/book.py
    # binance_realistic / near_top): a 16 window costs more than it saves; the former
    # scan-8 + gallop paid ~2 mispredicts a change (callgrind --branch-sim), this ~1.4.
    # The NEAR_WINDOW is two 8-wide counts (its 8 block heads, then one block): they
    # are independent loads, where a 6-step bisection was a chain of dependent ones
    # (near_top 199 -> 187 instructions a change, wall ~50 -> ~36 ns).
    TOP_WINDOW = 8
    NEAR_WINDOW = 64
    # An insert / delete that shifts at most BLOCK levels copies a fixed BLOCK (a few
    # vector loads and stores) instead of two memmove calls.
    BLOCK = 8
    # _side_set status: the side needs a bigger array (caller grows with the GIL).
    NEED_ROOM = 1
    # _side_set status: a delete of a price the side does not hold (a no-op, counted)
    ABSENT = 2
    MIN_CAPACITY = 16
    # Deltas converted per apply_deltas call in apply_many (a stack buffer).
    APPLY_CHUNK = 256
    # A run of at least MIN_RUN same-side changes sorted best first (how Binance, Bybit
    # and OKX send a message's side) has its changes among the best MERGE_WINDOW
    # levels merged in one pass (_merge_top) instead of one by one.
    MIN_RUN = 4
    MERGE_WINDOW = 32
    MAX_DECIMALS = 18


ctypedef struct SideView:
    # Local copy of one side's state so the hot loop works on registers, not self.
    int64_t* px
    int64_t* sz
    Py_ssize_t n
    Py_ssize_t lo
    Py_ssize_t cap


ctypedef struct Merged:
    # _merge_top's result: the side's new level count (-1: not applied) and how many
    # of the run's deletes were of absent levels.
    Py_ssize_t n
    int64_t absent


ctypedef struct Entry:
    int64_t price
    int64_t size
    Py_ssize_t idx      # position in the snapshot: among duplicates the last wins


# Off only for benchmarks and tests (set_run_merging): every change goes one by one.
cdef bint _MERGE_RUNS = True


def set_run_merging(bint on):
    """Merge sorted runs in one pass (the default) or, off, apply every change one by
    one (for benchmarks and tests: the same book either way; docs/performance.md,
    "Book apply"). Affects every book in the process."""
    global _MERGE_RUNS
    _MERGE_RUNS = on


cdef double _POW10[MAX_DECIMALS + 1]
cdef int _i
_POW10[0] = 1.0
for _i in range(1, MAX_DECIMALS + 1):
    _POW10[_i] = _POW10[_i - 1] * 10.0      # exact: every 10**k, k <= 22, is a double


# ---------------------------------------------------------------- side primitives


cdef inline bint _better(int64_t a, int64_t b, bint bid) noexcept nogil:
    # Price a is strictly nearer the top than price b on this side.
    if bid:
        return a > b
    return a < b


cdef inline Py_ssize_t _lower_bound(const int64_t* px, Py_ssize_t lo, Py_ssize_t hi,
                                    int64_t price, bint bid) noexcept nogil:
    """First j in [lo, hi] with px[j] better than price, given px[hi] is (branch-free).

    The compare feeds arithmetic, not a jump, so random lookups pay no mispredictions;
    the loop count depends only on hi - lo.
    """
    cdef const int64_t* b = px + lo
    cdef Py_ssize_t k = hi - lo + 1, half
    while k > 1:
        half = k >> 1
        b += half * (not _better(b[half], price, bid))
        k -= half
    return (b - px) + (not _better(b[0], price, bid))


cdef inline Py_ssize_t _count_better(const int64_t* px, Py_ssize_t m, int64_t price,
                                     bint bid) noexcept nogil:
    """How many of px[0:m] are better than price, with no branch per level.

    Prices are never negative (``apply_deltas`` / ``load_deltas`` reject them), so
    ``price - px[j]`` cannot overflow and its sign bit is exactly ``px[j] > price``
    (bids; the mirror for asks): a subtract, shift and add per level, no compare.
    """
    cdef Py_ssize_t j
    cdef uint64_t c = 0
    if bid:
        for j in range(m):
            c += <uint64_t>(price - px[j]) >> 63
    else:
        for j in range(m):
            c += <uint64_t>(px[j] - price) >> 63
    return <Py_ssize_t>c


cdef inline Py_ssize_t _count_better_strided(const int64_t* px, int64_t price,
                                             bint bid) noexcept nogil:
    """How many of px[0], px[8], ..., px[56] are better than price (branch-free)."""
    cdef Py_ssize_t j
    cdef uint64_t c = 0
    if bid:
        for j in range(NEAR_WINDOW // TOP_WINDOW):
            c += <uint64_t>(price - px[j * TOP_WINDOW]) >> 63
    else:
        for j in range(NEAR_WINDOW // TOP_WINDOW):
            c += <uint64_t>(px[j * TOP_WINDOW] - price) >> 63
    return <Py_ssize_t>c


cdef inline Py_ssize_t _locate(const int64_t* px, Py_ssize_t n, int64_t price,
                               bint bid) noexcept nogil:
    """Return k such that px[k:n] are exactly the levels better than ``price``."""
    cdef Py_ssize_t c, hi
    if n <= TOP_WINDOW:
        return n - _count_better(px, n, price, bid)
    # The top window, counted without a branch per level: real traffic lands here.
    c = _count_better(px + n - TOP_WINDOW, TOP_WINDOW, price, bid)
    if c < TOP_WINDOW:
        return n - c
    hi = n - TOP_WINDOW                     # px[hi] is better than price
    if hi > NEAR_WINDOW and not _better(px[hi - NEAR_WINDOW], price, bid):
        # Two independent 8-wide counts instead of a 6-step dependent bisection: how
        # many of the 8 blocks below the top window lie wholly above price (their
        # lowest level is better), then the position inside the next block.
        c = _count_better_strided(px + hi - NEAR_WINDOW, price, bid)
        hi -= c * TOP_WINDOW
        return hi - _count_better(px + hi - TOP_WINDOW, TOP_WINDOW, price, bid)
    # The bottom window: books keep their depth by inserting / deleting at the bottom.
    if hi > TOP_WINDOW and _better(px[TOP_WINDOW - 1], price, bid):
        return TOP_WINDOW - _count_better(px, TOP_WINDOW, price, bid)
    return _lower_bound(px, 0, hi, price, bid)


cdef inline void _move2(int64_t* px, int64_t* sz, Py_ssize_t dst, Py_ssize_t src,
                        Py_ssize_t count) noexcept nogil:
    memmove(px + dst, px + src, count * sizeof(int64_t))
    memmove(sz + dst, sz + src, count * sizeof(int64_t))


cdef inline int _recentre(SideView* s) noexcept nogil:
    """Move the used block to the middle of its array; NEED_ROOM if it should grow."""
    cdef Py_ssize_t free_slots = s.cap - s.n
    cdef Py_ssize_t new_lo
    cdef int64_t* base_px
    cdef int64_t* base_sz
    # Over 3/4 full: re-centring would soon repeat, so grow (amortised O(1) per insert).
    if free_slots < 2 or free_slots * 4 < s.cap:
        return NEED_ROOM
    new_lo = free_slots >> 1
    base_px = s.px - s.lo
    base_sz = s.sz - s.lo
    memmove(base_px + new_lo, s.px, s.n * sizeof(int64_t))
    memmove(base_sz + new_lo, s.sz, s.n * sizeof(int64_t))
    s.px = base_px + new_lo
    s.sz = base_sz + new_lo
    s.lo = new_lo
    return 0


cdef inline void _shift_block(int64_t* dst, const int64_t* src) noexcept nogil:
    # Move BLOCK elements by one slot: a fixed-size copy through a temporary, which the
    # C compiler turns into a few vector loads then stores (no memmove call).
    cdef int64_t t[BLOCK]
    memcpy(t, src, BLOCK * sizeof(int64_t))
    memcpy(dst, t, BLOCK * sizeof(int64_t))


cdef inline int _side_set(SideView* s, int64_t price, int64_t size, bint bid) noexcept nogil:
    """Set one level on one side (size 0 deletes). 0, ABSENT (a delete of a price the
    side does not hold: nothing changed), or NEED_ROOM with s unchanged.

    Inserts and deletes shift the shorter part of the side by one slot. When that part
    has at most BLOCK levels and the array has room around it, a whole BLOCK is shifted
    with a fixed-size copy instead: the extra elements copied are slack (outside the
    used region), so what they hold does not matter.
    """
    cdef int64_t* px = s.px
    cdef int64_t* sz = s.sz
    cdef Py_ssize_t n = s.n
    cdef Py_ssize_t k = _locate(px, n, price, bid)
    cdef Py_ssize_t rest
    if k > 0 and px[k - 1] == price:
        k -= 1
        if size != 0:
            sz[k] = size
            return 0
        rest = n - 1 - k
        if k < rest:
            # The part below is shorter: slide it up one, the region now starts later.
            if k <= BLOCK and s.lo + k >= BLOCK:
                _shift_block(px + k - BLOCK + 1, px + k - BLOCK)
                _shift_block(sz + k - BLOCK + 1, sz + k - BLOCK)
            else:
                _move2(px, sz, 1, 0, k)
            s.px = px + 1
            s.sz = sz + 1
            s.lo += 1
        elif rest <= BLOCK and s.cap - s.lo - k > BLOCK:
            _shift_block(px + k, px + k + 1)
            _shift_block(sz + k, sz + k + 1)
        else:
            _move2(px, sz, k, k + 1, rest)
        s.n = n - 1
        return 0
    if size == 0:
        return ABSENT               # deleting an absent level: a normal no-op (counted)
    rest = n - k
    if k < rest:
        if s.lo == 0:
            if _recentre(s):
                return NEED_ROOM
            px = s.px
            sz = s.sz
        # Slide the shorter lower part down one; the region now starts one earlier.
        if k <= BLOCK and s.lo + k > BLOCK:
            _shift_block(px + k - BLOCK - 1, px + k - BLOCK)
            _shift_block(sz + k - BLOCK - 1, sz + k - BLOCK)
            px -= 1
            sz -= 1
        else:
            px -= 1
            sz -= 1
            _move2(px, sz, 0, 1, k)
        s.px = px
        s.sz = sz
        s.lo -= 1
    else:
        if s.lo + n == s.cap:
            if _recentre(s):
                return NEED_ROOM
            px = s.px
            sz = s.sz
        if rest <= BLOCK and s.cap - s.lo - k > BLOCK:
            _shift_block(px + k + 1, px + k)
            _shift_block(sz + k + 1, sz + k)
        else:
            _move2(px, sz, k + 1, k, rest)
    px[k] = price
    sz[k] = size
    s.n = n + 1
    return 0


cdef inline Py_ssize_t _scan_run(const Delta* d, Py_ssize_t n, const SideView* s, bint bid,
                                 Py_ssize_t* top, Py_ssize_t* below) noexcept nogil:
    """How many of d[0:n] (d[0] valid and on side s) form a run: one side, each change
    valid and strictly worse than the one before it (so its prices are distinct and
    its changes commute: any order gives the in-order book).

    Also counts, without a branch per change, the run's leading changes that land
    among the side's best MERGE_WINDOW levels (*top: sorted, so they are a prefix) and
    its trailing ones below the side's worst level (*below; 0 unless the side has more
    than MERGE_WINDOW levels, so that the two never overlap).
    """
    cdef uint8_t side = d[0].side
    cdef Py_ssize_t j = 1
    cdef int64_t edge, low, prev = d[0].price, p
    cdef Py_ssize_t t, w
    if s.n > MERGE_WINDOW:
        edge = s.px[s.n - MERGE_WINDOW]
        low = s.px[0]
    else:
        # every price is better than edge (an ask at INT64_MAX aside), none worse than low
        edge = -1 if bid else INT64_MAX
        low = edge
    t = _better(prev, edge, bid)
    w = _better(low, prev, bid)
    while j < n:
        p = d[j].price
        if (d[j].side != side) | ((p | d[j].size) < 0) | (not _better(prev, p, bid)):
            break
        t += _better(p, edge, bid)
        w += _better(low, p, bid)
        prev = p
        j += 1
    top[0] = t
    below[0] = w
    return j


cdef inline bint _run_starts(const Delta* d, bint bid) noexcept nogil:
    """d[0:MIN_RUN] share a side and are strictly sorted best first: one test without a
    branch per change, so interleaved sides (no runs) pay no mispredicted loop exit.
    (Validity is _scan_run's check.)"""
    cdef Py_ssize_t j, ok = 1
    for j in range(1, MIN_RUN):
        ok &= (d[j].side == d[0].side) & _better(d[j - 1].price, d[j].price, bid)
    return ok != 0


cdef Merged _merge_top(int64_t* px, int64_t* sz, Py_ssize_t n, Py_ssize_t lo, Py_ssize_t cap,
                       const Delta* c, Py_ssize_t t, bint bid) noexcept nogil:
    """Apply run c[0:t] (best first, distinct prices, all among the best MERGE_WINDOW
    levels, t <= MERGE_WINDOW) in one pass to the side px/sz (n levels, lo of slack
    below, array length cap). Returns the new level count, or -1 with nothing changed
    when there is too little slack (the run then goes one by one). Takes the side by
    value so that the caller's SideView stays in registers.

    The run and the book's levels are merged best first, from the top down, into a
    buffer: each step emits the better of the next level and the next change, with no
    branch on what the change does (an equal price is an update or a delete; a new one
    an insert or an absent delete, counted). It stops at the run's last change: the
    levels below it stay where they are and the buffer is copied back on top of them.
    No search: the run's depth is found by the merge itself.
    """
    cdef int64_t opx[2 * MERGE_WINDOW]
    cdef int64_t osz[2 * MERGE_WINDOW]
    cdef Py_ssize_t i = n - 1, j = 0, w = 2 * MERGE_WINDOW - 1, o
    cdef Py_ssize_t take_a, eq, keep
    cdef int64_t a, cp, cs, mask, gone = 0
    cdef Merged out
    # A pad below the region, worse than every price: once the levels run out the
    # changes go first. (An ask at INT64_MAX could equal it: such a run goes one by one.)
    cdef int64_t pad = -1 if bid else INT64_MAX
    out.n = -1
    out.absent = 0
    if lo == 0 or lo + n + t > cap or (not bid and c[t - 1].price == pad):
        return out
    (px - 1)[0] = pad                       # the slot below the region (lo >= 1)
    while j < t:
        a = px[i]
        cp = c[j].price
        cs = c[j].size
        take_a = _better(a, cp, bid)        # the book's level is better: it goes first
        eq = a == cp
        keep = cs != 0
        # masks, not a conditional: the compiler turns a ?: here back into a branch
        mask = -<int64_t>take_a
        opx[w] = cp ^ ((a ^ cp) & mask)
        osz[w] = cs ^ ((sz[i] ^ cs) & mask)
        w -= take_a | keep
        gone += (take_a | eq | keep) ^ 1
        i -= take_a | eq
        j += take_a ^ 1
    # px[i + 1:n] was merged into opx[w + 1:]; it is replaced by that, ascending.
    o = 2 * MERGE_WINDOW - 1 - w
    memcpy(px + i + 1, opx + w + 1, o * sizeof(int64_t))
    memcpy(sz + i + 1, osz + w + 1, o * sizeof(int64_t))
    out.n = i + 1 + o
    out.absent = gone
    return out


cdef inline int _append_worst(SideView* s, const Delta* c, Py_ssize_t m,
                              int64_t* absent) noexcept nogil:
    """Apply c[0:m], the end of a run: every price worse than the side's worst level,
    best first. Each is an insert (or an absent delete, counted in *absent) below the
    last: no search, no shift. 0, or NEED_ROOM (too little slack below the region)."""
    cdef Py_ssize_t o = 0, q, keep
    cdef int64_t gone = 0
    cdef int64_t* px = s.px
    cdef int64_t* sz = s.sz
    if m > s.lo:
        return NEED_ROOM
    for q in range(m):
        keep = c[q].size != 0
        px[-1 - o] = c[q].price         # an absent delete is written, then overwritten
        sz[-1 - o] = c[q].size
        o += keep
        gone += keep ^ 1
    s.px = px - o
    s.sz = sz - o
    s.lo -= o
    s.n += o
    absent[0] += gone
    return 0


cdef inline Py_ssize_t _apply_run(SideView* s, const Delta* x, Py_ssize_t left, bint bid,
                                  Py_ssize_t* head, Py_ssize_t* tail,
                                  int64_t* absent) noexcept nogil:
    """Apply what can be applied in one pass of the run starting at x (valid; left
    deltas from it). Returns the run's length m; *head and *tail are how many of its
    first and last changes were applied (merged, appended): x[*head:m - *tail] is left
    to the caller, one by one."""
    cdef Py_ssize_t t, w, m
    cdef Merged r
    m = _scan_run(x, left, s, bid, &t, &w)
    if m < MIN_RUN:                     # an invalid delta cut it short: one by one
        t = 0
        w = 0
    if t > MERGE_WINDOW:
        t = MERGE_WINDOW
    if t > 0:
        r = _merge_top(s.px, s.sz, s.n, s.lo, s.cap, x, t, bid)
        if r.n < 0:
            t = 0
        else:
            s.n = r.n
            absent[0] += r.absent
    if w > 0 and _append_worst(s, x + m - w, w, absent) != 0:
        w = 0
    head[0] = t
    tail[0] = w
    return m


cdef int _cmp_entry(const void* a, const void* b) noexcept nogil:
    cdef const Entry* x = <const Entry*>a
    cdef const Entry* y = <const Entry*>b
    if x.price != y.price:
        return -1 if x.price < y.price else 1
    return -1 if x.idx < y.idx else (1 if x.idx > y.idx else 0)


cdef Py_ssize_t _sort_dedupe(Entry* e, Py_ssize_t c) noexcept nogil:
    """Sort ascending by (price, idx); keep the last entry per price, drop zero sizes."""
    cdef Py_ssize_t j, out = 0
    cdef bint asc = True, desc = True
    cdef Entry tmp
    for j in range(1, c):
        if e[j].price <= e[j - 1].price:
            asc = False
        if e[j].price >= e[j - 1].price:
            desc = False
    # Venues send snapshots sorted best first (bids descending): reverse, skip the sort.
    if desc and not asc:
        for j in range(c >> 1):
            tmp = e[j]
            e[j] = e[c - 1 - j]
            e[c - 1 - j] = tmp
    elif not asc:
        qsort(e, c, sizeof(Entry), _cmp_entry)
    for j in range(c):
        if j + 1 < c and e[j + 1].price == e[j].price:
            continue
        if e[j].size == 0:
            continue
        e[out] = e[j]
        out += 1
    return out


cdef int _bad_level(uint8_t side, int64_t price, int64_t size) except -1:
    if side > SIDE_ASK:
        raise ValueError(f"side must be {SIDE_BID} (bid) or {SIDE_ASK} (ask), got {side}")
    if price < 0:
        raise ValueError(f"negative price {price}")
    raise ValueError(f"negative size {size} at price {price}")


cdef inline void _get_sides(L2Book b, SideView* bids, SideView* asks) noexcept:
    bids.px = b.bid_px
    bids.sz = b.bid_sz
    bids.n = b.n_bids
    bids.lo = b.bid_lo
    bids.cap = b.cap_bids
    asks.px = b.ask_px
    asks.sz = b.ask_sz
    asks.n = b.n_asks
    asks.lo = b.ask_lo
    asks.cap = b.cap_asks


cdef inline void _put_sides(L2Book b, const SideView* bids, const SideView* asks) noexcept:
    b.bid_px = bids.px
    b.bid_sz = bids.sz
    b.n_bids = bids.n
    b.bid_lo = bids.lo
    b.ask_px = asks.px
    b.ask_sz = asks.sz
    b.n_asks = asks.n
    b.ask_lo = asks.lo


cdef inline int64_t* _data(object arr):
    return <int64_t*>cnp.PyArray_DATA(<cnp.ndarray>arr)


# ---------------------------------------------------------------- the book


cdef class L2Book:
    """Exact L2 order book: int64 price ticks and size lots, best levels first on read.

    ``L2Book(price_decimals, size_decimals, capacity=1024)``: prices are stored as
    ``value * 10**price_decimals`` and sizes as ``value * 10**size_decimals``;
    ``capacity`` is the initial number of levels per side (arrays grow as needed,
    levels are never dropped except by :meth:`truncate`).
    """

    def __cinit__(self, int price_decimals, int size_decimals, Py_ssize_t capacity=1024):
        if not 0 <= price_decimals <= MAX_DECIMALS:
            raise ValueError(f"price_decimals must be in 0..{MAX_DECIMALS}, got {price_decimals}")
        if not 0 <= size_decimals <= MAX_DECIMALS:
            raise ValueError(f"size_decimals must be in 0..{MAX_DECIMALS}, got {size_decimals}")
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        if capacity < MIN_CAPACITY:
            capacity = MIN_CAPACITY
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self._bid_px_arr = np.empty(capacity, dtype=np.int64)
        self._bid_sz_arr = np.empty(capacity, dtype=np.int64)
        self._ask_px_arr = np.empty(capacity, dtype=np.int64)
        self._ask_sz_arr = np.empty(capacity, dtype=np.int64)
        self.cap_bids = capacity
        self.cap_asks = capacity
        self.bid_px = _data(self._bid_px_arr)
        self.bid_sz = _data(self._bid_sz_arr)
        self.ask_px = _data(self._ask_px_arr)
        self.ask_sz = _data(self._ask_sz_arr)
        self.bid_lo = 0
        self.ask_lo = 0
        self.n_bids = 0
        self.n_asks = 0
        self.clear_levels()

    # ------------------------------------------------------------ cdef contract

    cdef int _grow(self, uint8_t side, Py_ssize_t need) except -1:
        cdef Py_ssize_t cap = self.cap_bids if side == SIDE_BID else self.cap_asks
        cdef Py_ssize_t n = self.n_bids if side == SIDE_BID else self.n_asks
        cdef Py_ssize_t new_cap = cap * 2
        cdef Py_ssize_t lo
        cdef int64_t* px
        cdef int64_t* sz
        # Keep the 3/4-full growth rule true after growing, with slack on both ends.
        while new_cap < MIN_CAPACITY or new_cap * 3 < need * 4 + 8:
            new_cap *= 2
        px_arr = np.empty(new_cap, dtype=np.int64)
        sz_arr = np.empty(new_cap, dtype=np.int64)
        px = _data(px_arr)
        sz = _data(sz_arr)
        lo = (new_cap - n) >> 1
        if side == SIDE_BID:
            memcpy(px + lo, self.bid_px, n * sizeof(int64_t))
            memcpy(sz + lo, self.bid_sz, n * sizeof(int64_t))
            self._bid_px_arr = px_arr
            self._bid_sz_arr = sz_arr
            self.bid_px = px + lo
            self.bid_sz = sz + lo
            self.bid_lo = lo
            self.cap_bids = new_cap
        else:
            memcpy(px + lo, self.ask_px, n * sizeof(int64_t))
            memcpy(sz + lo, self.ask_sz, n * sizeof(int64_t))
            self._ask_px_arr = px_arr
            self._ask_sz_arr = sz_arr
            self.ask_px = px + lo
            self.ask_sz = sz + lo
            self.ask_lo = lo
            self.cap_asks = new_cap
        return 0

    cdef int apply_level(self, uint8_t side, int64_t price, int64_t size) except -1:
        cdef Delta d
        d.side = side
        d.price = price
        d.size = size
        return self.apply_deltas(&d, 1)

    cdef int apply_deltas(self, const Delta* d, Py_ssize_t n) except -1:
        cdef SideView bids, asks
        cdef const Delta* x
        cdef Py_ssize_t i = 0, m, t, w, mid_end = 0, run_end = 0
        cdef bint bid
        cdef int r
        cdef int64_t absent = 0
        _get_sides(self, &bids, &asks)
        while True:
            if i == mid_end:
                i = run_end                 # a run's merged / appended end: done
            if i >= n:
                break
            x = &d[i]
            if (x.size | x.price) < 0 or x.side > SIDE_ASK:
                _put_sides(self, &bids, &asks)
                self.absent_deletes += absent
                return _bad_level(x.side, x.price, x.size)
            bid = x.side == SIDE_BID
            if i >= run_end and n - i >= MIN_RUN and _MERGE_RUNS and _run_starts(x, bid):
                # A sorted run d[i:run_end] (docs/performance.md, "Book apply"): its
                # best part merged in one pass, its part below the book appended;
                # d[i:mid_end] is what is left, to go one by one below.
                if bid:
                    m = _apply_run(&bids, x, n - i, True, &t, &w, &absent)
                else:
                    m = _apply_run(&asks, x, n - i, False, &t, &w, &absent)
                run_end = i + m
                mid_end = run_end - w
                i += t
                continue
            if bid:
                r = _side_set(&bids, x.price, x.size, True)
            else:
                r = _side_set(&asks, x.price, x.size, False)
            if r == ABSENT:
                absent += 1
            elif r != 0:
                # Cold: grow that side (Python allocation), then retry the same delta.
                _put_sides(self, &bids, &asks)
                self._grow(x.side, (bids.n if bid else asks.n) + 1)
                _get_sides(self, &bids, &asks)
                continue
            i += 1
        _put_sides(self, &bids, &asks)
        self.absent_deletes += absent
        return 0

    cdef int load_deltas(self, const Delta* d, Py_ssize_t n) except -1:
        cdef Py_ssize_t i, j, nb = 0, mb, ma
        cdef Entry* tmp
        cdef Entry* e
        for i in range(n):
            if (d[i].size | d[i].price) < 0 or d[i].side > SIDE_ASK:
                return _bad_level(d[i].side, d[i].price, d[i].size)
            if d[i].side == SIDE_BID:
                nb += 1
        tmp = <Entry*>malloc((n if n > 0 else 1) * sizeof(Entry))
        if tmp == NULL:
            raise MemoryError()
        try:
            # Bids fill tmp from the front, asks from nb on; idx keeps arrival order.
            j = 0
            e = tmp + nb
            for i in range(n):
                if d[i].side == SIDE_BID:
                    tmp[j].price = d[i].price
                    tmp[j].size = d[i].size
                    tmp[j].idx = i
                    j += 1
                else:
                    e[i - j].price = d[i].price
                    e[i - j].size = d[i].size
                    e[i - j].idx = i
            mb = _sort_dedupe(tmp, nb)
            ma = _sort_dedupe(e, n - nb)
            self.clear_levels()
            if mb * 4 > self.cap_bids * 3:
                self._grow(SIDE_BID, mb)
            if ma * 4 > self.cap_asks * 3:
                self._grow(SIDE_ASK, ma)
            # Centre each side in its array: slack for inserts at either end.
            self.bid_px -= self.bid_lo
            self.bid_sz -= self.bid_lo
            self.bid_lo = (self.cap_bids - mb) >> 1
            self.bid_px += self.bid_lo
            self.bid_sz += self.bid_lo
            for j in range(mb):             # ascending: best bid last
                self.bid_px[j] = tmp[j].price
                self.bid_sz[j] = tmp[j].size
            self.n_bids = mb
            self.ask_px -= self.ask_lo
            self.ask_sz -= self.ask_lo
            self.ask_lo = (self.cap_asks - ma) >> 1
            self.ask_px += self.ask_lo
            self.ask_sz += self.ask_lo
            for j in range(ma):             # descending: best ask last
                self.ask_px[j] = e[ma - 1 - j].price
                self.ask_sz[j] = e[ma - 1 - j].size
            self.n_asks = ma
        finally:
            free(tmp)
        return 0

    cdef void truncate_levels(self, Py_ssize_t depth) noexcept nogil:
        cdef Py_ssize_t drop
        if depth < 0:
            depth = 0
        # The worst levels are at the start of the region: dropping them is a pointer move.
        if self.n_bids > depth:
            drop = self.n_bids - depth
            self.bid_px += drop
            self.bid_sz += drop
            self.bid_lo += drop
            self.n_bids = depth
        if self.n_asks > depth:
            drop = self.n_asks - depth
            self.ask_px += drop
            self.ask_sz += drop
            self.ask_lo += drop
            self.n_asks = depth

    cdef void clear_levels(self) noexcept nogil:
        cdef Py_ssize_t lo
        lo = self.cap_bids >> 1
        self.bid_px += lo - self.bid_lo
        self.bid_sz += lo - self.bid_lo
        self.bid_lo = lo
        self.n_bids = 0
        lo = self.cap_asks >> 1
        self.ask_px += lo - self.ask_lo
        self.ask_sz += lo - self.ask_lo
        self.ask_lo = lo
        self.n_asks = 0

    cdef bint is_crossed_c(self) noexcept nogil:
        return (self.n_bids > 0 and self.n_asks > 0
                and self.bid_px[self.n_bids - 1] >= self.ask_px[self.n_asks - 1])

    # ------------------------------------------------------------ Python API: updates

    def apply(self, int side, int64_t price, int64_t size):
        """Set one level: ``size`` lots at ``price`` ticks on ``side`` (BID/ASK).

        ``size == 0`` deletes the level (a no-op if absent). Raises ValueError for an
        unknown side or a negative price or size.
        """
        if side != SIDE_BID and side != SIDE_ASK:
            raise ValueError(f"side must be {SIDE_BID} (bid) or {SIDE_ASK} (ask), got {side}")
        if price < 0:
            raise ValueError(f"negative price {price}")
        if size < 0:
            raise ValueError(f"negative size {size} at price {price}")
        self.apply_level(<uint8_t>side, price, size)

    def apply_many(self, sides, prices, sizes):
        """Apply changes in order from three equal-length integer arrays.

        ``sides[i]`` is BID or ASK, ``prices[i]`` ticks, ``sizes[i]`` lots (0 deletes).
        All rows are validated before any is applied (ValueError on a bad row), then
        they go through the compiled ``apply_deltas`` path in chunks.
        """
        cdef const int64_t[::1] s = np.ascontiguousarray(sides, dtype=np.int64)
        cdef const int64_t[::1] p = np.ascontiguousarray(prices, dtype=np.int64)
        cdef const int64_t[::1] q = np.ascontiguousarray(sizes, dtype=np.int64)
        cdef Py_ssize_t n = s.shape[0], i, j, m
        cdef Delta buf[APPLY_CHUNK]
        if p.shape[0] != n or q.shape[0] != n:
            raise ValueError(
                f"length mismatch: sides {n}, prices {p.shape[0]}, sizes {q.shape[0]}")
        for i in range(n):
            if (s[i] != SIDE_BID and s[i] != SIDE_ASK) or p[i] < 0 or q[i] < 0:
                raise ValueError(
                    f"bad row {i}: side={s[i]} price={p[i]} size={q[i]} "
                    "(side must be 0/1, price and size >= 0)")
        i = 0
        while i < n:
            m = n - i if n - i < APPLY_CHUNK else APPLY_CHUNK
            for j in range(m):
                buf[j].side = <uint8_t>s[i + j]
                buf[j].price = p[i + j]
                buf[j].size = q[i + j]
            self.apply_deltas(buf, m)
            i += m

    def load(self, bids, asks):
        """Replace the book with a snapshot: ``bids``/``asks`` are ``(price, size)`` ints.

        Levels may come in any order. The result equals applying them in order to an
        empty book: for a duplicated price the last entry wins, and a zero size leaves
        the level absent. Raises ValueError (book unchanged) on a negative value.
        """
        cdef list b = list(bids)
        cdef list a = list(asks)
        cdef Py_ssize_t nb = len(b), n = nb + len(a), i
        cdef Delta* d = <Delta*>malloc((n if n > 0 else 1) * sizeof(Delta))
        if d == NULL:
            raise MemoryError()
        try:
            for i in range(n):
                price, size = b[i] if i < nb else a[i - nb]
                d[i].side = SIDE_BID if i < nb else SIDE_ASK
                d[i].price = price
                d[i].size = size
                if d[i].price < 0 or d[i].size < 0:
                    raise ValueError(
                        f"negative level ({d[i].price}, {d[i].size}) in "
                        f"{'bids' if i < nb else 'asks'}[{i if i < nb else i - nb}]")
            self.load_deltas(d, n)
        finally:
            free(d)

    def truncate(self, Py_ssize_t depth):
        """Keep at most ``depth`` best levels on each side (drop the worst ones)."""
        if depth < 0:
            raise ValueError(f"depth must be >= 0, got {depth}")
        self.truncate_levels(depth)

    def clear(self):
        """Remove every level from both sides (capacity is kept)."""
        self.clear_levels()

    # ------------------------------------------------------------ Python API: reads

    def bids(self, n=None):
        """Best ``n`` bids (all if None), best first: float64 array shape (k, 2) [price, size]."""
        return _levels_float(self, SIDE_BID, n)

    def asks(self, n=None):
        """Best ``n`` asks (all if None), best first: float64 array shape (k, 2) [price, size]."""
        return _levels_float(self, SIDE_ASK, n)

    def bids_int(self, n=None):
        """Best ``n`` bids as an int64 copy shape (k, 2) [ticks, lots], best first."""
        return _levels_int(self, SIDE_BID, n)

    def asks_int(self, n=None):
        """Best ``n`` asks as an int64 copy shape (k, 2) [ticks, lots], best first."""
        return _levels_int(self, SIDE_ASK, n)

    def best_bid(self):
        """``(price, size)`` floats of the best bid, or None when there are no bids."""
        if self.n_bids == 0:
            return None
        return (<double>self.bid_px[self.n_bids - 1] / _POW10[self.price_decimals],
                <double>self.bid_sz[self.n_bids - 1] / _POW10[self.size_decimals])

    def best_ask(self):
        """``(price, size)`` floats of the best ask, or None when there are no asks."""
        if self.n_asks == 0:
            return None
        return (<double>self.ask_px[self.n_asks - 1] / _POW10[self.price_decimals],
                <double>self.ask_sz[self.n_asks - 1] / _POW10[self.size_decimals])

    def best_bid_int(self):
        """``(ticks, lots)`` ints of the best bid, or None when there are no bids."""
        if self.n_bids == 0:
            return None
        return (self.bid_px[self.n_bids - 1], self.bid_sz[self.n_bids - 1])

    def best_ask_int(self):
        """``(ticks, lots)`` ints of the best ask, or None when there are no asks."""
        if self.n_asks == 0:
            return None
        return (self.ask_px[self.n_asks - 1], self.ask_sz[self.n_asks - 1])

    @property
    def bid_depth(self):
        """Number of bid levels."""
        return self.n_bids

    @property
    def ask_depth(self):
        """Number of ask levels."""
        return self.n_asks

    def is_crossed(self):
        """True when both sides are non-empty and best bid >= best ask (crossed or locked)."""
        return self.is_crossed_c()

    def _check_invariants(self):
        """Debug aid for tests: raise AssertionError if the internal layout is broken."""
        cdef Py_ssize_t j
        assert 0 <= self.bid_lo and self.bid_lo + self.n_bids <= self.cap_bids
        assert 0 <= self.ask_lo and self.ask_lo + self.n_asks <= self.cap_asks
        assert self.bid_px == _data(self._bid_px_arr) + self.bid_lo
        assert self.bid_sz == _data(self._bid_sz_arr) + self.bid_lo
        assert self.ask_px == _data(self._ask_px_arr) + self.ask_lo
        assert self.ask_sz == _data(self._ask_sz_arr) + self.ask_lo
        assert self.cap_bids == len(self._bid_px_arr) == len(self._bid_sz_arr)
        assert self.cap_asks == len(self._ask_px_arr) == len(self._ask_sz_arr)
        for j in range(1, self.n_bids):
            assert self.bid_px[j - 1] < self.bid_px[j], "bids not strictly ascending"
        for j in range(1, self.n_asks):
            assert self.ask_px[j - 1] > self.ask_px[j], "asks not strictly descending"
        for j in range(self.n_bids):
            assert self.bid_sz[j] > 0, "empty bid level stored"
        for j in range(self.n_asks):
            assert self.ask_sz[j] > 0, "empty ask level stored"

    def __repr__(self):
        return (f"L2Book(price_decimals={self.price_decimals}, "
                f"size_decimals={self.size_decimals}, bids={self.n_bids}, "
                f"asks={self.n_asks}, best_bid={self.best_bid_int()}, "
                f"best_ask={self.best_ask_int()})")


# ---------------------------------------------------------------- read helpers


cdef Py_ssize_t _count(L2Book b, uint8_t side, object n) except -1:
    cdef Py_ssize_t have = b.n_bids if side == SIDE_BID else b.n_asks
    cdef Py_ssize_t want
    if n is None:
        return have
    want = n
    if want < 0:
        raise ValueError(f"n must be >= 0 or None, got {n}")
    return want if want < have else have


cdef object _levels_int(L2Book b, uint8_t side, object n):
    cdef Py_ssize_t k = _count(b, side, n), j, top
    cdef const int64_t* px = b.bid_px if side == SIDE_BID else b.ask_px
    cdef const int64_t* sz = b.bid_sz if side == SIDE_BID else b.ask_sz
    out = np.empty((k, 2), dtype=np.int64)
    cdef int64_t[:, ::1] o = out
    top = (b.n_bids if side == SIDE_BID else b.n_asks) - 1
    for j in range(k):
        o[j, 0] = px[top - j]
        o[j, 1] = sz[top - j]
    return out


cdef object _levels_float(L2Book b, uint8_t side, object n):
    cdef Py_ssize_t k = _count(b, side, n), j, top
    cdef const int64_t* px = b.bid_px if side == SIDE_BID else b.ask_px
    cdef const int64_t* sz = b.bid_sz if side == SIDE_BID else b.ask_sz
    cdef double ps = _POW10[b.price_decimals]
    cdef double ss = _POW10[b.size_decimals]
    out = np.empty((k, 2), dtype=np.float64)
    cdef double[:, ::1] o = out
    top = (b.n_bids if side == SIDE_BID else b.n_asks) - 1
    for j in range(k):
        o[j, 0] = <double>px[top - j] / ps
        o[j, 1] = <double>sz[top - j] / ss
    return out
