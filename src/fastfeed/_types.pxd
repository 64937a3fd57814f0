# cython: language_level=3
"""C types shared by the decoders, the book core, the sequencer and the listener.

This header is the contract between the compiled modules: a decoder fills a
``DeltaBatch`` straight from a frame payload; the listener resolves each ``Segment``
to a book, converts the level strings at that book's scale and applies them.

Decoding is two-phase on purpose: JSON field order is not guaranteed, so the symbol
that tells us the instrument's scale may come after the levels. Phase 1 (the decoder)
records where each price/size string lives in the payload; phase 2
(``_parse.convert_segment``) turns them into int64 ticks/lots once the scale is known.
Pointers in a batch point into the payload and are valid only during the callback.

Trade decoders use the same batch: one Delta (price and size text, converted by the same
phase 2) plus one ``Trade`` (id, time, taker side, stream) per trade, message kind
``MSG_TRADES`` (docs/venues.md, "Trades"). Quote decoders (``MSG_BBO``, ``MSG_TICKER``)
add one ``Quote`` per segment (docs/venues.md, "Best bid/offer" and "Tickers"). Candle
decoders add one ``Candle`` per Delta, message kind ``MSG_CANDLES`` (docs/venues.md, "Candles").
"""

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t


cdef enum Side:
    SIDE_BID = 0
    SIDE_ASK = 1


cdef enum MsgKind:
    MSG_NONE = 0            # nothing decoded yet
    MSG_DEPTH = 1           # incremental book update(s)
    MSG_SNAPSHOT = 2        # full book (REST body or in-band snapshot)
    MSG_HEARTBEAT = 3       # keep-alive carrying a sequence number (Coinbase)
    MSG_CONTROL = 4         # subscribe acks, results, errors: not book data
    MSG_IGNORED = 5         # a known message type fastfeed does not consume
    MSG_VENUE_ERROR = 6     # the venue reports an error (Coinbase type error, Binance code)
    MSG_TRADES = 7          # trades (a trade decoder): one Trade per level, see below
    MSG_BBO = 8             # best bid/offer (a bbo decoder): one Quote per segment, below
    MSG_TICKER = 9          # 24 h ticker (a ticker decoder): one Quote per segment, below
    MSG_CANDLES = 10        # candles (a candle decoder): one Candle per level, see below


cdef enum SegKind:
    SEG_UPDATE = 0
    SEG_SNAPSHOT = 1        # replaces the book (Coinbase in-band snapshot)


cdef enum DecodeError:
    DEC_OK = 0
    DEC_MALFORMED_JSON = 1
    DEC_MISSING_FIELD = 2
    DEC_WRONG_TYPE = 3
    DEC_BAD_DECIMAL = 4     # see DecimalError for the precise reason
    DEC_TOO_MANY_LEVELS = 5
    DEC_UNKNOWN_MESSAGE = 6
    DEC_BAD_SIDE = 7
    DEC_TRUNCATED = 8
    DEC_BAD_TIMESTAMP = 9
    DEC_OVERFLOW = 10
    DEC_ESCAPED_STRING = 11     # an escape in a symbol (symbols must be plain)
    DEC_BAD_UTF8 = 12           # a symbol or type that is not valid UTF-8
    DEC_MISPLACED_FIELD = 13    # a level array where this message type has none
    DEC_ID_ORDER = 14           # Binance: an event's first update id after its last (U > u)


cdef enum DecimalError:
    DECIMAL_OK = 0
    DECIMAL_EMPTY = 1
    DECIMAL_SIGN = 2            # a sign where none is allowed
    DECIMAL_NON_DIGIT = 3
    DECIMAL_TOO_PRECISE = 4     # a non-zero digit beyond the scale
    DECIMAL_OVERFLOW = 5        # does not fit int64 at the scale
    DECIMAL_EXPONENT = 6        # 1e-5 style: not supported


cdef enum RejectReason:
    # Why the book core refused a message: a DecodeError code (1..REJECT_N_DECODE_CODES-1;
    # DEC_OK is never a reason) or one of the book core's own reasons below. Reject counters
    # are arrays of REJECT_N_REASONS indexed by reason; names and messages for every reason
    # are in one table, _parse's parse/errors.pxi (reason_name, REJECT_REASONS).
    REJECT_N_DECODE_CODES = 16      # DecodeError codes are below this (room to grow)
    REJECT_BUFFER_OVERFLOW = 16     # live events buffered during a sync exceeded the bound
    REJECT_VENUE_ERROR = 17         # the venue sent an error message
    REJECT_BEFORE_SNAPSHOT = 18     # an in-band update arrived before the book's snapshot
    REJECT_N_REASONS = 19           # counter array size


