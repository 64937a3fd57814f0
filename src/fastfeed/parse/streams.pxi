# Included by _parse.pyx after every channel decoder: the stream decoders. A live
# connection carries several channels of one venue (books, trades, best bid/offer,
# tickers, candles) and its router
# decodes every payload with the venue's stream decoder (``Venue.stream_decoder``), which
# hands the payload to the decoder of its channel (docs/architecture.md, "Channels").
#
# The channel is read from the field that names it when that field comes first, as every
# venue sends it (Binance ``{"stream":"btcusdt@aggTrade",...`` or ``{"e":"aggTrade",...``,
# Coinbase AT ``{"channel":"market_trades",...``, Exchange ``{"type":"match",...``): a
# prefix compare, a few nanoseconds. The chosen decoder alone decides whether the payload
# is acceptable (strict JSON and all), so a wrong guess cannot let garbage through: a
# combined-stream envelope naming ``@aggTrade`` around a depth event is rejected. When the
# field is not first, every channel decoder is asked in turn (book first) and the first
# that takes the payload as its own decides; if none does, the book decoder's verdict
# stands. On a rejected payload of a non-book channel ``b.msg_kind`` names that channel,
# so the router can keep the books out of it (docs/venues.md, "Channels on one
# connection").


cdef inline bint _head_is(const char* p, Py_ssize_t n, const char* head,
                          Py_ssize_t k) noexcept nogil:
    return n > k and memcmp(p, head, k) == 0


cdef inline bint _value_is(const char* p, Py_ssize_t n, Py_ssize_t at, const char* v,
                           Py_ssize_t k) noexcept nogil:
    # the string starting at `at` is exactly `v`
    return at + k < n and memcmp(p + at, v, k) == 0 and p[at + k] == c'"'


cdef inline bint _value_starts(const char* p, Py_ssize_t n, Py_ssize_t at, const char* v,
                               Py_ssize_t k) noexcept nogil:
    return at + k <= n and memcmp(p + at, v, k) == 0


cdef inline int _as_channel(int rc, DeltaBatch* b, uint8_t kind) noexcept nogil:
    # a rejected payload of a non-book channel says which channel it was
    if rc != DEC_OK:
        b.msg_kind = kind
    return rc


cdef int _first_taker(const char* p, Py_ssize_t n, DeltaBatch* b, DecodeFn* fns,
                      int count) noexcept nogil:
    # The channel field was not first: the first decoder that takes the payload as its
    # own (anything but "ignored" or an error) decides; else the first decoder's verdict.
    cdef int i
    cdef int rc = DEC_OK
    for i in range(count):
        rc = fns[i](p, n, b)
        if rc == DEC_OK and b.msg_kind != MSG_IGNORED:
            return rc
    if count > 1:
        rc = fns[0](p, n, b)
    return rc


cdef inline int _named(int rc, DeltaBatch* b) noexcept nogil:
    # The stream name chose the channel: an event its decoder does not know is not one
    # of that channel (an envelope that lies about its content), rejected, not ignored.
    if rc == DEC_OK and b.msg_kind == MSG_IGNORED:
        return _fail_batch(b, DEC_UNKNOWN_MESSAGE, -1,
                           "the event is not of the channel its stream name says")
    return rc


# -- Binance (spot and USD-M) ----------------------------------------------------------

# in the order a payload whose channel field is not first is offered to them: the BBO
# decoder last, since a spot bookTicker has no `e` and it takes any such object
cdef DecodeFn _BINANCE_CHANNELS[5]
_BINANCE_CHANNELS[0] = decode_binance_depth
_BINANCE_CHANNELS[1] = decode_binance_trades
_BINANCE_CHANNELS[2] = decode_binance_ticker
_BINANCE_CHANNELS[3] = decode_binance_candles
_BINANCE_CHANNELS[4] = decode_binance_bbo


