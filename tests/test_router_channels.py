"""One connection, several channels (docs/architecture.md, "Channels"): the venue's stream
decoder hands each payload to its channel's decoder and the router to the core of that
channel and symbol — books and trade streams side by side, with the connection-level
rules (Coinbase AT ``sequence_num``, unreadable messages) applied once for all of them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from fastfeed import _parse
from fastfeed._core import BookCore
from fastfeed._router import Router
from fastfeed._trades import TradeCore
from fastfeed.feed import instrument_scales


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def cores(venue: str, symbol: str, tick: str, step: str) -> tuple[BookCore, TradeCore]:
    scales = instrument_scales(venue, tick, step)
    book = BookCore(venue, symbol, *scales, strict=False)
    trades = TradeCore(venue, symbol, *scales, strict=False)
    return book, trades


class Owner:
    """Collects the router's cold-path reports."""

    def __init__(self) -> None:
        self.rejects: list[str] = []
        self.gaps: list[str] = []

    def on_router_reject(self, text: str, head: bytes) -> None:
        self.rejects.append(text)

    def on_router_control(self, payload: bytes, is_error: bool) -> None:
        pass

    def on_router_connection_gap(self, reason: str) -> None:
        self.gaps.append(reason)


# -- Binance ---------------------------------------------------------------------------

AGG = {"e": "aggTrade", "E": 1700000000101, "s": "BTCUSDT", "a": 26129,
       "p": "97250.01000000", "q": "0.50000000", "f": 100, "l": 105, "T": 1700000000100,
       "m": True, "M": True}
TRADE = {"e": "trade", "E": 1700000000101, "s": "BTCUSDT", "t": 5000, "p": "97250.02000000",
         "q": "0.25000000", "T": 1700000000100, "m": False, "M": True}
DEPTH = {"e": "depthUpdate", "E": 1700000000101, "s": "BTCUSDT", "U": 10, "u": 12,
         "b": [["97250.00000000", "1.00000000"]], "a": []}


def binance_router() -> tuple[Router, BookCore, TradeCore, TradeCore, Owner]:
    book, agg = cores("binance", "BTCUSDT", "0.01", "0.00001")
    _, eth = cores("binance", "ETHUSDT", "0.01", "0.0001")
    owner = Owner()
    router = Router("binance", owner, [book])
    router.set_channel_cores([agg, eth])
    return router, book, agg, eth, owner


@pytest.mark.parametrize("form", ["combined", "raw", "keys-reordered"])
def test_binance_trades_and_depth_share_a_connection(form: str) -> None:
    router, book, agg, eth, owner = binance_router()

    def wrap(event: dict[str, Any], stream: str) -> bytes:
        if form == "combined":
            return dumps({"stream": stream, "data": event})
        if form == "raw":
            return dumps(event)
        return dumps({"data": event, "stream": stream})    # the channel field not first

    router.route_payload(wrap(DEPTH, "btcusdt@depth@100ms"))
    assert book.buffered == 1, "the depth event reached the (syncing) book"
    assert router.route_payload(wrap(AGG, "btcusdt@aggTrade")) == 1
    eth_trade = dict(AGG, s="ETHUSDT", a=1, p="3000.00000000", q="1.00000000")
    assert router.route_payload(wrap(eth_trade, "ethusdt@aggTrade")) == 1
    t = agg.trades()
    assert t["trade_id"].tolist() == [26129]
    assert t["price"].tolist() == [9725001000000]
    assert eth.trades()["trade_id"].tolist() == [1]
    assert book.buffered == 1, "trades never reach a book"
    assert router.counters()["decode_errors"] == 0 and not owner.rejects


def test_binance_envelope_and_event_must_agree() -> None:
    # the stream name picks the decoder; that decoder alone accepts or rejects
    router, book, agg, _, owner = binance_router()
    router.route_payload(dumps({"stream": "btcusdt@aggTrade", "data": DEPTH}))
    assert router.counters()["decode_errors"] == 1 and len(owner.rejects) == 1
    assert book.buffered == 0 and agg.recorded == 0
    router.route_payload(dumps({"stream": "btcusdt@depth@100ms", "data": AGG}))
    assert book.buffered == 0 and agg.recorded == 0


def test_binance_trade_stream_picks_its_ids() -> None:
    # one core per stream: a core fixed to aggTrade ignores @trade events (other id space)
    router, _, agg, _, _ = binance_router()
    router.route_payload(dumps({"stream": "btcusdt@aggTrade", "data": AGG}))
    router.route_payload(dumps({"stream": "btcusdt@trade", "data": TRADE}))
    assert agg.recorded == 1 and agg.other_stream == 1