ctypedef struct Delta:
    # Phase 1: where the strings are (pointer into the payload, length).
    const char* price_ptr
    const char* size_ptr
    int32_t price_len
    int32_t size_len
    # Phase 2: exact integers at the book's scale.
    int64_t price
    int64_t size
    uint8_t side                # Side


ctypedef struct Segment:
    # One book's share of a message (Coinbase envelopes carry several products).
    const char* symbol_ptr      # into the payload; NULL when the message names none
    int32_t symbol_len
    uint8_t kind                # SegKind
    Py_ssize_t start            # first Delta index in DeltaBatch.levels
    Py_ssize_t count
    int64_t event_time_ns       # per-event exchange time when the venue gives one, else 0


cdef enum TradeStream:
    # Which trade stream a trade came from (its id space); names in _parse TRADE_STREAMS,
    # the keys of Venue.trade_streams (docs/venues.md, "Trades").
    TRADE_STREAM_NONE = 0
    TRADE_STREAM_TRADE = 1          # Binance <symbol>@trade: id t
    TRADE_STREAM_AGG = 2            # Binance <symbol>@aggTrade: id a, fills f..l
    TRADE_STREAM_MARKET_TRADES = 3  # Coinbase Advanced Trade market_trades
    TRADE_STREAM_MATCHES = 4        # Coinbase Exchange matches (match, last_match)
    TRADE_STREAM_PUBLIC_TRADE = 5   # Bybit publicTrade (spot and linear)
    TRADE_STREAM_OKX_TRADES = 6     # OKX trades
    TRADE_STREAM_KRAKEN = 7         # Kraken v2 trade


ctypedef struct Trade:
    # A trade decoder's extras for the Delta at the same index (that Delta holds the price
    # and size text, converted by convert_segment like a level; its side is unused).
    int64_t trade_id            # the venue's trade id; -1 when it has none (AT UUIDs)
    int64_t first_id            # Binance aggTrade f (first fill id), else -1
    int64_t last_id             # Binance aggTrade l (last fill id), else -1
    int64_t time_ns             # execution time (Binance T, Coinbase time), ns since the epoch
    const char* symbol_ptr      # into the payload (segments are built from runs of it)
    int32_t symbol_len
    int8_t side                 # +1 the taker bought, -1 the taker sold, 0 unknown
    uint8_t stream              # TradeStream


# Quote decoders (MSG_BBO, MSG_TICKER; docs/venues.md, "Best bid/offer" and "Tickers"):
# one Quote per segment, quotes[i] with segs[i]. A BBO segment holds two Deltas (bid, then
# ask: price and size text, converted by convert_segment like levels); a ticker segment
# none: its decimals are the texts below, converted by the quote core (_quotes).
cdef enum TickerText:
    TK_LAST = 0                 # last trade price (price scale)
    TK_LAST_SIZE = 1            # last trade size (size scale)
    TK_OPEN = 2                 # 24 h open (price scale)
    TK_HIGH = 3
    TK_LOW = 4
    TK_CHANGE = 5               # 24 h price change, signed (price scale)
    TK_VOLUME = 6               # base volume (scale-free: mantissa and decimals)
    TK_QUOTE_VOLUME = 7         # quote volume (scale-free)
    TK_N_TEXTS = 8


ctypedef struct Quote:
    int64_t update_id           # Binance bookTicker u, Coinbase Exchange sequence; else -1
    int64_t time_ns             # exchange time (Binance E, Coinbase time); 0: none
    int64_t open_ns             # ticker window open (Binance O); 0: none
    int64_t close_ns            # ticker window close (Binance C); 0: none
    int64_t first_trade_id      # ticker: Binance F; else -1
    int64_t last_trade_id       # ticker: Binance L, Coinbase Exchange trade_id; else -1
    int64_t trade_count         # ticker: Binance n; else -1
    const char* text[8]         # ticker decimals by TickerText (NULL: the venue has none)
    int32_t text_len[8]
    uint8_t no_sizes            # BBO without sizes (the sizes' Delta text is a dummy "0")