cdef inline int _bn_by_name(const char* p, Py_ssize_t n, DeltaBatch* b,
                            Py_ssize_t at) noexcept nogil:
    # `at`: the channel part of a combined-stream name (after '@')
    if _value_starts(p, n, at, "depth", 5):
        return _named(decode_binance_depth(p, n, b), b)
    if _value_is(p, n, at, "aggTrade", 8) or _value_is(p, n, at, "trade", 5):
        return _as_channel(_named(decode_binance_trades(p, n, b), b), b, MSG_TRADES)
    if _value_is(p, n, at, "bookTicker", 10):
        return _as_channel(_named(decode_binance_bbo(p, n, b), b), b, MSG_BBO)
    if _value_is(p, n, at, "ticker", 6) or _value_is(p, n, at, "miniTicker", 10):
        return _as_channel(_named(decode_binance_ticker(p, n, b), b), b, MSG_TICKER)
    if _value_starts(p, n, at, "kline_", 6):
        return _as_channel(_named(decode_binance_candles(p, n, b), b), b, MSG_CANDLES)
    return _first_taker(p, n, b, _BINANCE_CHANNELS, 5)


cdef int decode_binance_stream(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Binance spot/USD-M, any channel: combined-stream payloads by the stream name's
    channel (``<symbol>@depth@100ms``, ``@aggTrade``, ``@trade``, ``@bookTicker``,
    ``@ticker``, ``@miniTicker``, ``@kline_<i>``), raw ones by ``e``."""
    cdef Py_ssize_t i, end
    if _head_is(p, n, '{"stream":"', 11):
        end = n if n < 11 + 64 else 11 + 64
        i = 11
        while i < end and p[i] != c'@' and p[i] != c'"':
            i += 1
        if i < end and p[i] == c'@':
            return _bn_by_name(p, n, b, i + 1)
    elif _head_is(p, n, '{"e":"', 6):
        if _value_is(p, n, 6, "depthUpdate", 11):
            return decode_binance_depth(p, n, b)
        if _value_is(p, n, 6, "aggTrade", 8) or _value_is(p, n, 6, "trade", 5):
            return _as_channel(decode_binance_trades(p, n, b), b, MSG_TRADES)
        if _value_is(p, n, 6, "bookTicker", 10):
            return _as_channel(decode_binance_bbo(p, n, b), b, MSG_BBO)
        if _value_is(p, n, 6, "24hrTicker", 10) or _value_is(p, n, 6, "24hrMiniTicker", 14):
            return _as_channel(decode_binance_ticker(p, n, b), b, MSG_TICKER)
        if _value_is(p, n, 6, "kline", 5):
            return _as_channel(decode_binance_candles(p, n, b), b, MSG_CANDLES)
    return _first_taker(p, n, b, _BINANCE_CHANNELS, 5)


# -- Coinbase Advanced Trade -----------------------------------------------------------

cdef DecodeFn _COINBASE_AT_CHANNELS[4]
_COINBASE_AT_CHANNELS[0] = decode_coinbase_at
_COINBASE_AT_CHANNELS[1] = decode_coinbase_at_trades
_COINBASE_AT_CHANNELS[2] = decode_coinbase_at_ticker
_COINBASE_AT_CHANNELS[3] = decode_coinbase_at_candles


cdef int decode_coinbase_at_stream(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """Coinbase Advanced Trade, any channel, by ``channel``: ``l2_data``, ``heartbeats``
    and ``subscriptions`` to the book decoder, ``market_trades`` to the trade decoder,
    ``ticker`` / ``ticker_batch`` to the ticker decoder (the router reads its best
    bid/offer with the BBO decoder: ``Venue.bbo_in_ticker``), ``candles``."""
    if _head_is(p, n, '{"channel":"', 12):
        if (_value_is(p, n, 12, "l2_data", 7) or _value_is(p, n, 12, "heartbeats", 10)
                or _value_is(p, n, 12, "subscriptions", 13)):
            return decode_coinbase_at(p, n, b)
        if _value_is(p, n, 12, "market_trades", 13):
            return _as_channel(decode_coinbase_at_trades(p, n, b), b, MSG_TRADES)
        if _value_is(p, n, 12, "ticker", 6) or _value_is(p, n, 12, "ticker_batch", 12):
            return _as_channel(decode_coinbase_at_ticker(p, n, b), b, MSG_TICKER)
        if _value_is(p, n, 12, "candles", 7):
            return _as_channel(decode_coinbase_at_candles(p, n, b), b, MSG_CANDLES)
    return _first_taker(p, n, b, _COINBASE_AT_CHANNELS, 4)


# -- Coinbase Exchange -----------------------------------------------------------------

cdef DecodeFn _COINBASE_EXCHANGE_CHANNELS[3]
_COINBASE_EXCHANGE_CHANNELS[0] = decode_coinbase_exchange
_COINBASE_EXCHANGE_CHANNELS[1] = decode_coinbase_exchange_trades
_COINBASE_EXCHANGE_CHANNELS[2] = decode_coinbase_exchange_ticker


cdef int decode_coinbase_exchange_stream(const char* p, Py_ssize_t n,
                                         DeltaBatch* b) noexcept nogil:
    """Coinbase Exchange, any channel, by ``type``: ``match``/``last_match`` to the trade
    decoder, ``ticker`` to the ticker decoder (its best bid/offer: as for Advanced
    Trade), everything else to the book decoder (which knows the rest)."""
    if _head_is(p, n, '{"type":"', 9):
        if _value_is(p, n, 9, "match", 5) or _value_is(p, n, 9, "last_match", 10):
            return _as_channel(decode_coinbase_exchange_trades(p, n, b), b, MSG_TRADES)
        if _value_is(p, n, 9, "ticker", 6):
            return _as_channel(decode_coinbase_exchange_ticker(p, n, b), b, MSG_TICKER)
        if (_value_is(p, n, 9, "l2update", 8) or _value_is(p, n, 9, "snapshot", 8)
                or _value_is(p, n, 9, "heartbeat", 9)):
            return decode_coinbase_exchange(p, n, b)
    return _first_taker(p, n, b, _COINBASE_EXCHANGE_CHANNELS, 3)


_register("binance-stream", decode_binance_stream)
_register("coinbase-at-stream", decode_coinbase_at_stream)
_register("coinbase-exchange-stream", decode_coinbase_exchange_stream)


_CHANNEL_OF_KIND = {MSG_TRADES: "trades", MSG_BBO: "bbo", MSG_TICKER: "ticker",
                    MSG_CANDLES: "candles"}


def stream_channel(str venue, payload) -> tuple:
    """Run the venue's stream decoder on one payload (docs/architecture.md, "Channels"):
    ``(kind, None)`` with the kind of message it decoded (``"depth"``, ``"snapshot"``,
    ``"trades"``, ``"heartbeat"``, ``"control"``, ``"ignored"``, ...), or, when the
    payload was rejected, ``(channel, reason)``: the non-book channel it was rejected as
    (``"trades"``, ``"bbo"``, ``"ticker"``, ``"candles"``: the books are not touched),
    else ``"book"``."""
    cdef DecodeFn fn
    cdef bytes data = bytes(payload)
    cdef DeltaBatch b
    venue_decoder(venue, False)         # the venue lookup and its error
    fn = decoder_named(_get_venue(venue).stream_decoder or _get_venue(venue).decoder)
    if batch_init(&b, 64) < 0:
        raise MemoryError()
    try:
        if fn(data, len(data), &b) != DEC_OK:
            return (_CHANNEL_OF_KIND.get(b.msg_kind, "book"), batch_error_message(&b))
        return (_KIND_NAMES.get(b.msg_kind, str(b.msg_kind)), None)
    finally:
        batch_free(&b)
