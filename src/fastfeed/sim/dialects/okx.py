"""OKX v5 public order books, trades, tickers, BBO (``okx``): ``books``, ``trades``,
``tickers``, ``bbo-tbt``.

WebSocket ``/okx/ws/v5/public``. Requests are
``{"op":"subscribe"|"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"},...]}``,
acknowledged one ``{"event":"subscribe","arg":{...},"connId":..}`` per arg (an unknown
channel or instrument: an ``error`` event, code 60018), and the text ``ping``, answered
``pong``. A subscribed book gets a ``snapshot`` (``prevSeqId`` -1) at once, then one
``update`` per market message whose ``prevSeqId`` is the previous ``seqId`` (``seqId``
grows by 1..3: the venue's is not +1). Levels are ``[price, size, "0", count]``; the
retired ``checksum`` is always 0. Venue faults: ``chain_break`` (a ``prevSeqId`` that does
not match), ``seq_reset`` (``seqId`` jumps backwards, the chain intact: maintenance) and
``keepalive`` (idle keep-alive updates: empty sides, ``seqId == prevSeqId``, sent at once).
The book is served whole (the venue's is 400 levels). ``trades``: one message per taker
order at one price (the model's fills aggregated), ``tradeId`` the last fill's id,
``count`` the fills, ``side`` the taker's; ``tickers`` on a trade or a best bid/ask
change, at most one per 100 ms; ``bbo-tbt`` on every best bid/ask change (``seqId``
the book's); ``candle<bar>`` on ``/okx/ws/v5/business`` only (and nothing else
there): the open bar every second, the final one (``confirm`` "1") when it is over;
unsubscribing ``books`` leaves the other channels
running. REST:
``GET /api/v5/public/instruments?instType=SPOT|SWAP&instId=``. Shapes: docs/simulator.md,
"OKX".
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from fastfeed.sim import render
from fastfeed.sim.dialects.base import PathDialect, Wire, switch_channel
from fastfeed.sim.dialects.coinbase_common import WireSnapshotConn
from fastfeed.sim.host import SimHost
from fastfeed.sim.market import Market
from fastfeed.sim.model import BookState, Message
from fastfeed.sim.rest import RestApi, Route
from fastfeed.sim.tape import Agg, Bar, aggregate
from fastfeed.venues.okx import BAR_SECONDS, Okx

#: The channels a connection may subscribe.
CHANNELS = ("books", "trades", "tickers", "bbo-tbt")
#: The channels of the ``/business`` path (``candle<bar>``: the prefix).
BUSINESS_PREFIX = "candle"
#: ``candle<bar>``: an open bar is pushed this often (the venue's fastest push)
CANDLE_EVERY_NS = 1_000_000_000
#: ``tickers``: at most one push per this many ns (docs/venues.md, "OKX")
TICKER_EVERY_NS = 100_000_000
#: Where a ``seq_reset`` fault takes ``seqId`` (far below any live value).
RESET_SEQ = 1000


class OkxWire(Wire):
    """One market's ``books`` messages and its ``seqId`` chain."""

    def __init__(self, market: Market) -> None:
        """``seqId`` starts where a real book would be (a large number), no fault pending."""
        super().__init__(market)
        self.seq = 10_000_000 + market.model.last_id
        """The ``seqId`` of the last message rendered (a subscribe's snapshot carries it)."""
        self.breaks = 0
        """``chain_break`` faults pending."""
        self.resets = 0
        """``seq_reset`` faults pending."""
        self.frames: list[bytes] = []
        """The burst as complete WebSocket frames, the snapshot first."""
        self._ticker_due = 0
        self._ticker_pending = False
        self._ticker_bbo: tuple[int, int, int, int] | None = None
        self._last_bbo: tuple[int, int, int, int] | None = None
        self._bbo_seq = 0
        self._open_bar: dict[str, int] = {}
        self._candle_due: dict[str, int] = {}

    def render(self, action: str, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]],
               seq: int, prev: int) -> bytes:
        """One ``snapshot``/``update`` in the venue's field order."""
        m = self.market
        return (f'{{"arg":{{"channel":"books","instId":"{m.symbol}"}},"action":"{action}","data":[{{'
                f'"asks":{self._levels(asks)},"bids":{self._levels(bids)},"ts":"{render.now_ms()}",'
                f'"checksum":0,"prevSeqId":{prev},"seqId":{seq}}}]}}').encode()

    def _levels(self, levels: Iterable[tuple[int, int]]) -> str:
        fmt = self.market.fmt
        return "[" + ",".join(f'["{fmt.price(p)}","{fmt.size(q)}","0","{1 if q else 0}"]'
                              for p, q in levels) + "]"

    def snapshot(self, state: BookState) -> bytes:
        """The book ``state`` as a snapshot at the current ``seqId`` (``prevSeqId`` -1)."""
        return self.render("snapshot", state.sorted_bids(), state.sorted_asks(), self.seq, -1)

    def _next_seq(self, msg: Message) -> int:
        return self.seq + 1 + msg.last_id % 3

    def update(self, msg: Message, pad_bytes: int | None) -> bytes:
        """One ``update`` chained to the last ``seqId`` (or broken / reset by a fault)."""
        m = self.market
        prev = self.seq
        seq = self._next_seq(msg)
        if self.resets:
            self.resets -= 1
            m.host.fired("seq_reset")
            seq = RESET_SEQ + msg.last_id % 100     # backwards, prevSeqId still the last
        sent_prev = prev
        if self.breaks:
            self.breaks -= 1
            m.host.fired("chain_break")
            sent_prev = prev - 1                   # not the last seqId
        self.seq = seq
        asks: Iterable[tuple[int, int]] = msg.asks
        if pad_bytes:
            per = len(m.fmt.price(m.model.far_ask_prices(1)[0])) + 14
            asks = list(msg.asks) + [(p, 0) for p in m.model.far_ask_prices(pad_bytes // per + 1)]
        return self.render("update", msg.bids, asks, seq, sent_prev)

    def trade(self, a: Agg) -> bytes:
        """One ``trades`` message: the fills of one taker order at one price."""
        m = self.market
        return (f'{{"arg":{{"channel":"trades","instId":"{m.symbol}"}},"data":[{{"instId":"{m.symbol}",'
                f'"tradeId":"{a.last_id}","px":"{m.fmt.price(a.price)}","sz":"{m.fmt.size(a.size)}",'
                f'"side":"{"buy" if a.taker > 0 else "sell"}","ts":"{a.t_ns // 1_000_000}",'
                f'"count":"{a.last_id - a.first_id + 1}","source":"0","seqId":{self.seq}}}]}}').encode()

    def ticker(self, now_ns: int) -> bytes:
        """One ``tickers`` message over the rolling window (``SimConfig.ticker_window``)
        in the documented field order. SPOT: ``vol24h`` base, ``volCcy24h`` quote; SWAP
        (a contract is one unit of base here): ``vol24h`` contracts, ``volCcy24h`` base.
        ``sodUtc0``/``sodUtc8`` are the window's open."""
        m = self.market
        fmt = m.fmt
        st = m.window.stats(now_ns)
        fallback = st.prev_price if st.prev_price is not None else m.mid()
        last = st.last if st.last is not None else fallback
        o = st.open if st.open is not None else fallback
        h = st.high if st.high is not None else last
        low = st.low if st.low is not None else last
        b, bq, a, aq = m.bbo()
        swap = Okx.inst_type(m.symbol) == "SWAP"
        vol = fmt.size(st.volume)
        vol_ccy = vol if swap else render.quote_text(fmt, st.quote, m.dialect.quote_width)
        op = fmt.price(o)
        return (f'{{"arg":{{"channel":"tickers","instId":"{m.symbol}"}},"data":[{{'
                f'"instType":"{"SWAP" if swap else "SPOT"}","instId":"{m.symbol}",'
                f'"last":"{fmt.price(last)}","lastSz":"{fmt.size(st.last_size)}",'
                f'"askPx":"{fmt.price(a)}","askSz":"{fmt.size(aq)}","bidPx":"{fmt.price(b)}",'
                f'"bidSz":"{fmt.size(bq)}","open24h":"{op}","high24h":"{fmt.price(h)}",'
                f'"low24h":"{fmt.price(low)}","volCcy24h":"{vol_ccy}","vol24h":"{vol}",'
                f'"sodUtc0":"{op}","sodUtc8":"{op}","ts":"{now_ns // 1_000_000}"}}]}}').encode()

    def bbo(self, bbo: tuple[int, int, int, int]) -> bytes:
        """One ``bbo-tbt`` message (documented field order), ``seqId`` the book's (one
        more than the last when no book subscriber moved it: it always grows)."""
        m = self.market
        fmt = m.fmt
        b, bq, a, aq = bbo
        self._bbo_seq = self.seq if self.seq > self._bbo_seq else self._bbo_seq + 1
        return (f'{{"arg":{{"channel":"bbo-tbt","instId":"{m.symbol}"}},"data":[{{"asks":[['
                f'"{fmt.price(a)}","{fmt.size(aq)}","0","1"]],"bids":[["{fmt.price(b)}",'
                f'"{fmt.size(bq)}","0","1"]],"ts":"{render.now_ms()}","seqId":{self._bbo_seq}}}]}}'
                ).encode()

    def _ticker_if_due(self, now_ns: int) -> list[tuple[str, bytes]]:
        if not self._ticker_pending or now_ns < self._ticker_due:
            return []
        self._ticker_pending = False
        self._ticker_due = now_ns + TICKER_EVERY_NS
        return [("tickers", self.ticker(now_ns))]

    def channels(self, msg: Message, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """A ``trades`` message per aggregate of the message's fills; ``tickers`` on a
        trade or a change of the best bid/ask, at most once per 100 ms (a change inside
        that is pushed when it is over, ``periodic``); ``bbo-tbt`` when the best bid or
        ask (price or size) changed."""
        keys = set(keys)
        out: list[tuple[str, bytes]] = []
        if msg.trades and "trades" in keys:
            out.extend(("trades", self.trade(a)) for a in aggregate(msg.trades))
        if "tickers" in keys:
            bbo = self.market.bbo()
            if msg.trades or bbo != self._ticker_bbo:
                self._ticker_bbo = bbo
                self._ticker_pending = True
            out.extend(self._ticker_if_due(time.time_ns()))
        else:
            self._ticker_bbo = None
        if "bbo-tbt" in keys:
            bbo = self.market.bbo()
            if bbo != self._last_bbo:
                self._last_bbo = bbo
                out.append(("bbo-tbt", self.bbo(bbo)))
        else:
            self._last_bbo = None
        return out

    def candle(self, bar_name: str, bar: Bar, closed: bool) -> bytes:
        """One ``candle<bar>`` message: ``[ts, o, h, l, c, vol, volCcy, volCcyQuote,
        confirm]``; SPOT ``vol`` base and ``volCcy`` quote, SWAP (a contract is one unit
        of base here) ``vol`` contracts and ``volCcy`` base; ``volCcyQuote`` quote."""
        m = self.market
        fmt = m.fmt
        vol = fmt.size(bar.volume)
        quote = render.quote_text(fmt, bar.quote, m.dialect.quote_width)
        ccy = vol if Okx.inst_type(m.symbol) == "SWAP" else quote
        return (f'{{"arg":{{"channel":"candle{bar_name}","instId":"{m.symbol}"}},"data":[['
                f'"{bar.start_ns // 1_000_000}","{fmt.price(bar.open)}","{fmt.price(bar.high)}",'
                f'"{fmt.price(bar.low)}","{fmt.price(bar.close)}","{vol}","{ccy}","{quote}",'
                f'"{1 if closed else 0}"]]}}').encode()

    def periodic(self, now_ns: int, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """A ``tickers`` change held back by the 100 ms limit, once it is over; each
        ``candle<bar>``'s open bar every second, and its final push (``confirm`` "1") as
        soon as its interval is over (bars aligned to UTC, every bar)."""
        keys = set(keys)
        out = self._ticker_if_due(now_ns) if "tickers" in keys else []
        for key in keys:
            if not key.startswith(BUSINESS_PREFIX):
                continue
            name = key[len(BUSINESS_PREFIX):]
            interval = BAR_SECONDS[name] * 1_000_000_000
            start = now_ns - now_ns % interval
            open_start = self._open_bar.get(key)
            if open_start is not None and open_start != start:
                out.append((key, self.candle(name, self.market.bar(interval, open_start), True)))
                self._candle_due[key] = 0
            self._open_bar[key] = start
            if now_ns >= self._candle_due.get(key, 0):
                self._candle_due[key] = now_ns + CANDLE_EVERY_NS
                out.append((key, self.candle(name, self.market.bar(interval, start), False)))
        for key in list(self._open_bar):
            if key not in keys:  # nobody left: a later subscriber starts afresh
                del self._open_bar[key]
                self._candle_due.pop(key, None)
        return out

    def keepalive(self) -> bytes:
        """The idle keep-alive: empty sides, ``seqId == prevSeqId`` (the last one)."""
        return self.render("update", (), (), self.seq, self.seq)

    def inject(self, fault: str, params: dict[str, Any]) -> bool:
        """``chain_break`` / ``seq_reset``: the next ``count`` messages; ``keepalive``:
        ``count`` keep-alive updates to every subscriber now."""
        if fault == "chain_break":
            self.breaks += int(params["count"])
        elif fault == "seq_reset":
            self.resets += int(params["count"])
        elif fault == "keepalive":
            m = self.market
            for _ in range(int(params["count"])):
                payload = self.keepalive()
                m.host.fired("keepalive")
                for conn in list(m.subs):
                    if isinstance(conn, OkxConn) and not conn.bursting:
                        conn.send_raw(payload)
        else:
            return False
        return True

    def prerender_burst(self) -> None:
        """Snapshot and chained updates, framed (the same bytes for every subscriber)."""
        m = self.market
        assert m.burst_start is not None
        start = m.burst_start
        self.frames.append(render.ws_frame(self.render("snapshot", start.sorted_bids(), start.sorted_asks(),
                                                       self.seq, -1)))
        for msg in m.burst:
            prev, self.seq = self.seq, self._next_seq(msg)
            self.frames.append(render.ws_frame(self.render("update", msg.bids, msg.asks, self.seq, prev)))


class OkxConn(WireSnapshotConn):
    """An OKX public connection: ``op`` requests, text ``ping``, in-band snapshots."""

    wire_class = OkxWire

    def __init__(self, host: SimHost, venue: str, business: bool = False) -> None:
        """Nothing subscribed; ``business``: the ``/business`` path (candles only)."""
        super().__init__(host, venue)
        self.business = business
        self.conn_id = f"{id(self) & 0xFFFFFFFF:08x}"
        self.books: list[str] = []
        self.chan_insts: dict[str, list[str]] = {}
        """The instruments subscribed per channel other than books."""
        self.text_pings = 0
        """Text ``ping`` messages received (answered ``pong``)."""

    def _reply(self, obj: dict[str, Any]) -> None:
        obj["connId"] = self.conn_id
        self.send_raw(render.json_bytes(obj), data=False)

    def on_text(self, data: bytes) -> None:
        """The text ``ping``; ``subscribe``/``unsubscribe`` of ``books`` args."""
        if data == b"ping":
            self.text_pings += 1
            self.send_raw(b"pong", data=False)
            return
        try:
            req = json.loads(data)
            op = req["op"]
            args = req["args"]
            if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not all(
                    isinstance(a, dict) for a in args):
                raise ValueError(op)
        except (ValueError, KeyError, TypeError):
            self._reply({"event": "error", "code": "60012", "msg": f"Invalid request: {data[:200]!r}"})
            return
        for a in args:
            if not self._serves(a.get("channel")) or not self.known(a.get("instId")):
                self._reply({"event": "error", "code": "60018",
                             "msg": f"Wrong URL or channel:{a.get('channel')},instId:{a.get('instId')} "
                                    f"doesn't exist. Please use the correct URL, channel and parameters "
                                    f"referring to API document."})
                return
        self.subscribed = True
        fresh = []
        for a in args:
            s, channel = a["instId"], a["channel"]
            self._reply({"event": op, "arg": {"channel": channel, "instId": s}})
            if channel != "books":
                self._channel(op, s, channel)
            elif op == "subscribe" and s not in self.books:
                self.books.append(s)
                fresh.append(s)
            elif op == "unsubscribe" and s in self.books:
                self.books.remove(s)
                m = self.market(s)
                m.unsubscribe(self, b"")            # the book only: trades go on
                if not m.has(self):
                    self.markets.discard(m)
        self.open(fresh)

    def _serves(self, channel: Any) -> bool:
        # "Subscribing on the wrong path fails": candles on /business, the rest on /public
        if not isinstance(channel, str):
            return False
        if channel.startswith(BUSINESS_PREFIX):
            return self.business and channel[len(BUSINESS_PREFIX):] in BAR_SECONDS
        return not self.business and channel in CHANNELS

    def _channel(self, op: str, symbol: str, channel: str) -> None:
        switch_channel(self, op, self.market(symbol), self.chan_insts.setdefault(channel, []),
                       symbol, channel)


class OkxDialect(PathDialect):
    """OKX v5 public books in the simulator."""

    venue_name = Okx.name
    ws_path = "/okx/ws/v5/public"
    also_paths = ("/okx/ws/v5/business",)
    wire_class = OkxWire
    conn_class = OkxConn
    channel_names = ("trades", "tickers", "bbo-tbt")

    def accept(self, host: SimHost, path: str, query: Any) -> Any:
        """A connection on ``/public`` or ``/business``."""
        return OkxConn(host, self.name, business=path.endswith("/business"))

    def rest_routes(self) -> list[Route]:
        """``/api/v5/public/instruments``."""
        return [("GET", "/api/v5/public/instruments", instruments)]


async def instruments(api: RestApi, request: web.Request) -> web.Response:
    """``{"code":"0","msg":"","data":[{"instType":..,"instId":..,"tickSz":..,"lotSz":..,
    "state":"live"}]}``; an unknown instrument (or one of the other ``instType``) is
    code 51001 with no data."""
    inst_type = request.query.get("instType", "")
    inst_id = request.query.get("instId", "")
    injected = api.begin(Okx.name, inst_id)
    if injected is not None:
        return injected
    m = api.host.find_market(Okx.name, inst_id)
    if m is None or Okx.inst_type(inst_id) != inst_type:
        return web.json_response({"code": "51001", "msg": "Instrument ID does not exist", "data": []})
    row = {"instType": inst_type, "instId": inst_id, "tickSz": m.cfg.tick_size, "lotSz": m.cfg.step_size,
           "minSz": m.cfg.step_size, "state": "live"}
    return web.json_response({"code": "0", "msg": "", "data": [row]})