ctypedef struct Candle:
    # A candle decoder's extras for the Delta at the same index (docs/venues.md, "Candles"):
    # the text of every value (pointers into the payload; the Delta's price/size text is
    # the close and the base volume, for generic tools; the candle core converts them all)
    # and the integers the venue gives. quote_ptr NULL: the venue gives no quote volume.
    const char* open_ptr
    const char* high_ptr
    const char* low_ptr
    const char* close_ptr
    const char* volume_ptr      # base volume
    const char* quote_ptr       # quote volume (Binance q), NULL when absent
    const char* interval_ptr    # the venue's interval name (Binance k.i), NULL when implied
    const char* symbol_ptr
    int32_t open_len
    int32_t high_len
    int32_t low_len
    int32_t close_len
    int32_t volume_len
    int32_t quote_len
    int32_t interval_len
    int32_t symbol_len
    int64_t open_ns             # bucket start, ns since the epoch
    int64_t close_ns            # bucket end, exclusive (Binance T + 1 ms; Coinbase start + 5 min)
    int64_t trades              # trade count (Binance n), -1 when absent
    int64_t first_id            # first / last trade id (Binance f / L), -1 when absent
    int64_t last_id
    int8_t closed               # 1 final (Binance k.x true), 0 not final, -1 unknown (Coinbase)


ctypedef struct Grid:
    # One book's scale for prices (or sizes) and the instrument's grid on it
    # (docs/venues.md#instrument-scales). A value is an int64 count of 10**-decimals units;
    # it is on the grid when it is a multiple of `step` units (the tick or step size). A
    # value off the grid is kept exactly and counted (convert_segment), never rejected.
    # grid_decimals: a value with at most this many significant fraction digits is on the
    # grid; -1 when the increment is not 1, 0.1, 0.01, ... (0.5, 25, 10): then
    # value % step decides.
    int32_t decimals            # the book's scale
    int32_t grid_decimals
    int64_t step                # the increment in units (1: every value is on the grid)


ctypedef struct DeltaBatch:
    Delta* levels
    Py_ssize_t n_levels
    Py_ssize_t cap_levels
    Segment* segs
    Py_ssize_t n_segs
    Py_ssize_t cap_segs
    uint8_t msg_kind            # MsgKind
    # Venue sequence fields; -1 when absent.
    # Binance spot: first=U, last=u; USD-M adds prev=pu; REST snapshot: last=lastUpdateId.
    # Coinbase AT: last = sequence_num (per connection).
    int64_t first_id
    int64_t last_id
    int64_t prev_id
    int64_t event_time_ns       # exchange event time (Binance E, Coinbase envelope timestamp)
    int64_t txn_time_ns         # Binance USD-M T
    # Phase 2: levels of the last converted segment with a price or size off the grid.
    Py_ssize_t off_grid
    # Error reporting: code, byte offset into the payload, and a static reason text.
    int32_t error
    int32_t decimal_error
    Py_ssize_t error_offset
    const char* error_detail
    # Trade decoders (MSG_TRADES): trades[i] goes with levels[i]; NULL until first needed.
    Trade* trades
    Py_ssize_t cap_trades
    # Quote decoders (MSG_BBO, MSG_TICKER): quotes[i] goes with segs[i]; NULL until needed.
    Quote* quotes
    Py_ssize_t cap_quotes
    # Candle decoders (MSG_CANDLES): candles[i] goes with levels[i]; NULL until first needed.
    Candle* candles
    Py_ssize_t cap_candles


# Hard cap on levels in one decoded message: a REST snapshot holds at most 5000 a side
# (Binance); anything far beyond is garbage or an attack, rejected with DEC_TOO_MANY_LEVELS.
cdef enum:
    MAX_BATCH_LEVELS = 1 << 20
    MAX_BATCH_SEGS = 1 << 16

from libc.stdlib cimport free, realloc


cdef inline void batch_reset(DeltaBatch* b) noexcept nogil:
    """Forget the previous message; keep the allocated arrays."""
    b.n_levels = 0
    b.n_segs = 0
    b.msg_kind = MSG_NONE
    b.first_id = -1
    b.last_id = -1
    b.prev_id = -1
    b.event_time_ns = 0
    b.txn_time_ns = 0
    b.off_grid = 0
    b.error = DEC_OK
    b.decimal_error = DECIMAL_OK
    b.error_offset = -1
    b.error_detail = NULL


cdef inline int batch_init(DeltaBatch* b, Py_ssize_t cap_levels) noexcept nogil:
    """Allocate a batch's arrays; returns -1 if out of memory."""
    b.levels = NULL
    b.segs = NULL
    b.trades = NULL
    b.quotes = NULL
    b.cap_levels = 0
    b.cap_segs = 0
    b.cap_trades = 0
    b.cap_quotes = 0
    b.candles = NULL
    b.cap_levels = 0
    b.cap_segs = 0
    b.cap_trades = 0
    b.cap_candles = 0
    batch_reset(b)
    b.levels = <Delta*>realloc(NULL, cap_levels * sizeof(Delta))
    b.segs = <Segment*>realloc(NULL, 16 * sizeof(Segment))
    if b.levels == NULL or b.segs == NULL:
        return -1
    b.cap_levels = cap_levels
    b.cap_segs = 16
    return 0