def test_trades_on_a_connection_without_trade_streams_are_counted() -> None:
    book, _ = cores("binance", "BTCUSDT", "0.01", "0.00001")
    router = Router("binance", None, [book])
    assert router.route_payload(dumps({"stream": "btcusdt@aggTrade", "data": AGG})) == 0
    assert router.counters()["unrouted"] == 1 and router.counters()["decode_errors"] == 0


def test_binance_unknown_channel_is_ignored_not_rejected() -> None:
    router, book, agg, _, owner = binance_router()
    mark = {"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT", "p": "1.0"}
    router.route_payload(dumps({"stream": "btcusdt@markPrice", "data": mark}))
    assert router.counters()["decode_errors"] == 0 and not owner.rejects
    assert book.buffered == 0 and agg.recorded == 0


# -- Coinbase Advanced Trade: one sequence_num for every channel -------------------------

def at_msg(seq: int, channel: str, events: list[dict[str, Any]]) -> bytes:
    return dumps({"channel": channel, "client_id": "", "timestamp":
                  "2023-02-09T20:32:50.714964855Z", "sequence_num": seq, "events": events})


def at_snapshot(seq: int) -> bytes:
    return at_msg(seq, "l2_data", [{"type": "snapshot", "product_id": "BTC-USD", "updates": [
        {"side": "bid", "event_time": "1970-01-01T00:00:00Z", "price_level": "21921.73",
         "new_quantity": "0.5"},
        {"side": "offer", "event_time": "1970-01-01T00:00:00Z", "price_level": "21921.74",
         "new_quantity": "1.5"}]}])


def at_trades(seq: int, trade_id: int, price: str = "21921.73") -> bytes:
    return at_msg(seq, "market_trades", [{"type": "update", "trades": [
        {"trade_id": str(trade_id), "product_id": "BTC-USD", "price": price, "size": "0.5",
         "side": "BUY", "time": "2023-02-09T20:19:35.1Z"}]}])


def at_router() -> tuple[Router, BookCore, TradeCore, Owner]:
    book, trades = cores("coinbase", "BTC-USD", "0.01", "0.00000001")
    owner = Owner()
    router = Router("coinbase", owner, [book])
    router.set_channel_cores([trades])
    return router, book, trades, owner


def test_coinbase_at_channels_share_the_connection_sequence() -> None:
    router, book, trades, owner = at_router()
    router.route_payload(at_snapshot(0))
    router.route_payload(at_trades(1, 10))
    router.route_payload(at_trades(2, 11))
    assert book.state == "live" and trades.state == "live"
    assert trades.trades()["trade_id"].tolist() == [10, 11]
    # sequence_num 3 lost (whichever channel it was): both may have missed data
    router.route_payload(at_trades(4, 13))
    assert router.counters()["sequence_gaps"] == 1 and owner.gaps
    assert book.state == "gap" and trades.state == "gap"
    assert trades.missing == [(-1, -1)]


def test_coinbase_at_rejected_trades_leave_the_books_alone() -> None:
    # a market_trades message with a broken trade cannot have held a book update: the book
    # stays live, the message still took its sequence number, the trade stream lost it
    router, book, trades, owner = at_router()
    router.route_payload(at_snapshot(0))
    router.route_payload(at_trades(1, 10))
    bad = at_trades(2, 11).replace(b'"BUY"', b'"buy"')
    router.route_payload(bad)
    assert router.counters()["decode_errors"] == 1 and owner.rejects
    assert book.state == "live" and not owner.gaps
    assert trades.state == "gap"            # AT trade ids cannot show what was lost
    router.route_payload(at_trades(3, 12))
    assert router.counters()["sequence_gaps"] == 0
    assert book.state == "live"


def test_coinbase_at_unreadable_message_gaps_every_channel() -> None:
    router, book, trades, owner = at_router()
    router.route_payload(at_snapshot(0))
    router.route_payload(at_trades(1, 10))
    router.route_payload(b'{"channel":"l2_data","sequence_num":2,"events":[')
    assert book.state == "gap" and trades.state == "gap"
    assert owner.gaps and owner.rejects


# -- Coinbase Exchange -----------------------------------------------------------------

def test_coinbase_exchange_matches_and_level2_share_a_connection() -> None:
    book, trades = cores("coinbase-exchange", "BTC-USD", "0.01", "0.00000001")
    router = Router("coinbase-exchange", None, [book])
    router.set_channel_cores([trades])
    match = {"type": "match", "trade_id": 734680346, "sequence": 2254041036,
             "maker_order_id": "ac928c66-ca53-498f-9c13-a110027a60e8",
             "taker_order_id": "132fb6ae-456b-4654-b4e0-d681ac05cea1",
             "time": "2024-12-07T18:00:00.028459Z", "product_id": "BTC-USD",
             "size": "0.00100000", "price": "97250.01", "side": "buy"}
    assert router.route_payload(dumps(match)) == 1
    snap = {"type": "snapshot", "product_id": "BTC-USD", "bids": [["97250.00", "1.0"]],
            "asks": [["97250.02", "2.0"]]}
    router.route_payload(dumps(snap))
    assert trades.trades()["trade_id"].tolist() == [734680346]
    assert trades.trades()["side"].tolist() == [-1]     # maker bought: the taker sold
    assert book.state == "live"
    assert book.book.best_bid_int() == (9725000, 100000000)
    assert book.book.best_ask_int() == (9725002, 200000000)
    assert router.counters()["decode_errors"] == 0


