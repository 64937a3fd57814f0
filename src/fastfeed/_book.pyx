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

Hot path (``apply_deltas``, tuned on ``benches/book.py binance_realistic``): a
change is located by a branch-free count over the best 8 levels, then over the 64
below them (8 block heads, then one block), then the worst 8, then a branch-free
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


ctypedef struct Entry:
    int64_t price
    int64_t size
    Py_ssize_t idx      # position in the snapshot: among duplicates the last wins


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


cdef inline Py_ssize_t _run_length(const Delta* d, Py_ssize_t n) noexcept nogil:
    """How many of d[0:n] (d[0] valid, n >= 1) form a run: one side, each change valid
    and strictly worse than the one before it (so every price in the run is distinct
    and the run's changes commute: any order gives the in-order book)."""
    cdef uint8_t side = d[0].side
    cdef Py_ssize_t j = 1
    if side == SIDE_BID:
        while (j < n and d[j].side == side and (d[j].price | d[j].size) >= 0
               and d[j].price < d[j - 1].price):
            j += 1
    else:
        while (j < n and d[j].side == side and (d[j].price | d[j].size) >= 0
               and d[j].price > d[j - 1].price):
            j += 1
    return j


cdef inline Py_ssize_t _top_cluster(const SideView* s, const Delta* c, Py_ssize_t m,
                                    bint bid) noexcept nogil:
    """How many of run c[0:m] (best first) land among the side's best MERGE_WINDOW
    levels, at most MERGE_WINDOW (the rest of the run is applied one by one)."""
    cdef Py_ssize_t t = 0
    cdef int64_t edge
    if s.n <= MERGE_WINDOW:
        return m if m < MERGE_WINDOW else MERGE_WINDOW
    edge = s.px[s.n - MERGE_WINDOW]
    while t < m and t < MERGE_WINDOW and _better(c[t].price, edge, bid):
        t += 1
    return t


cdef int _merge_top(SideView* s, const Delta* c, Py_ssize_t t, bint bid,
                    int64_t* absent) noexcept nogil:
    """Apply run c[0:t] (best first, distinct prices, all among the best MERGE_WINDOW
    levels, t <= MERGE_WINDOW) in one pass; 0, or NEED_ROOM with nothing changed.

    The levels from the run's worst price to the top are copied aside and merged with
    the run, worst first, back into place: each step emits the worse of the next level
    and the next change, with no branch on what the change does (an equal price is an
    update or a delete; a new one an insert or an absent delete, counted in *absent).
    The output may end up to t slots above the old top, so the slack is checked first.
    """
    cdef int64_t tpx[MERGE_WINDOW + 1]
    cdef int64_t tsz[MERGE_WINDOW + 1]
    cdef int64_t cpx[MERGE_WINDOW + 1]
    cdef int64_t csz[MERGE_WINDOW + 1]
    cdef int64_t* px = s.px
    cdef int64_t* sz = s.sz
    cdef Py_ssize_t n = s.n, k0, r, q, i = 0, j = 0, o, steps
    cdef Py_ssize_t take_a, eq, keep
    cdef int64_t a, cp, cs, mask, gone = 0
    # A pad strictly better than every price ends each list: the other one drains.
    cdef int64_t pad = INT64_MAX if bid else -1
    if s.lo + n + t > s.cap or (bid and (c[0].price == pad or px[n - 1] == pad)):
        return NEED_ROOM            # no slack (or a bid at INT64_MAX): one by one instead
    k0 = _locate(px, n, c[t - 1].price, bid)
    if k0 > 0 and px[k0 - 1] == c[t - 1].price:
        k0 -= 1                             # the worst change's own level is merged too
    r = n - k0                              # <= MERGE_WINDOW: c[t - 1] is inside it
    memcpy(tpx, px + k0, r * sizeof(int64_t))
    memcpy(tsz, sz + k0, r * sizeof(int64_t))
    for q in range(t):                      # the run worst first, like the levels
        cpx[q] = c[t - 1 - q].price
        csz[q] = c[t - 1 - q].size
    tpx[r] = cpx[t] = pad
    tsz[r] = csz[t] = 0
    o = k0
    # Each step takes one level or one change or both (an equal price): i + j reaches
    # r + t exactly when both lists are used up. Bitwise logic, no branch but the exit.
    steps = r + t
    while i + j < steps:
        a = tpx[i]
        cp = cpx[j]
        cs = csz[j]
        take_a = _better(cp, a, bid)        # the book's level is worse: it goes first
        eq = a == cp
        keep = cs != 0
        # masks, not a conditional: the compiler turns a ?: here back into a branch
        mask = -<int64_t>take_a
        px[o] = cp ^ ((a ^ cp) & mask)
        sz[o] = cs ^ ((tsz[i] ^ cs) & mask)
        o += take_a | keep
        gone += (take_a | eq | keep) ^ 1
        i += take_a | eq
        j += take_a ^ 1
    s.n = o
    absent[0] += gone
    return 0


cdef inline Py_ssize_t _append_worst(SideView* s, const Delta* c, Py_ssize_t m, bint bid,
                                     int64_t* absent) noexcept nogil:
    """Apply the end of run c[0:m] (best first) that lies below the side's worst level:
    each is an insert (or an absent delete, counted in *absent) under the last, so
    no search and no shift. Returns how many were applied: 0 if none, or if the slack
    below the region is too small (they then go one by one)."""
    cdef Py_ssize_t u = m, o = 0, q, keep
    cdef int64_t gone = 0
    cdef int64_t* px = s.px
    cdef int64_t* sz = s.sz
    if s.n == 0:
        return 0
    while u > 0 and _better(px[0], c[u - 1].price, bid):
        u -= 1
    if m - u > s.lo:
        return 0
    for q in range(u, m):
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
    return m - u


cdef inline int _set_one(L2Book b, SideView* bids, SideView* asks, const Delta* x,
                         int64_t* absent) except -1:
    """Apply one valid change to its side; grow that side (cold, the GIL) when needed."""
    cdef int r
    while True:
        if x.side == SIDE_BID:
            r = _side_set(bids, x.price, x.size, True)
        else:
            r = _side_set(asks, x.price, x.size, False)
        if r != NEED_ROOM:
            absent[0] += r == ABSENT
            return 0
        _put_sides(b, bids, asks)
        b._grow(x.side, (bids.n if x.side == SIDE_BID else asks.n) + 1)
        _get_sides(b, bids, asks)


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
        cdef SideView* sv
        cdef const Delta* x
        cdef Py_ssize_t i = 0, m, t, u, q
        cdef bint bid
        cdef int64_t absent = 0
        _get_sides(self, &bids, &asks)
        while i < n:
            x = &d[i]
            if (x.size | x.price) < 0 or x.side > SIDE_ASK:
                _put_sides(self, &bids, &asks)
                self.absent_deletes += absent
                return _bad_level(x.side, x.price, x.size)
            # d[i:i + m] is valid; it is a sorted run when m >= MIN_RUN: its best part
            # is merged in one pass, its part below the book appended, the rest (if
            # any) goes one by one (docs/performance.md, "Book apply").
            m = _run_length(x, n - i)
            t = 0
            u = m
            if m >= MIN_RUN:
                bid = x.side == SIDE_BID
                sv = &bids if bid else &asks
                t = _top_cluster(sv, x, m, bid)
                if t > 0 and _merge_top(sv, x, t, bid, &absent) != 0:
                    t = 0
                u = m - _append_worst(sv, x + t, m - t, bid, &absent)
            for q in range(i + t, i + u):
                _set_one(self, &bids, &asks, &d[q], &absent)
            i += m
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