cdef inline void batch_free(DeltaBatch* b) noexcept nogil:
    free(b.levels)
    free(b.segs)
    free(b.trades)
    free(b.quotes)
    b.levels = NULL
    b.segs = NULL
    b.trades = NULL
    b.quotes = NULL
    b.cap_levels = 0
    b.cap_segs = 0
    b.cap_trades = 0
    b.cap_quotes = 0
    free(b.candles)
    b.levels = NULL
    b.segs = NULL
    b.trades = NULL
    b.candles = NULL
    b.cap_levels = 0
    b.cap_segs = 0
    b.cap_trades = 0
    b.cap_candles = 0


cdef inline Delta* batch_next_level(DeltaBatch* b) noexcept nogil:
    """Room for one more level (grows geometrically); NULL past the cap or out of memory."""
    cdef Py_ssize_t cap
    cdef Delta* grown
    if b.n_levels == b.cap_levels:
        if b.cap_levels >= MAX_BATCH_LEVELS:
            return NULL
        cap = b.cap_levels * 2 if b.cap_levels else 64
        grown = <Delta*>realloc(b.levels, cap * sizeof(Delta))
        if grown == NULL:
            return NULL
        b.levels = grown
        b.cap_levels = cap
    b.n_levels += 1
    return &b.levels[b.n_levels - 1]


cdef inline Segment* batch_next_seg(DeltaBatch* b) noexcept nogil:
    """Room for one more segment; NULL past the cap or out of memory."""
    cdef Py_ssize_t cap
    cdef Segment* grown
    if b.n_segs == b.cap_segs:
        if b.cap_segs >= MAX_BATCH_SEGS:
            return NULL
        cap = b.cap_segs * 2 if b.cap_segs else 16
        grown = <Segment*>realloc(b.segs, cap * sizeof(Segment))
        if grown == NULL:
            return NULL
        b.segs = grown
        b.cap_segs = cap
    b.n_segs += 1
    return &b.segs[b.n_segs - 1]


cdef inline Trade* batch_next_trade(DeltaBatch* b, Delta** level) noexcept nogil:
    """Room for one more trade: its Delta (*level: price and size text) and its Trade at
    the same index; NULL past the level cap or out of memory (nothing added then)."""
    cdef Trade* grown
    cdef Delta* d = batch_next_level(b)
    if d == NULL:
        return NULL
    if b.n_levels > b.cap_trades:
        grown = <Trade*>realloc(b.trades, b.cap_levels * sizeof(Trade))
        if grown == NULL:
            b.n_levels -= 1
            return NULL
        b.trades = grown
        b.cap_trades = b.cap_levels
    level[0] = d
    return &b.trades[b.n_levels - 1]


cdef inline Quote* batch_next_quote(DeltaBatch* b, Segment** seg) noexcept nogil:
    """Room for one more quote: its Segment (*seg) and its Quote at the same index, the
    Quote reset (ids -1, times 0, no texts); NULL past the segment cap or out of memory
    (nothing added then)."""
    cdef Quote* grown
    cdef Quote* q
    cdef int i
    cdef Segment* s = batch_next_seg(b)
    if s == NULL:
        return NULL
    if b.n_segs > b.cap_quotes:
        grown = <Quote*>realloc(b.quotes, b.cap_segs * sizeof(Quote))
        if grown == NULL:
            b.n_segs -= 1
            return NULL
        b.quotes = grown
        b.cap_quotes = b.cap_segs
    q = &b.quotes[b.n_segs - 1]
    q.update_id = -1
    q.time_ns = 0
    q.open_ns = 0
    q.close_ns = 0
    q.first_trade_id = -1
    q.last_trade_id = -1
    q.trade_count = -1
    for i in range(8):
        q.text[i] = NULL
        q.text_len[i] = 0
    q.no_sizes = 0
    s.symbol_ptr = NULL
    s.symbol_len = 0
    s.kind = SEG_UPDATE
    s.start = b.n_levels
    s.count = 0
    s.event_time_ns = 0
    seg[0] = s
    return q
cdef inline Candle* batch_next_candle(DeltaBatch* b, Delta** level) noexcept nogil:
    """Room for one more candle: its Delta (*level) and its Candle at the same index;
    NULL past the level cap or out of memory (nothing added then)."""
    cdef Candle* grown
    cdef Delta* d = batch_next_level(b)
    if d == NULL:
        return NULL
    if b.n_levels > b.cap_candles:
        grown = <Candle*>realloc(b.candles, b.cap_levels * sizeof(Candle))
        if grown == NULL:
            b.n_levels -= 1
            return NULL
        b.candles = grown
        b.cap_candles = b.cap_levels
    level[0] = d
    return &b.candles[b.n_levels - 1]