def test_every_venue_names_a_stream_decoder() -> None:
    from fastfeed.venues import VENUES
    for venue in VENUES.values():
        # empty only for a books-only venue: its book decoder reads every payload
        # (Venue.stream_decoder)
        named = venue.stream_decoder or ("" if venue.trade_decoder else venue.decoder)
        assert named in _parse.DECODERS, venue.name


# -- the stream decoders against their pure-Python twin --------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fastfeed.reference.decode import stream_channel as reference_stream_channel  # noqa: E402

_AT_BYTE = re.compile(r" at byte \d+")

MARK = {"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT", "p": "1.0"}
BOOK_TICKER = {"u": 400900217, "s": "BTCUSDT", "b": "25.35190000", "B": "31.21000000",
               "a": "25.36520000", "A": "40.66000000"}
TICKER = {"e": "24hrTicker", "E": 1, "s": "BTCUSDT", "p": "0.0015", "P": "250.00",
          "w": "0.0018", "x": "0.0009", "c": "0.0025", "Q": "10", "b": "0.0024", "B": "10",
          "a": "0.0026", "A": "100", "o": "0.0010", "h": "0.0025", "l": "0.0010", "v": "10000",
          "q": "18", "O": 0, "C": 86400000, "F": 0, "L": 18150, "n": 18151}
KLINE = {"e": "kline", "E": 1672515782136, "s": "BTCUSDT", "k": {
    "t": 1672515780000, "T": 1672515839999, "s": "BTCUSDT", "i": "1m", "f": 100, "L": 200,
    "o": "0.0010", "c": "0.0020", "h": "0.0025", "l": "0.0015", "v": "1000", "n": 100,
    "x": False, "q": "1.0000", "V": "500", "Q": "0.500", "B": "123456"}}
BINANCE_EVENTS = [DEPTH, AGG, TRADE, MARK, BOOK_TICKER, TICKER, KLINE,
                  {"result": None, "id": 1}, {"code": 2, "msg": "x"}]
BINANCE_STREAMS = ["btcusdt@depth@100ms", "btcusdt@aggTrade", "btcusdt@trade",
                   "btcusdt@markPrice", "btcusdt@bookTicker", "btcusdt@ticker",
                   "btcusdt@miniTicker", "btcusdt@kline_1m", "btcusdt", "@", ""]
AT_CHANNELS = ["l2_data", "market_trades", "heartbeats", "subscriptions", "ticker",
               "ticker_batch", "candles", ""]
EX_TYPES = ["match", "last_match", "l2update", "snapshot", "heartbeat", "subscriptions",
            "error", "ticker", "status"]


def binance_payloads() -> st.SearchStrategy[bytes]:
    def build(event: dict[str, Any], stream: str, form: int) -> bytes:
        if form == 0:
            return dumps({"stream": stream, "data": event})
        if form == 1:
            return dumps({"data": event, "stream": stream})
        return dumps(event)
    return st.builds(build, st.sampled_from(BINANCE_EVENTS), st.sampled_from(BINANCE_STREAMS),
                     st.integers(0, 2))


def coinbase_at_payloads() -> st.SearchStrategy[bytes]:
    def build(channel: str, seq: int, trades: bool, first: bool) -> bytes:
        msg = json.loads(at_trades(seq, 10) if trades else at_snapshot(seq))
        msg["channel"] = channel
        if not first:
            msg = {k: msg[k] for k in sorted(msg, reverse=True)}
        return dumps(msg)
    return st.builds(build, st.sampled_from(AT_CHANNELS), st.integers(0, 5), st.booleans(),
                     st.booleans())


def coinbase_exchange_payloads() -> st.SearchStrategy[bytes]:
    def build(kind: str, first: bool) -> bytes:
        msg = {"type": kind, "trade_id": 7, "product_id": "BTC-USD", "price": "1.00",
               "size": "2.0", "side": "sell", "time": "2024-12-07T18:00:00.028459Z",
               "bids": [["1.00", "1"]], "asks": [], "changes": [["buy", "1.00", "1"]]}
        if not first:
            msg = dict(reversed(list(msg.items())))
        return dumps(msg)
    return st.builds(build, st.sampled_from(EX_TYPES), st.booleans())


