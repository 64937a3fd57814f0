"""Bybit v5 public order books and trades: ``bybit`` (spot) and ``bybit-linear`` (USDT
perpetuals).

WebSocket ``/bybit/v5/public/spot`` and ``/bybit/v5/public/linear``. Requests are
``{"op":"subscribe"|"unsubscribe","args":["orderbook.{depth}.{symbol}",...]}`` (spot: at
most ``Venue.max_streams_per_message`` args, else an error) and ``{"op":"ping"}``
(answered with the pong). A subscribed book gets a ``snapshot`` at once, then one
``delta`` per market message, ``u`` +1 each; ``seq`` is the model's update id (a cross
sequence: it grows, not by one). The ``restart`` fault sends the next message as a
snapshot with ``u == 1`` (the venue's service restart) and counts on from there. The
book is served whole whatever the depth asked (1, 50, 200 or 1000): the simulator does
not truncate. ``publicTrade.{symbol}`` sends one ``snapshot`` message per market message
that filled, its ``data`` the fills oldest first (at most 1024 a message): ``S`` the
taker's side, ``i`` the trade id as a digit string on spot and a UUID derived from it on
linear, ``seq`` the fill's update id. ``tickers.{symbol}``: a snapshot on subscribe,
then spot snapshots every 50 ms or linear deltas every 100 ms when something changed.
``orderbook.1.{symbol}`` is the 1-level book as Bybit serves it: a snapshot (``u`` +1)
whenever the best bid or ask changed, re-sent with the same ``u`` after 3 s idle.
``kline.{interval}.{symbol}``: the open bar every second (``confirm`` false), its final
update (``confirm`` true) as soon as its interval is over (bars aligned to UTC); ``W``
and ``M`` are accepted and silent (not epoch-aligned on the venue). REST:
``GET /v5/market/instruments-info?category=spot|linear&symbol=``.
Shapes: docs/simulator.md, "Bybit".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from fastfeed.sim import render
from fastfeed.sim.dialects.base import PathDialect, Wire, leave_channel, wire_of
from fastfeed.sim.dialects.coinbase_common import WireSnapshotConn
from fastfeed.sim.host import SimHost
from fastfeed.sim.market import Market
from fastfeed.sim.model import BookState, Message
from fastfeed.sim.rest import RestApi, Route
from fastfeed.sim.tape import Bar, Fill
from fastfeed.venues import BybitLinear, BybitSpot, get_venue
from fastfeed.venues.bybit import KLINE_MS
from fastfeed.venues.bybit import BybitSpot as _Spot

#: The book depths Bybit offers (``orderbook.{depth}.{symbol}``).
DEPTHS = ("1", "50", "200", "1000")
#: The trade channel's topic prefix and channel key (``publicTrade.{symbol}``).
TRADES = "publicTrade"
#: Trades one ``publicTrade`` message holds at most (docs/venues.md, "Bybit").
TRADES_PER_MESSAGE = 1024
#: The ticker channel's topic prefix and channel key (``tickers.{symbol}``).
TICKERS = "tickers"
#: The BBO's channel key: the 1-level book ``orderbook.1.{symbol}`` (snapshot-only).
BBO = "orderbook.1"
#: The channels a ``{prefix}.{symbol}`` topic subscribes besides the book.
TOPICS = (TRADES, TICKERS, BBO)
#: ``orderbook.1`` re-sends its snapshot (same ``u``) after this long without a change.
BBO_IDLE_NS = 3_000_000_000
MS = 1_000_000
#: Ticker push periods (ns): spot 50 ms, derivatives 100 ms (docs/venues.md, "Bybit tickers").
TICKER_PERIOD = {True: 50 * MS, False: 100 * MS}
#: The candle channels' key prefix (``kline.{interval}``, the topic without the symbol).
KLINE = "kline."
#: ``kline``: the open bar is pushed this often (the venue: every 1-60 s).
KLINE_EVERY_NS = 1_000_000_000
#: Intervals served silently: not epoch-aligned on the venue (weeks, calendar months).
KLINE_SILENT = ("W", "M")


class BybitWire(Wire):
    """One market's ``orderbook`` messages and its ``u`` counter."""

    def __init__(self, market: Market) -> None:
        """``u`` starts where a real book would be (a large number), no restart pending."""
        super().__init__(market)
        self.u = 1_000_000 + market.model.last_id % 1_000_000
        """The ``u`` of the last message rendered (a subscribe's snapshot carries it)."""
        self.restarts = 0
        """``restart`` faults pending: the next messages go out as ``u == 1`` snapshots."""
        self.frames: list[bytes] = []
        """The burst as complete WebSocket frames, the snapshot first."""
        venue = get_venue(market.venue)
        self.spot = venue.name == BybitSpot.name
        self.topic_prefix = f"orderbook.{getattr(venue, 'depth', 50)}."
        self.bbo_u = 1_000_000 + market.model.last_id % 1_000_000
        """The ``u`` of the last ``orderbook.1`` snapshot (+1 per change)."""
        self._bbo_last: tuple[int, int, int, int] | None = None
        self._bbo_sent_ns = 0
        self.ticker_sent: dict[str, str] | None = None
        """The ticker fields as last pushed (linear deltas are the changes from it)."""
        self._ticker_due = 0
        self._open_bar: dict[str, int] = {}
        self._kline_due: dict[str, int] = {}

    def render(self, kind: str, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]],
               u: int, seq: int) -> bytes:
        """One ``snapshot``/``delta`` in the market's key order: spot prints ``ts`` before
        ``type``, futures after it (docs/venues.md, "Bybit")."""
        m = self.market
        fmt = m.fmt
        ts = render.now_ms()
        head = (f'"ts":{ts},"type":"{kind}"' if self.spot else f'"type":"{kind}","ts":{ts}')
        return (f'{{"topic":"{self.topic_prefix}{m.symbol}",{head},"data":{{"s":"{m.symbol}",'
                f'"b":{fmt.levels(bids)},"a":{fmt.levels(asks)},"u":{u},"seq":{seq}}},'
                f'"cts":{ts - 2}}}').encode()

    def snapshot(self, state: BookState) -> bytes:
        """The book ``state`` as a snapshot at the current ``u``."""
        return self.render("snapshot", state.sorted_bids(), state.sorted_asks(), self.u, state.last_id)

    def update(self, msg: Message, pad_bytes: int | None) -> bytes:
        """One ``delta`` (``u`` +1), or after a ``restart`` fault a ``u == 1`` snapshot of
        the book after ``msg``."""
        m = self.market
        if self.restarts:
            self.restarts -= 1
            m.host.fired("restart")
            self.u = 1
            return self.snapshot(m.model.snapshot())
        self.u += 1
        asks: Iterable[tuple[int, int]] = msg.asks
        if pad_bytes:
            per = len(m.fmt.price(m.model.far_ask_prices(1)[0])) + 8
            asks = list(msg.asks) + [(p, 0) for p in m.model.far_ask_prices(pad_bytes // per + 1)]
        return self.render("delta", msg.bids, asks, self.u, msg.last_id)

    def trade_id(self, f: Fill) -> str:
        """``i``: the trade id as digits on spot, a UUID derived from it on linear."""
        return str(f.trade_id) if self.spot else render.order_id(f.trade_id * 2 + 1)

    def trades(self, fills: tuple[Fill, ...] | list[Fill]) -> bytes:
        """One ``publicTrade`` message of ``fills`` (oldest first)."""
        m = self.market
        fmt = m.fmt
        rows = ",".join(
            f'{{"T":{f.t_ns // 1_000_000},"s":"{m.symbol}","S":"{"Buy" if f.taker > 0 else "Sell"}",'
            f'"v":"{fmt.size(f.size)}","p":"{fmt.price(f.price)}",'
            + ("" if self.spot else '"L":"ZeroPlusTick",')
            + f'"i":"{self.trade_id(f)}","BT":false,"seq":{f.update_id}}}'
            for f in fills)
        ts = render.now_ms()
        return (f'{{"topic":"{TRADES}.{m.symbol}","ts":{ts},"type":"snapshot","data":[{rows}]}}'
                if self.spot else
                f'{{"topic":"{TRADES}.{m.symbol}","type":"snapshot","ts":{ts},"data":[{rows}]}}').encode()

    def channels(self, msg: Message, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """The message's fills as ``publicTrade`` messages of at most
        :data:`TRADES_PER_MESSAGE` trades; an ``orderbook.1`` snapshot (``u`` +1) when the
        best bid or ask, price or size, changed."""
        keys = set(keys)
        out: list[tuple[str, bytes]] = []
        if msg.trades and TRADES in keys:
            fills = msg.trades
            out += [(TRADES, self.trades(fills[i:i + TRADES_PER_MESSAGE]))
                    for i in range(0, len(fills), TRADES_PER_MESSAGE)]
        if BBO in keys:
            bbo = self.market.bbo()
            if bbo != self._bbo_last:
                self._bbo_last = bbo
                self.bbo_u += 1
                out.append((BBO, self.bbo_snapshot(render.now_ms() * MS)))
        else:
            self._bbo_last = None
        return out

    def bbo_snapshot(self, now_ns: int) -> bytes:
        """``orderbook.1``: a ``snapshot`` of the best level a side at ``bbo_u`` (level 1
        prints ``ts`` before ``type`` on every market: docs/venues.md, "Bybit")."""
        m = self.market
        fmt = m.fmt
        b, bq, a, aq = m.bbo()
        ts = now_ns // MS
        self._bbo_sent_ns = now_ns
        return (f'{{"topic":"{BBO}.{m.symbol}","ts":{ts},"type":"snapshot","data":{{"s":"{m.symbol}",'
                f'"b":[["{fmt.price(b)}","{fmt.size(bq)}"]],"a":[["{fmt.price(a)}","{fmt.size(aq)}"]],'
                f'"u":{self.bbo_u},"seq":{m.model.last_id}}},"cts":{ts - 2}}}').encode()

    # -- tickers ---------------------------------------------------------------------------

    def ticker_fields(self, now_ns: int) -> dict[str, str]:
        """The ticker's changing fields now: last price and the rolling window's
        statistics (``SimConfig.ticker_window``); linear adds the best bid and ask."""
        m = self.market
        fmt = m.fmt
        st = m.window.stats(now_ns)
        fallback = st.prev_price if st.prev_price is not None else m.mid()
        last = st.last if st.last is not None else fallback
        o = st.open if st.open is not None else fallback
        h = st.high if st.high is not None else last
        low = st.low if st.low is not None else last
        out = {"lastPrice": fmt.price(last), "highPrice24h": fmt.price(h),
               "lowPrice24h": fmt.price(low), "prevPrice24h": fmt.price(o),
               "volume24h": fmt.size(st.volume),
               "turnover24h": render.quote_text(fmt, st.quote, m.dialect.quote_width),
               "price24hPcnt": render.ratio_text(last - o, o, 6) if o else "0"}
        if not self.spot:
            b, bq, a, aq = m.bbo()
            out.update(bid1Price=fmt.price(b), bid1Size=fmt.size(bq), ask1Price=fmt.price(a),
                       ask1Size=fmt.size(aq))
        return out

    def ticker_snapshot(self, now_ns: int) -> bytes:
        """A ``snapshot`` in the documented key order of the market (spot: ``ts`` and
        ``cs`` before ``data``; linear: ``data`` first, then ``cs``, ``ts``), of the state
        last pushed (so a new subscriber's snapshot and the deltas everyone gets agree)."""
        m = self.market
        if self.ticker_sent is None:
            self.ticker_sent = self.ticker_fields(now_ns)
        f = self.ticker_sent
        ts, cs = now_ns // MS, m.model.last_id
        if self.spot:
            return (f'{{"topic":"{TICKERS}.{m.symbol}","ts":{ts},"type":"snapshot","cs":{cs},'
                    f'"data":{{"symbol":"{m.symbol}","lastPrice":"{f["lastPrice"]}",'
                    f'"highPrice24h":"{f["highPrice24h"]}","lowPrice24h":"{f["lowPrice24h"]}",'
                    f'"prevPrice24h":"{f["prevPrice24h"]}","volume24h":"{f["volume24h"]}",'
                    f'"turnover24h":"{f["turnover24h"]}","price24hPcnt":"{f["price24hPcnt"]}",'
                    f'"usdIndexPrice":"{f["lastPrice"]}"}}}}').encode()
        return (f'{{"topic":"{TICKERS}.{m.symbol}","type":"snapshot","data":{{"symbol":"{m.symbol}",'
                f'"tickDirection":"ZeroPlusTick","price24hPcnt":"{f["price24hPcnt"]}",'
                f'"lastPrice":"{f["lastPrice"]}","prevPrice24h":"{f["prevPrice24h"]}",'
                f'"highPrice24h":"{f["highPrice24h"]}","lowPrice24h":"{f["lowPrice24h"]}",'
                f'"prevPrice1h":"{f["prevPrice24h"]}","markPrice":"{f["lastPrice"]}",'
                f'"indexPrice":"{f["lastPrice"]}","openInterest":"0","openInterestValue":"0",'
                f'"turnover24h":"{f["turnover24h"]}","volume24h":"{f["volume24h"]}",'
                f'"fundingIntervalHour":"8","fundingCap":"0.005",'
                f'"nextFundingTime":"{ts - ts % 28_800_000 + 28_800_000}","fundingRate":"0.0001",'
                f'"bid1Price":"{f["bid1Price"]}","bid1Size":"{f["bid1Size"]}",'
                f'"ask1Price":"{f["ask1Price"]}","ask1Size":"{f["ask1Size"]}",'
                f'"preOpenPrice":"","preQty":"","curPreListingPhase":""}},"cs":{cs},"ts":{ts}}}'
                ).encode()

    def ticker_update(self, now_ns: int) -> bytes | None:
        """What the push due now sends, None if nothing changed: spot a whole snapshot,
        linear a ``delta`` of the fields that changed since the last push."""
        m = self.market
        now = self.ticker_fields(now_ns)
        if now == self.ticker_sent:
            return None
        if self.spot or self.ticker_sent is None:
            self.ticker_sent = now
            return self.ticker_snapshot(now_ns)
        changed = ",".join(f'"{k}":"{v}"' for k, v in now.items() if self.ticker_sent.get(k) != v)
        self.ticker_sent = now
        return (f'{{"topic":"{TICKERS}.{m.symbol}","type":"delta","data":{{"symbol":"{m.symbol}",'
                f'{changed}}},"cs":{m.model.last_id},"ts":{now_ns // MS}}}').encode()

    def periodic(self, now_ns: int, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """``tickers`` every 50 ms (spot) or 100 ms (linear) when something changed;
        ``orderbook.1`` again (same ``u``) after 3 s without a change."""
        out: list[tuple[str, bytes]] = []
        if BBO in keys and self._bbo_last is not None and now_ns - self._bbo_sent_ns >= BBO_IDLE_NS:
            out.append((BBO, self.bbo_snapshot(now_ns)))
        return out + self._tickers_due(now_ns, keys) + self._klines_due(now_ns, keys)

    def kline(self, name: str, interval_ns: int, bar: Bar, closed: bool, now_ns: int) -> bytes:
        """One ``kline.{interval}.{symbol}`` message, the documented shape (channels.md
        7.3): ``start``/``end`` ms numbers (``end`` the bar's last ms), ``volume`` base,
        ``turnover`` quote, ``confirm``, ``timestamp`` the push time."""
        m = self.market
        fmt = m.fmt
        start = bar.start_ns // MS
        end = (bar.start_ns + interval_ns) // MS - 1
        ts = now_ns // MS
        return (f'{{"topic":"{KLINE}{name}.{m.symbol}","data":[{{"start":{start},"end":{end},'
                f'"interval":"{name}","open":"{fmt.price(bar.open)}",'
                f'"close":"{fmt.price(bar.close)}","high":"{fmt.price(bar.high)}",'
                f'"low":"{fmt.price(bar.low)}","volume":"{fmt.size(bar.volume)}",'
                f'"turnover":"{render.quote_text(fmt, bar.quote, m.dialect.quote_width)}",'
                f'"confirm":{"true" if closed else "false"},"timestamp":{ts}}}],'
                f'"ts":{ts},"type":"snapshot"}}').encode()

    def _klines_due(self, now_ns: int, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """Each ``kline`` key's open bar every second, and its final update as soon as
        its interval is over."""
        keys = set(keys)
        out: list[tuple[str, bytes]] = []
        for key in keys:
            name = key[len(KLINE):]
            if not key.startswith(KLINE) or name in KLINE_SILENT:
                continue
            interval = KLINE_MS[name] * MS
            start = now_ns - now_ns % interval
            open_start = self._open_bar.get(key)
            if open_start is not None and open_start != start:
                out.append((key, self.kline(name, interval, self.market.bar(interval, open_start),
                                            True, now_ns)))
                self._kline_due[key] = 0
            self._open_bar[key] = start
            if now_ns >= self._kline_due.get(key, 0):
                self._kline_due[key] = now_ns + KLINE_EVERY_NS
                out.append((key, self.kline(name, interval, self.market.bar(interval, start),
                                            False, now_ns)))
        for key in list(self._open_bar):
            if key not in keys:     # nobody left: a later subscriber starts afresh
                del self._open_bar[key]
                self._kline_due.pop(key, None)
        return out

    def _tickers_due(self, now_ns: int, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        if TICKERS not in keys:
            self.ticker_sent = None     # nobody left: a later subscriber starts afresh
            return []
        if now_ns < self._ticker_due:
            return []
        self._ticker_due = now_ns + TICKER_PERIOD[self.spot]
        payload = self.ticker_update(now_ns)
        return [] if payload is None else [(TICKERS, payload)]

    def inject(self, fault: str, params: dict[str, Any]) -> bool:
        """``restart``: the next ``count`` messages are ``u == 1`` snapshots."""
        if fault != "restart":
            return False
        self.restarts += int(params["count"])
        return True

    def prerender_burst(self) -> None:
        """Snapshot and deltas, framed (the same bytes for every subscriber)."""
        m = self.market
        assert m.burst_start is not None
        u = self.u
        self.frames.append(render.ws_frame(self.render(
            "snapshot", m.burst_start.sorted_bids(), m.burst_start.sorted_asks(), u, m.burst_start.last_id)))
        for i, msg in enumerate(m.burst, 1):
            self.frames.append(render.ws_frame(self.render("delta", msg.bids, msg.asks, u + i, msg.last_id)))


class BybitConn(WireSnapshotConn):
    """A Bybit public connection: ``op`` requests, in-band snapshots, ``delta`` frames."""

    wire_class = BybitWire

    def __init__(self, host: SimHost, venue: str) -> None:
        """Nothing subscribed."""
        super().__init__(host, venue)
        self.conn_id = f"sim-{id(self):x}"
        self.books: list[str] = []
        self.channel_symbols: dict[str, list[str]] = {}
        """The symbols subscribed on each channel besides the book (by channel key)."""
        self.spec = get_venue(venue)

    def _reply(self, obj: dict[str, Any]) -> None:
        obj["conn_id"] = self.conn_id
        self.send_raw(render.json_bytes(obj), data=False)

    def on_text(self, data: bytes) -> None:
        """``subscribe``/``unsubscribe`` of ``orderbook.{depth}.{symbol}`` and
        ``publicTrade.{symbol}`` topics, ``ping``."""
        try:
            req = json.loads(data)
            op = req["op"]
            args = req.get("args", [])
            if not isinstance(op, str) or not isinstance(args, list):
                raise TypeError(op)
        except (ValueError, KeyError, TypeError):
            self._reply({"success": False, "ret_msg": "error:request not valid", "op": ""})
            return
        head: dict[str, Any] = {"req_id": req["req_id"]} if "req_id" in req else {}
        if op == "ping":
            self._reply({"success": True, "ret_msg": "pong", **head, "op": "ping"})
            return
        if op not in ("subscribe", "unsubscribe"):
            self._reply({"success": False, "ret_msg": f"error:handler not found,op:{op}", **head, "op": op})
            return
        if self.spec.name == BybitSpot.name and len(args) > self.spec.max_streams_per_message:
            self._reply({"success": False, "ret_msg": f"args size >{self.spec.max_streams_per_message}",
                         **head, "op": op})
            return
        symbols = []
        channels: list[tuple[str, str]] = []
        for topic in args:
            parts = topic.split(".") if isinstance(topic, str) else []
            if len(parts) == 2 and parts[0] in TOPICS and self.known(parts[1]):
                channels.append((parts[0], parts[1]))
                continue
            if len(parts) == 3 and f"{parts[0]}.{parts[1]}" == BBO and self.known(parts[2]):
                channels.append((BBO, parts[2]))    # the 1-level book: the BBO channel
                continue
            if (len(parts) == 3 and f"{parts[0]}." == KLINE and parts[1] in KLINE_MS
                    and self.known(parts[2])):
                channels.append((f"{KLINE}{parts[1]}", parts[2]))
                continue
            if len(parts) != 3 or parts[0] != "orderbook" or parts[1] not in DEPTHS or not self.known(parts[2]):
                self._reply({"success": False, "ret_msg": f"error:handler not found,topic:{topic}", **head,
                             "op": op})
                return
            symbols.append(parts[2])
        self.subscribed = True
        snapshots = []
        for key, s in channels:
            m = self.market(s)
            held = self.channel_symbols.setdefault(key, [])
            if op == "subscribe" and s not in held:
                held.append(s)
                if m.live:
                    m.subscribe_channel(self, key)
                    self.markets.add(m)
                    if key in (TICKERS, BBO):
                        snapshots.append((key, m))
            elif op == "unsubscribe":
                leave_channel(self, m, held, s, key)
        fresh = []
        for s in symbols:
            if op == "subscribe" and s not in self.books:
                self.books.append(s)
                fresh.append(s)
            elif op == "unsubscribe" and s in self.books:
                self.books.remove(s)
                self.close_product(s)
        # spot acks say the op in ret_msg; linear and inverse leave it empty
        self._reply({"success": True, "ret_msg": op if self.spec.name == BybitSpot.name else "", **head,
                     "op": op})
        for key, m in snapshots:    # a ticker or orderbook.1 subscription starts with one
            wire = wire_of(m, BybitWire)
            now_ns = render.now_ms() * MS
            self.send_raw(wire.ticker_snapshot(now_ns) if key == TICKERS else wire.bbo_snapshot(now_ns))
        self.open(fresh)

    def close_product(self, product: str) -> None:
        """Stop the product's book; its ``publicTrade`` topic, when subscribed, goes on."""
        super().close_product(product)
        m = self.market(product)
        for key, held in self.channel_symbols.items():
            if product in held and m.live:
                m.subscribe_channel(self, key)
                self.markets.add(m)


class BybitDialect(PathDialect):
    """Bybit v5 spot in the simulator (the REST instrument endpoint serves both)."""

    venue_name = BybitSpot.name
    ws_path = "/bybit/v5/public/spot"
    wire_class = BybitWire
    conn_class = BybitConn
    channel_names = TOPICS

    def rest_routes(self) -> list[Route]:
        """``instruments-info`` for every category (one route: the port is shared)."""
        return [("GET", "/v5/market/instruments-info", instruments_info)]


class BybitLinearDialect(BybitDialect):
    """Bybit v5 USDT perpetuals in the simulator."""

    venue_name = BybitLinear.name
    ws_path = "/bybit/v5/public/linear"

    def rest_routes(self) -> list[Route]:
        """None of its own (the spot dialect's route answers ``category=linear``)."""
        return []


_CATEGORIES = {BybitSpot.category: BybitSpot.name, BybitLinear.category: BybitLinear.name}


async def instruments_info(api: RestApi, request: web.Request) -> web.Response:
    """``{"retCode":0,"retMsg":"OK","result":{"category":..,"list":[{"symbol":..,
    "priceFilter":{"tickSize":..},"lotSizeFilter":{..}}]}}``: spot's size step is
    ``basePrecision``, linear's ``qtyStep``; an unknown symbol is an empty list, an
    unknown category ``retCode`` 10001."""
    category = request.query.get("category", "")
    symbol = request.query.get("symbol", "")
    venue = _CATEGORIES.get(category)
    if venue is None:
        return web.json_response({"retCode": 10001, "retMsg": "Illegal category", "result": {}})
    injected = api.begin(venue, symbol)
    if injected is not None:
        return injected
    m = api.host.find_market(venue, symbol)
    rows = []
    if m is not None:
        spec = get_venue(venue)
        assert isinstance(spec, _Spot)
        lot = {spec.step_field: m.cfg.step_size, "minOrderQty": m.cfg.step_size}
        rows.append({"symbol": symbol, "status": "Trading", "priceFilter": {"tickSize": m.cfg.tick_size},
                     "lotSizeFilter": lot})
    return web.json_response({"retCode": 0, "retMsg": "OK", "result": {"category": category, "list": rows}})
