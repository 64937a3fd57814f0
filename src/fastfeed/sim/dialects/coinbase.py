"""Coinbase Advanced Trade: ``level2``, ``heartbeats``, ``market_trades``, ``ticker`` and
``candles`` channels, one ``sequence_num`` per connection across every envelope.

WebSocket ``/coinbase/advanced-trade``; each subscribe names one channel. A connection's
events of one clock tick leave as one envelope per channel (``l2_data``,
``market_trades``, ``ticker``), so stream faults act on envelopes (a dropped envelope
still consumes its number; ``reorder`` swaps envelopes). ``market_trades``, ``ticker`` and
``candles`` start with a ``snapshot`` event; ``candles`` updates every second.
REST: ``GET /api/v3/brokerage/market/products/{id}``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from fastfeed.sim import render
from fastfeed.sim.dialects.base import Wire, leave_channel
from fastfeed.sim.dialects.coinbase_common import (
    CANDLE_NS,
    CoinbaseConn,
    CoinbaseDialect,
    round_robin,
    ticker_fields,
)
from fastfeed.sim.host import Blob, SimHost
from fastfeed.sim.market import Market
from fastfeed.sim.model import BookState, Message
from fastfeed.sim.tape import Fill
from fastfeed.sim.transport import DROP, LITERAL, NORMAL, SOCKET_TRUNC, TRUNC, Item
from fastfeed.venues import CoinbaseAdvancedTrade, get_venue

#: The channels besides ``level2`` and ``heartbeats``.
CHANNELS = ("market_trades", "ticker", "candles")


class AdvancedTradeWire(Wire):
    """Events only: each connection wraps them into its own numbered envelope."""

    def __init__(self, market: Market) -> None:
        """No burst envelopes until :meth:`prerender_burst`."""
        super().__init__(market)
        self._candles_due = 0
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

    # -- market_trades, ticker, candles ---------------------------------------------------

    def trades_event(self, kind: str, fills: Iterable[Fill]) -> bytes:
        """A ``market_trades`` event, trades newest first (``side``: the maker's)."""
        m = self.market
        fmt = m.fmt
        parts = [render.at_trade(f.trade_id, m.symbol, fmt.price(f.price), fmt.size(f.size),
                                 "SELL" if f.taker > 0 else "BUY", render.rfc3339_us(f.t_ns))
                 for f in reversed(list(fills))]
        return f'{{"type":"{kind}","trades":[{",".join(parts)}]}}'.encode()

    def ticker_event(self, kind: str, now_ns: int) -> bytes:
        """A ``ticker`` event: last price, window statistics, best bid/ask now (52-week
        fields: the same window, the simulator keeps no longer history)."""
        m = self.market
        t = ticker_fields(m, now_ns)
        return (f'{{"type":"{kind}","tickers":[{{"type":"ticker","product_id":"{m.symbol}","price":"{t.price}",'
                f'"volume_24_h":"{t.volume}","low_24_h":"{t.low}","high_24_h":"{t.high}","low_52_w":"{t.low}",'
                f'"high_52_w":"{t.high}","price_percent_chg_24_h":"{t.pct}","best_bid":"{t.best_bid}",'
                f'"best_bid_quantity":"{t.best_bid_size}","best_ask":"{t.best_ask}",'
                f'"best_ask_quantity":"{t.best_ask_size}"}}]}}').encode()

    def candles_event(self, kind: str, now_ns: int) -> bytes:
        """A ``candles`` event: the current 5-minute bar (``start`` in seconds, a string)."""
        m = self.market
        fmt = m.fmt
        start = now_ns - now_ns % CANDLE_NS
        b = m.bar(CANDLE_NS, start)
        return (f'{{"type":"{kind}","candles":[{{"start":"{start // 1_000_000_000}","high":"{fmt.price(b.high)}",'
                f'"low":"{fmt.price(b.low)}","open":"{fmt.price(b.open)}","close":"{fmt.price(b.close)}",'
                f'"volume":"{fmt.size(b.volume)}","product_id":"{m.symbol}"}}]}}').encode()

    def channels(self, msg: Message, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """``market_trades`` and ``ticker`` update events of a message with trades."""
        if not msg.trades:
            return []
        out: list[tuple[str, bytes]] = []
        keys = set(keys)
        if "market_trades" in keys:
            out.append(("market_trades", self.trades_event("update", msg.trades)))
        if "ticker" in keys:
            out.append(("ticker", self.ticker_event("update", msg.trades[-1].t_ns)))
        return out

    def periodic(self, now_ns: int, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """``candles`` every second."""
        if "candles" not in keys or now_ns < self._candles_due:
            return []
        self._candles_due = now_ns + 1_000_000_000 - 1_000_000  # (the clock ticks late, never early)
        return [("candles", self.candles_event("update", now_ns))]

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
        self.chan_products: dict[str, list[str]] = {c: [] for c in CHANNELS}
        # this tick's events of the other channels, per channel
        self.chan_pending: dict[str, list[Item]] = {}

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
        for c in CHANNELS:
            if self.chan_products[c]:
                subs[c] = list(self.chan_products[c])
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
        if channel not in ("level2", "l2_data", "heartbeats", *CHANNELS):
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
        if channel in CHANNELS:
            self._channel_request(kind, channel, products)
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

    def _channel_request(self, kind: str, channel: str, products: list[str]) -> None:
        """(Un)subscribe ``market_trades``/``ticker``/``candles``: the ack, then each new
        product's ``snapshot`` event in its own envelope."""
        mine = self.chan_products[channel]
        if kind == "unsubscribe":
            for p in products:
                leave_channel(self, self.market(p), mine, p, channel)
            self._subscriptions()
            return
        new = [p for p in products if p not in mine]
        mine.extend(new)
        self._subscriptions()
        now = time.time_ns()
        for p in new:
            m = self.market(p)
            wire = m.wire
            assert isinstance(wire, AdvancedTradeWire)
            if channel == "market_trades":
                fills = list(m.model.fills)[-self.host.config.trade_snapshot:]
                event = wire.trades_event("snapshot", fills)
            elif channel == "ticker":
                event = wire.ticker_event("snapshot", now)
            else:
                event = wire.candles_event("snapshot", now)
            self.send_env(self.envelope(channel, "[" + event.decode() + "]"))
            if m.live:
                m.subscribe_channel(self, channel)
                self.markets.add(m)

    def deliver_channel(self, market: Market, key: str, stream: bytes, items: list[Item]) -> None:
        """Queue events; one envelope per channel per clock tick (see :meth:`flush`)."""
        if not self.pending and not self.chan_pending:
            self.host.flush_after_tick(self)
        self.chan_pending.setdefault(key, []).extend(items)

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
        """Send the pending events of this tick: one ``l2_data`` envelope, then one
        envelope per other channel."""
        if self.bursting:
            # A queued burst holds its sequence numbers already: hold live events until it
            # is written so sequence_num stays in order on the wire.
            if self.pending or self.chan_pending:
                self.host.flush_after_tick(self)
            return
        if self.pending:
            self._flush_book()
        if self.chan_pending:
            self._flush_channels()

    def _flush_book(self) -> None:
        items, self.pending = self.pending, []
        out = self._envelopes("l2_data", items)
        if self._claim_reorder():
            self.held_env = out
            return
        for payload, mode in out:
            self.send_item(payload, mode)
        if self.held_env is not None:
            held, self.held_env = self.held_env, None
            for payload, mode in held:
                self.send_item(payload, mode)

    def _envelopes(self, channel: str, items: list[Item]) -> list[Item]:
        """One tick's items of ``channel`` as envelope items: the events in one numbered
        envelope (a dropped, truncated or duplicated event makes the envelope so),
        malformed frames before it."""
        events = [p for p, mode in items if mode != LITERAL]
        out: list[Item] = [(p, LITERAL) for p, mode in items if mode == LITERAL]
        if events:
            modes = {mode for _, mode in items}
            # Duplicates of one event inside a tick collapse into a duplicated envelope.
            uniq: list[bytes] = []
            for p in events:
                if not uniq or uniq[-1] is not p:
                    uniq.append(p)
            env = self.envelope(channel, "[" + ",".join(x.decode() for x in uniq) + "]")
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
        return out

    def _flush_channels(self) -> None:
        """This tick's envelopes of ``market_trades``, ``ticker``, ``candles`` (a reorder
        fault of those channels swaps their events at the market)."""
        pending, self.chan_pending = self.chan_pending, {}
        for channel, items in pending.items():
            for payload, mode in self._envelopes(channel, items):
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
    channel_names = CHANNELS
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