def mutated(base: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    def cut(payload: bytes, at: int, byte: int, how: int) -> bytes:
        at %= len(payload) + 1
        if how == 0:
            return payload
        if how == 1:
            return payload[:at]
        return payload[:at] + bytes([byte]) + payload[at + 1:]
    return st.builds(cut, base, st.integers(0, 4096), st.integers(0, 255), st.integers(0, 2))


@settings(max_examples=400, deadline=None)
@given(venue_payload=st.one_of(
    st.tuples(st.sampled_from(["binance", "binance-usdm"]), mutated(binance_payloads())),
    st.tuples(st.just("coinbase"), mutated(coinbase_at_payloads())),
    st.tuples(st.just("coinbase-exchange"), mutated(coinbase_exchange_payloads()))))
def test_stream_decoders_match_their_twin(venue_payload: tuple[str, bytes]) -> None:
    venue, payload = venue_payload
    (ck, ce), (rk, re_) = (_parse.stream_channel(venue, payload),
                           reference_stream_channel(venue, payload))
    assert ck == rk, (ce, re_)
    assert (ce is None) == (re_ is None), (ce, re_)
    if ce is not None and re_ is not None:
        # the same reason (the twin does not locate bytes, and words JSON errors its way)
        if re_.startswith("malformed JSON"):
            assert ce.startswith(("malformed JSON", "truncated JSON")), (ce, re_)
        else:
            assert _AT_BYTE.sub("", ce) == re_


def test_stream_channel_examples() -> None:
    assert _parse.stream_channel("binance", dumps({"stream": "btcusdt@aggTrade",
                                                   "data": AGG})) == ("trades", None)
    assert _parse.stream_channel("binance", dumps(DEPTH)) == ("depth", None)
    kind, error = _parse.stream_channel("binance", dumps({"stream": "btcusdt@aggTrade",
                                                          "data": DEPTH}))
    assert kind == "trades" and "not of the channel its stream name says" in error
    kind, error = _parse.stream_channel("coinbase", at_trades(1, 1).replace(b"BUY", b"buy"))
    assert kind == "trades" and error


# -- quote streams: update ids order quotes within one connection -------------------------

def okx_bbo(seq: int, bid: str = "111.05") -> bytes:
    return dumps({"arg": {"channel": "bbo-tbt", "instId": "BCH-USDT-SWAP"}, "data": [{
        "asks": [["111.06", "55154", "0", "2"]], "bids": [[bid, "57745", "0", "2"]],
        "ts": "1670324386802", "seqId": seq}]})


def test_a_new_connection_resets_the_quote_staleness_base() -> None:
    from fastfeed._quotes import BboCore

    scales = instrument_scales("okx", "0.01", "1")
    book = BookCore("okx", "BCH-USDT-SWAP", *scales, strict=False)
    bbo = BboCore("okx", "BCH-USDT-SWAP", *scales, strict=False)
    router = Router("okx", None, [book])
    router.set_channel_cores([bbo])
    router.route_payload(okx_bbo(363996337))
    router.route_payload(okx_bbo(1000, bid="111.04"))   # ids went back: stale
    assert bbo.recorded == 1 and bbo.stale == 1
    router.reset_connection()               # maintenance: a reconnect, ids restart
    router.route_payload(okx_bbo(1000, bid="111.04"))
    router.route_payload(okx_bbo(999, bid="111.03"))    # within a connection: stale
    assert bbo.recorded == 2 and bbo.stale == 2
    assert bbo.bbo().bid_price == 11104 and bbo.bbo().update_id == 1000


def test_an_unreadable_frame_reaches_the_channel_streams_of_a_venue_with_book_ids() -> None:
    # Bybit's books carry their own ids (an unreadable frame is no book gap), but a merged
    # linear ticker cannot tell whether the frame held one of its deltas
    from fastfeed._quotes import TickerCore
    from test_decode_bybit_quotes import LINEAR

    scales = instrument_scales("bybit-linear", "0.10", "0.001")
    book = BookCore("bybit-linear", "BTCUSDT", *scales, strict=False)
    ticker = TickerCore("bybit-linear", "BTCUSDT", *scales, strict=False)
    router = Router("bybit-linear", None, [book])
    router.set_channel_cores([ticker])
    router.route_payload(LINEAR)
    assert ticker.has_snapshot and ticker.recorded == 1
    router.route_payload(b'{"type":"delta","data":{"symb')   # its topic unread
    assert not ticker.has_snapshot          # waits for the next snapshot, never guesses
    assert book.state == "syncing"          # the book's ids will tell: no gap marked
    assert router.counters()["decode_errors"] == 1
