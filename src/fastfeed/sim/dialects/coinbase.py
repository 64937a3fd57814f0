"""Coinbase Advanced Trade: ``level2`` + ``heartbeats`` channels, one ``sequence_num`` per
connection across every envelope.

WebSocket ``/coinbase/advanced-trade``; each subscribe names one channel. A connection's
events of one clock tick leave as one ``l2_data`` envelope, so stream faults act on
envelopes (a dropped envelope still consumes its number; ``reorder`` swaps envelopes).
REST: ``GET /api/v3/brokerage/market/products/{id}``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from fastfeed.sim import render
from fastfeed.sim.dialects.base import Wire
from fastfeed.sim.dialects.coinbase_common import CoinbaseConn, CoinbaseDialect, round_robin
from fastfeed.sim.host import Blob, SimHost
from fastfeed.sim.market import Market
from fastfeed.sim.model import BookState, Message
from fastfeed.sim.transport import DROP, LITERAL, NORMAL, SOCKET_TRUNC, TRUNC, Item
from fastfeed.venues import CoinbaseAdvancedTrade, get_venue


class AdvancedTradeWire(Wire):
    """Events only: each connection wraps them into its own numbered envelope."""

    def __init__(self, market: Market) -> None:
        """No burst envelopes until :meth:`prerender_burst`."""
        super().__init__(market)
        self.envelopes: list[tuple[bytes, bytes]] = []
        """The burst as (head, tail) envelopes around the ``sequence_num`` each connection
        fills in (:func:`~fastfeed.sim.render.at_frames`); the snapshot first."""

    def _updates(self, msg: Message, pad_bytes: int | None) -> str:
        m = self.market
        ts = render.rfc3339_ns()
        asks: Iterable[tuple[int, int]] = msg.asks
        if pad_bytes:
            per = len(ts) + len(m.fmt.price(m.model.far_ask_prices(1)[0])) + 80
            asks = list(msg.asks) + [(p, 0) for p in m.model.far_ask_prices(pad_bytes // per + 1)]
        return render.at_updates(msg.bids, asks, m.fmt, ts)

    def update(self, msg: Message, pad_bytes: int | None) -> bytes:
        """One ``update`` event of the ``l2_data`` channel."""
        return render.at_event("update", self.market.symbol, self._updates(msg, pad_bytes)).encode()

    def prerender_burst(self) -> None:
        """Snapshot and updates as envelope halves (numbers depend on the connection)."""
        m = self.market
        assert m.burst_start is not None
        state = m.burst_start
        ts = render.rfc3339_ns()
        head = render.at_envelope_head("l2_data", ts)
        snap = render.at_event("snapshot", m.symbol, render.at_updates(state.sorted_bids(), state.sorted_asks(), m.fmt, ts))
        self.envelopes.append((head, render.at_envelope_tail("[" + snap + "]")))
        for msg in m.burst:
            ev = render.at_event("update", m.symbol, render.at_updates(msg.bids, msg.asks, m.fmt, ts))
            self.envelopes.append((head, render.at_envelope_tail("[" + ev + "]")))


def _envelopes(m: Market) -> list[tuple[bytes, bytes]]:
    wire = m.wire
    assert isinstance(wire, AdvancedTradeWire)
    return wire.envelopes


class AdvancedTradeConn(CoinbaseConn):
    """A Coinbase Advanced Trade connection: envelopes with a per-connection sequence_num."""

    def __init__(self, host: SimHost, venue: str) -> None:
        """Numbering starts at 0; nothing subscribed."""
        super().__init__(host, venue)
        self.seq = 0
        self.products: list[str] = []
        self.heartbeats = False
        self.hb_counter = 0
        self.pending: list[Item] = []
        self.held_env: list[Item] | None = None

    def envelope(self, channel: str, events: str) -> bytes:
        """Build an envelope and consume one sequence number."""
        env = render.at_envelope(channel, self.seq, events)
        self.seq += 1
        return env

    def send_env(self, env: bytes, data: bool = True) -> None:
        """Send a numbered envelope now, or behind a queued burst (numbers stay in order)."""
        if self.bursting:
            self.enqueue(("raw", env, data))
        else:
            self.send_raw(env, data=data)

    def _subscriptions(self) -> None:
        subs: dict[str, list[str]] = {}
        if self.products:
            subs["level2"] = list(self.products)
        if self.heartbeats:
            subs["heartbeats"] = ["heartbeats"]
        self.send_env(self.envelope("subscriptions", "[" + json.dumps({"subscriptions": subs},
                                                                       separators=(",", ":")) + "]"), data=False)

    def _error(self, obj: Any) -> None:
        self.send_raw(render.json_bytes(obj), data=False)

    def on_text(self, data: bytes) -> None:
        """``subscribe`` / ``unsubscribe`` for ``level2`` and ``heartbeats``."""
        try:
            req = json.loads(data)
            kind = req["type"]
            channel = req.get("channel")
            products = req.get("product_ids", [])
            if kind not in ("subscribe", "unsubscribe") or not isinstance(products, list):
                raise ValueError(kind)
        except (ValueError, KeyError, TypeError):
            self._error({"type": "error", "message": "failure to subscribe"})
            return
        if channel not in ("level2", "l2_data", "heartbeats"):
            self._error({"type": "error", "message": f"unknown channel {channel!r}"})
            return
        self.subscribed = True
        if channel == "heartbeats":
            self.heartbeats = kind == "subscribe"
            self._subscriptions()
            return
        bad = [p for p in products if not self.known(p)]
        if bad:
            self._error({"type": "error", "message": "failure to subscribe",
                         "reason": f"invalid product_id(s): {', '.join(map(str, bad))}"})
            return
        if kind == "unsubscribe":
            for p in products:
                if p in self.products:
                    self.products.remove(p)
                    self.close_product(p)
            self._subscriptions()
            return
        new = [p for p in products if p not in self.products]
        self.products.extend(new)
        self._subscriptions()
        self.open(new)

    def send_snapshot(self, m: Market, state: BookState) -> None:
        """A ``snapshot`` event in its own numbered envelope."""
        ts = render.rfc3339_ns()
        updates = render.at_updates(state.sorted_bids(), state.sorted_asks(), m.fmt, ts)
        self.send_env(self.envelope("l2_data", "[" + render.at_event("snapshot", m.symbol, updates) + "]"))

    def burst_blob(self, markets: list[Market]) -> Blob:
        """Numbered here, for this connection: the blob takes the next len(ends) numbers."""
        seq = self.seq
        key = (self.venue, tuple(m.symbol for m in markets), seq)
        blob, ends = self.host.blob_cache.get(
            key, lambda: render.at_frames(round_robin([_envelopes(m) for m in markets]), seq))
        self.seq += len(ends)
        return blob, ends

    def deliver(self, market: Market, stream: bytes, items: list[Item], msg: Message) -> None:
        """Queue events; the simulator flushes one envelope per connection per clock tick."""
        if not self.pending:
            self.host.flush_after_tick(self)
        self.pending.extend(items)

    def _claim_reorder(self) -> bool:
        # A reorder fault arms at the market; for AT the envelope is what moves. The first
        # market with a pending reorder claims this envelope.
        if self.held_env is not None:
            return False
        for m in self.markets:
            if m.reorders_pending and m.claim_reorder():
                return True
        return False

    def flush(self) -> None:
        """Send the pending events of this tick as one ``l2_data`` envelope."""
        if self.bursting:
            # A queued burst holds its sequence numbers already: hold live events until it
            # is written so sequence_num stays in order on the wire.
            if self.pending:
                self.host.flush_after_tick(self)
            return
        items, self.pending = self.pending, []
        events = [p for p, mode in items if mode != LITERAL]
        out: list[Item] = [(p, LITERAL) for p, mode in items if mode == LITERAL]
        if events:
            modes = {mode for _, mode in items}
            # Duplicates of one event inside a tick collapse into a duplicated envelope.
            uniq: list[bytes] = []
            for p in events:
                if not uniq or uniq[-1] is not p:
                    uniq.append(p)
            env = self.envelope("l2_data", "[" + ",".join(x.decode() for x in uniq) + "]")
            if DROP in modes:
                mode = DROP
            elif SOCKET_TRUNC in modes:
                mode = SOCKET_TRUNC
            elif TRUNC in modes:
                mode = TRUNC
            else:
                mode = NORMAL
            out.append((env, mode))
            if len(uniq) < len(events) and mode == NORMAL:
                out.append((env, NORMAL))
        if self._claim_reorder():
            self.held_env = out
            return
        for payload, mode in out:
            self.send_item(payload, mode)
        if self.held_env is not None:
            held, self.held_env = self.held_env, None
            for payload, mode in held:
                self.send_item(payload, mode)

    def heartbeat(self) -> None:
        """One ``heartbeats`` envelope (skipped while a burst is queued or being written)."""
        if not self.heartbeats or self.bursting:
            return
        self.hb_counter += 1
        now = time.time_ns()
        sec, ns = divmod(now, 1_000_000_000)
        current = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec)) + f".{ns:09d} +0000 UTC"
        ev = f'[{{"current_time":"{current}","heartbeat_counter":"{self.hb_counter}"}}]'
        self.send_raw(self.envelope("heartbeats", ev))


class AdvancedTradeDialect(CoinbaseDialect):
    """Coinbase Advanced Trade in the simulator."""

    reorder_per_connection = True
    ws_path = "/coinbase/advanced-trade"
    ws_aliases = ("/coinbase", "/coinbase/advanced-trade", "/advanced-trade")
    product_path = "/api/v3/brokerage/market/products/{product_id}"

    def __init__(self) -> None:
        """Read the venue's description."""
        self.venue = get_venue(CoinbaseAdvancedTrade.name)

    def wire(self, market: Market) -> Wire:
        """Advanced Trade events for ``market``."""
        return AdvancedTradeWire(market)

    def connection(self, host: SimHost) -> CoinbaseConn:
        """A new Advanced Trade connection."""
        return AdvancedTradeConn(host, self.name)

    def product_body(self, product: str) -> dict[str, Any]:
        """``GET /api/v3/brokerage/market/products/{id}`` fields (public endpoint)."""
        base, _, quote = product.partition("-")
        return {"product_id": product, "base_currency_id": base, "quote_currency_id": quote,
                "status": "online", "product_type": "SPOT"}
