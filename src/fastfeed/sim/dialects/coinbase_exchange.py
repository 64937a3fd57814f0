"""Coinbase Exchange: ``level2_batch`` (or ``level2``) + ``heartbeat`` channels, no sequence.

WebSocket ``/coinbase/exchange``; one subscribe may name several channels, as names or as
``{name, product_ids}`` objects. Updates are ``l2update`` messages, one per market message;
heartbeats are one message per subscribed product. REST: ``GET /products/{id}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fastfeed.sim import render
from fastfeed.sim.dialects.base import Wire
from fastfeed.sim.dialects.coinbase_common import CoinbaseConn, CoinbaseDialect, round_robin
from fastfeed.sim.host import Blob, SimHost
from fastfeed.sim.market import Market
from fastfeed.sim.model import BookState, Message
from fastfeed.sim.transport import Item
from fastfeed.venues import CoinbaseExchange, get_venue

#: Update prices print with this many decimals (snapshots use the product's increment).
UPDATE_PRICE_DECIMALS = 8


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
        for name, prods in wanted:
            if name in ("level2", "level2_batch"):
                for p in prods:
                    if kind == "subscribe" and p not in self.l2:
                        self.l2.append(p)
                        new_l2.append(p)
                    elif kind == "unsubscribe" and p in self.l2:
                        self.l2.remove(p)
                        self.close_product(p)
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
        self._reply({"type": "subscriptions", "channels": channels})
        self.open(new_l2)

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
            tid = self.trade_ids.get(p, 0) + 1
            self.trade_ids[p] = tid
            self.send_raw(f'{{"type":"heartbeat","sequence":{seq},"last_trade_id":{tid},'
                          f'"product_id":"{p}","time":"{ts}"}}'.encode())


class ExchangeDialect(CoinbaseDialect):
    """Coinbase Exchange in the simulator."""

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

    def product_body(self, product: str) -> dict[str, Any]:
        """``GET /products/{id}`` fields."""
        base, _, quote = product.partition("-")
        return {"id": product, "base_currency": base, "quote_currency": quote,
                "status": "online", "trading_disabled": False}
