"""Coinbase Exchange: ``level2_batch`` (or ``level2``), ``heartbeat``, ``matches`` and
``ticker`` channels, no sequence on the book.

WebSocket ``/coinbase/exchange``; one subscribe may name several channels, as names or as
``{name, product_ids}`` objects. Updates are ``l2update`` messages, one per market message;
heartbeats are one message per subscribed product; ``matches`` one ``match`` per fill
(``trade_id`` +1 per product), a ``last_match`` first; ``ticker`` one per market message
with trades (the last one), the current one first. REST: ``GET /products/{id}``,
``GET /products/{id}/trades`` (cursor pages by trade id).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from fastfeed.sim import render
from fastfeed.sim.dialects.base import Wire, leave_channel
from fastfeed.sim.dialects.coinbase_common import (
    CoinbaseConn,
    CoinbaseDialect,
    round_robin,
    ticker_fields,
)
from fastfeed.sim.host import Blob, SimHost
from fastfeed.sim.market import Market
from fastfeed.sim.model import BookState, Message
from fastfeed.sim.rest import RestApi, Route
from fastfeed.sim.tape import Fill
from fastfeed.sim.transport import Item
from fastfeed.venues import CoinbaseExchange, get_venue

#: Update prices print with this many decimals (snapshots use the product's increment).
UPDATE_PRICE_DECIMALS = 8
#: The channels besides the book and ``heartbeat``.
CHANNELS = ("matches", "ticker")
#: ``GET /products/{id}/trades``: rows per page by default and at most (UNCERTAIN).
TRADES_PAGE = 1000


class ExchangeWire(Wire):
    """Complete ``l2update`` messages; bursts as complete frames."""

    def __init__(self, market: Market) -> None:
        """No burst frames until :meth:`prerender_burst`."""
        super().__init__(market)
        self.frames: list[bytes] = []
        """The burst as complete WebSocket frames, the snapshot first."""

    def update(self, msg: Message, pad_bytes: int | None) -> bytes:
        """One ``l2update``."""
        m = self.market
        asks: Iterable[tuple[int, int]] = msg.asks
        if pad_bytes:
            per = len(m.fmt.price(m.model.far_ask_prices(1)[0])) + 20
            asks = list(msg.asks) + [(p, 0) for p in m.model.far_ask_prices(pad_bytes // per + 1)]
        return render.ex_l2update(m.symbol, msg.bids, asks, m.fmt, UPDATE_PRICE_DECIMALS, render.rfc3339_us())

    # -- matches, ticker --------------------------------------------------------------------

    def match(self, kind: str, f: Fill, k: int = 0) -> bytes:
        """A ``match`` (or ``last_match``); ``sequence`` grows but is not contiguous (the
        full feed's), order ids are derived from the trade id."""
        m = self.market
        return render.ex_match(kind, f.trade_id, f.update_id * 100 + k, render.order_id(f.trade_id * 2),
                               render.order_id(f.agg_id * 2 + 1), render.rfc3339_us(f.t_ns), m.symbol,
                               m.fmt.size(f.size), m.fmt.price(f.price), "sell" if f.taker > 0 else "buy")

    def ticker(self, f: Fill, sequence: int) -> bytes:
        """A ``ticker`` after fill ``f`` (``side``: the taker's, UNCERTAIN)."""
        m = self.market
        t = ticker_fields(m, f.t_ns)
        return (f'{{"type":"ticker","sequence":{sequence},"product_id":"{m.symbol}","price":"{t.price}",'
                f'"open_24h":"{t.open}","volume_24h":"{t.volume}","low_24h":"{t.low}","high_24h":"{t.high}",'
                f'"volume_30d":"{t.volume_30d}","best_bid":"{t.best_bid}","best_bid_size":"{t.best_bid_size}",'
                f'"best_ask":"{t.best_ask}","best_ask_size":"{t.best_ask_size}",'
                f'"side":"{"buy" if f.taker > 0 else "sell"}","time":"{render.rfc3339_us(f.t_ns)}",'
                f'"trade_id":{f.trade_id},"last_size":"{m.fmt.size(f.size)}"}}').encode()

    def channels(self, msg: Message, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """A ``match`` per fill, then one ``ticker`` for the message's last fill."""
        if not msg.trades:
            return []
        keys = set(keys)
        out: list[tuple[str, bytes]] = []
        if "matches" in keys:
            out.extend(("matches", self.match("match", f, k)) for k, f in enumerate(msg.trades))
        if "ticker" in keys:
            last = msg.trades[-1]
            out.append(("ticker", self.ticker(last, last.update_id * 100 + len(msg.trades) - 1)))
        return out

    def prerender_burst(self) -> None:
        """Snapshot and updates, framed (nothing in them depends on the connection)."""
        m = self.market
        assert m.burst_start is not None
        ts = render.rfc3339_us()
        self.frames.append(render.ws_frame(render.ex_snapshot(m.symbol, m.burst_start, m.fmt)))
        self.frames.extend(render.ws_frame(render.ex_l2update(m.symbol, msg.bids, msg.asks, m.fmt,
                                                              UPDATE_PRICE_DECIMALS, ts))
                           for msg in m.burst)


def _frames(m: Market) -> list[bytes]:
    wire = m.wire
    assert isinstance(wire, ExchangeWire)
    return wire.frames


class ExchangeConn(CoinbaseConn):
    """A Coinbase Exchange connection (``level2_batch``/``level2`` + ``heartbeat``)."""

    def __init__(self, host: SimHost, venue: str) -> None:
        """Nothing subscribed."""
        super().__init__(host, venue)
        self.l2: list[str] = []
        self.hb: list[str] = []
        self.trade_ids: dict[str, int] = {}
        self.chan_products: dict[str, list[str]] = {c: [] for c in CHANNELS}

    def _reply(self, obj: Any) -> None:
        self.send_raw(render.json_bytes(obj), data=False)

    def on_text(self, data: bytes) -> None:
        """``subscribe``/``unsubscribe`` with ``channels`` as names or ``{name, product_ids}``."""
        try:
            req = json.loads(data)
            kind = req["type"]
            if kind not in ("subscribe", "unsubscribe"):
                raise ValueError(kind)
            wanted: list[tuple[str, list[str]]] = []
            for ch in req.get("channels", []):
                if isinstance(ch, str):
                    wanted.append((ch, list(req.get("product_ids", []))))
                else:
                    wanted.append((ch["name"], list(ch.get("product_ids", req.get("product_ids", [])))))
        except (ValueError, KeyError, TypeError):
            self._reply({"type": "error", "message": "Failed to subscribe", "reason": "malformed request"})
            return
        for _name, prods in wanted:
            bad = [p for p in prods if not self.known(p)]
            if bad:
                self._reply({"type": "error", "message": "Failed to subscribe",
                             "reason": f"{bad[0]} is not a valid product"})
                return
        self.subscribed = True
        new_l2: list[str] = []
        fresh: list[tuple[str, str]] = []
        for name, prods in wanted:
            if name in ("level2", "level2_batch"):
                for p in prods:
                    if kind == "subscribe" and p not in self.l2:
                        self.l2.append(p)
                        new_l2.append(p)
                    elif kind == "unsubscribe" and p in self.l2:
                        self.l2.remove(p)
                        self.close_product(p)
            elif name in CHANNELS:
                mine = self.chan_products[name]
                for p in prods:
                    if kind == "subscribe" and p not in mine:
                        mine.append(p)
                        fresh.append((name, p))
                    elif kind == "unsubscribe":
                        leave_channel(self, self.market(p), mine, p, name)
            elif name == "heartbeat":
                for p in prods:
                    if kind == "subscribe" and p not in self.hb:
                        self.hb.append(p)
                    elif kind == "unsubscribe" and p in self.hb:
                        self.hb.remove(p)
        channels = []
        if self.l2:
            channels.append({"name": "level2_batch", "product_ids": list(self.l2)})
        if self.hb:
            channels.append({"name": "heartbeat", "product_ids": list(self.hb)})
        channels.extend({"name": c, "product_ids": list(self.chan_products[c])} for c in CHANNELS
                        if self.chan_products[c])
        self._reply({"type": "subscriptions", "channels": channels})
        self.open(new_l2)
        for name, p in fresh:
            self._open_channel(name, p)

    def _open_channel(self, name: str, product: str) -> None:
        """``matches``: the ``last_match`` first; ``ticker``: the current ticker first
        (both only once the product has traded)."""
        m = self.market(product)
        wire = m.wire
        assert isinstance(wire, ExchangeWire)
        fills = m.model.fills
        if fills:
            last = fills[-1]
            if name == "matches":
                self.send_raw(wire.match("last_match", last))
            else:
                self.send_raw(wire.ticker(last, last.update_id * 100))
        if m.live:
            m.subscribe_channel(self, name)
            self.markets.add(m)

    def send_snapshot(self, m: Market, state: BookState) -> None:
        """A ``snapshot`` message, sent at once even behind a burst: there is no sequence,
        and a live product's updates are not queued either, so its snapshot still comes first."""
        self.send_raw(render.ex_snapshot(m.symbol, state, m.fmt))

    def burst_blob(self, markets: list[Market]) -> Blob:
        """The same bytes for every connection subscribing alike (no numbering)."""
        key = (self.venue, tuple(m.symbol for m in markets), 0)
        return self.host.blob_cache.get(key, lambda: render.frames_blob(round_robin([_frames(m) for m in markets])))

    def deliver(self, market: Market, stream: bytes, items: list[Item], msg: Message) -> None:
        """One ``l2update`` frame per item (between whole burst frames: no sequence)."""
        for payload, mode in items:
            self.send_item(payload, mode)

    def heartbeat(self) -> None:
        """One ``heartbeat`` message per subscribed product (none while bursting)."""
        if self.bursting:
            return
        ts = render.rfc3339_us()
        for p in self.hb:
            m = self.host.find_market(self.venue, p)
            seq = m.model.last_id if m is not None else 0
            if m is not None and m.model.fills:
                tid = m.model.fills[-1].trade_id  # the product's last trade (matches: +1 each)
            else:
                tid = self.trade_ids.get(p, 0) + 1  # no trade model: a counter, as before
                self.trade_ids[p] = tid
            self.send_raw(f'{{"type":"heartbeat","sequence":{seq},"last_trade_id":{tid},'
                          f'"product_id":"{p}","time":"{ts}"}}'.encode())


class ExchangeDialect(CoinbaseDialect):
    """Coinbase Exchange in the simulator."""

    channel_names = CHANNELS
    ws_path = "/coinbase/exchange"
    ws_aliases = ("/coinbase/exchange", "/coinbase-exchange")
    product_path = "/products/{product_id}"

    def __init__(self) -> None:
        """Read the venue's description."""
        self.venue = get_venue(CoinbaseExchange.name)

    def wire(self, market: Market) -> Wire:
        """Exchange messages for ``market``."""
        return ExchangeWire(market)

    def connection(self, host: SimHost) -> CoinbaseConn:
        """A new Exchange connection."""
        return ExchangeConn(host, self.name)

    def rest_routes(self) -> list[Route]:
        """Product metadata and ``/products/{id}/trades``."""
        return [*super().rest_routes(), ("GET", "/products/{product_id}/trades", self.trades)]

    async def trades(self, api: RestApi, request: web.Request) -> web.Response:
        """Trades newest first, ``limit`` (default and at most 1000) per page: ``after=X``
        the page older than trade id X, ``before=X`` the page just newer than X; headers
        ``CB-BEFORE`` (newest id of the page) and ``CB-AFTER`` (oldest) are the cursors.
        ``side`` is the maker's. From the retained tape (``SimConfig.trade_history``)."""
        product = request.match_info["product_id"]
        injected = api.begin(self.name, product)
        if injected is not None:
            return injected
        m = api.host.find_market(self.name, product)
        if m is None:
            return web.json_response({"message": "NotFound"}, status=404)
        q = request.query
        try:
            limit = int(q.get("limit", TRADES_PAGE))
            before = int(q["before"]) if q.get("before") else None
            after = int(q["after"]) if q.get("after") else None
        except ValueError:
            return web.json_response({"message": "Invalid pagination parameter"}, status=400)
        if not 1 <= limit <= TRADES_PAGE:
            return web.json_response({"message": f"limit must be 1..{TRADES_PAGE}"}, status=400)
        fills = list(m.model.fills)
        if before is not None:
            page = [f for f in fills if f.trade_id > before][:limit]
        else:
            older = [f for f in fills if after is None or f.trade_id < after]
            page = older[-limit:]
        page.reverse()
        fmt = m.fmt
        body = [{"time": render.rfc3339_us(f.t_ns), "trade_id": f.trade_id, "price": fmt.price(f.price),
                 "size": fmt.size(f.size), "side": "sell" if f.taker > 0 else "buy"} for f in page]
        headers = {"CB-BEFORE": str(page[0].trade_id), "CB-AFTER": str(page[-1].trade_id)} if page else {}
        return web.Response(body=render.json_bytes(body), content_type="application/json", headers=headers)

    def product_body(self, product: str) -> dict[str, Any]:
        """``GET /products/{id}`` fields."""
        base, _, quote = product.partition("-")
        return {"id": product, "base_currency": base, "quote_currency": quote,
                "status": "online", "trading_disabled": False}
