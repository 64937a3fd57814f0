# Included by _parse.pyx after every OKX channel decoder: the OKX stream decoder, every
# channel of a connection by `arg.channel` (docs/architecture.md, "Channels").

cdef DecodeFn _OKX_CHANNELS[5]
_OKX_CHANNELS[0] = decode_okx
_OKX_CHANNELS[1] = decode_okx_trades
_OKX_CHANNELS[2] = decode_okx_ticker
_OKX_CHANNELS[3] = decode_okx_bbo
_OKX_CHANNELS[4] = decode_okx_candles


cdef int decode_okx_stream(const char* p, Py_ssize_t n, DeltaBatch* b) noexcept nogil:
    """OKX, any channel, by ``arg.channel`` when the message starts with it (as the venue
    sends it): ``books`` to the book decoder, ``trades`` to the trade decoder,
    ``tickers`` to the ticker decoder, ``bbo-tbt`` to the BBO decoder, ``candle*`` to
    the candle decoder; anything else (events, ``pong``, another key order) to the first
    decoder that takes it."""
    if _head_is(p, n, '{"arg":{"channel":"', 19):
        if _value_is(p, n, 19, "books", 5):
            return decode_okx(p, n, b)
        if _value_is(p, n, 19, "trades", 6):
            return _as_channel(decode_okx_trades(p, n, b), b, MSG_TRADES)
        if _value_is(p, n, 19, "tickers", 7):
            return _as_channel(decode_okx_ticker(p, n, b), b, MSG_TICKER)
        if _value_is(p, n, 19, "bbo-tbt", 7):
            return _as_channel(decode_okx_bbo(p, n, b), b, MSG_BBO)
        if _value_starts(p, n, 19, "candle", 6):
            return _as_channel(decode_okx_candles(p, n, b), b, MSG_CANDLES)
    return _first_taker(p, n, b, _OKX_CHANNELS, 5)


_register("okx-stream", decode_okx_stream)
