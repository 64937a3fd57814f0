"""Kraken WebSocket v2: the ``book`` channel (depth 25), ``trade`` and ``instrument``.

WebSocket ``/kraken/v2``. On open a ``status`` frame; ``subscribe``/``unsubscribe`` get one
ack per symbol (``method``, ``result``, ``success``, ``time_in``/``time_out``). A ``book``
subscription gets a ``snapshot`` of the top ``depth`` levels a side, then ``update``
messages; prices and sizes are JSON numbers (trailing zeros trimmed, small sizes in
exponent form such as ``5.1e-05``), every message carries the CRC32 ``checksum`` of the
book after it (docs/venues.md, "Kraken integrity: truncation and checksum").

What a client holds is the top ``depth`` of the model's book (the *view*): each update
carries the levels of the view that changed, deletes (qty 0) for view levels the model
deleted, and nothing for a level pushed below the depth (the client truncates it away).
Only depth 25 (``Kraken.book_depth``) is served. ``instrument`` answers a snapshot of every
configured pair (``price_increment``/``qty_increment`` = tick/step, the precisions =
their decimals). ``heartbeat`` about once a second on a connection that sent no data. ``trade``: one
``update`` per model message with fills, one trade per fill (``trade_id`` the fill's id,
+1 per fill; ``side`` the taker's; ``ord_type`` ``market``); ``snapshot: true`` (the
client's default here; Kraken's is false) sends the last 50 fills first. ``ticker``:
with ``event_trigger`` ``trades`` an update after each message with fills, with ``bbo``
one whenever the best bid/offer changed (price or size), a snapshot on subscribe.
Unsubscribing ``book`` leaves the other channels running.
Venue faults: ``bad_checksum`` and ``push_out`` (:data:`fastfeed.sim.faults.FAULTS`).
"""

from __future__ import annotations

import heapq
import json
import time
import zlib
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from fastfeed.sim import render
from fastfeed.sim.dialects.base import PathDialect, Wire, switch_channel, wire_of
from fastfeed.sim.dialects.coinbase_common import round_robin
from fastfeed.sim.host import SimHost
from fastfeed.sim.market import Market
from fastfeed.sim.model import Message
from fastfeed.sim.tape import Bar, Fill
from fastfeed.sim.transport import Connection, Item
from fastfeed.venues.kraken import CHECKSUM_LEVELS, Kraken

#: the faults only this dialect knows (the wire acts on them)
VENUE_FAULTS = ("bad_checksum", "push_out")
#: trades a ``trade`` snapshot holds (docs/venues.md, "Kraken trades")
TRADE_SNAPSHOT = 50

Side = list[tuple[int, int]]


def number(units: int, decimals: int) -> str:
    """A JSON number for ``units / 10**decimals`` as Kraken prints it: no trailing zeros,
    an integer without a point, values below 1e-4 in exponent form (``5.1e-05``)."""
    if units == 0:
        return "0"
    neg = units < 0
    digits = str(abs(units))
    exp = -decimals
    while digits.endswith("0") and len(digits) > 1:
        digits = digits[:-1]
        exp += 1
    if exp >= 0:
        text = digits + "0" * exp
    elif len(digits) + exp >= -3:       # 1e-4 <= value: plain decimal
        whole = len(digits) + exp
        text = (digits[:whole] + "." + digits[whole:]) if whole > 0 else "0." + "0" * -whole + digits
    else:                               # exponent form, one digit before the point
        e = len(digits) - 1 + exp
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        text = f"{mant}e-{-e:02d}"
    return "-" + text if neg else text


def checksum_text(units: int, decimals: int, precision: int) -> str:
    """One number's checksum digits: ``units / 10**decimals`` at ``precision`` decimals,
    the point removed, leading zeros stripped (written from docs/venues.md, not shared
    with the client's code)."""
    if precision >= decimals:
        scaled = units * 10 ** (precision - decimals)
    else:
        scaled = units // 10 ** (decimals - precision)
    return str(scaled).lstrip("0")


class KrakenWire(Wire):
    """The view (top ``depth`` a side) and the messages that keep a client on it."""

    def __init__(self, market: Market) -> None:
        """No view until the first snapshot or update."""
        super().__init__(market)
        self.depth = Kraken.book_depth
        self.bids: Side = []
        self.asks: Side = []
        self.bad_checksum = 0
        self.push_out = 0
        self.frames: list[bytes] = []
        """The burst as complete WebSocket frames, the snapshot first."""
        self.last_top: tuple[int, int, int, int] | None = None
        """The best bid/offer the last ``ticker-bbo`` message showed."""

    def _scales(self) -> tuple[int, int]:
        m = self.market.model
        return m.price_scale.decimals, m.size_scale.decimals

    def _truth(self) -> tuple[Side, Side]:
        st = self.market.model.snapshot()
        return st.sorted_bids(self.depth), st.sorted_asks(self.depth)

    def checksum(self, bids: Side, asks: Side) -> int:
        """CRC32 of the top levels, asks then bids, at the instrument's precisions."""
        pd, sd = self._scales()
        m = self.market.model
        parts = []
        for side in (asks, bids):
            for p, q in side[:CHECKSUM_LEVELS]:
                parts.append(checksum_text(p * m.price_scale.mantissa, pd, pd))
                parts.append(checksum_text(q * m.size_scale.mantissa, sd, sd))
        return zlib.crc32("".join(parts).encode()) & 0xFFFFFFFF

    def _levels(self, side: Side) -> str:
        pd, sd = self._scales()
        m = self.market.model
        return ",".join(f'{{"price":{number(p * m.price_scale.mantissa, pd)},'
                        f'"qty":{number(q * m.size_scale.mantissa, sd)}}}' for p, q in side)

    def _message(self, kind: str, bids: Side, asks: Side, crc: int) -> bytes:
        return (f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{self.market.symbol}",'
                f'"bids":[{self._levels(bids)}],"asks":[{self._levels(asks)}],"checksum":{crc},'
                f'"timestamp":"{render.rfc3339_us()}"}}]}}').encode()

    def trade_message(self, kind: str, fills: list[Fill]) -> bytes:
        """A ``trade`` message (``snapshot`` or ``update``) of ``fills``, oldest first,
        shaped as the documented example (docs/venues.md, "Kraken trades")."""
        pd, sd = self._scales()
        m = self.market.model
        items = ",".join(
            f'{{"symbol":"{self.market.symbol}","side":"{"buy" if f.taker > 0 else "sell"}",'
            f'"price":{number(f.price * m.price_scale.mantissa, pd)},'
            f'"qty":{number(f.size * m.size_scale.mantissa, sd)},"ord_type":"market",'
            f'"trade_id":{f.trade_id},"timestamp":"{render.rfc3339_us(f.t_ns)}"}}'
            for f in fills)
        return f'{{"channel":"trade","type":"{kind}","data":[{items}]}}'.encode()

    def trade_snapshot(self) -> bytes:
        """The last :data:`TRADE_SNAPSHOT` fills of the tape as a ``snapshot``."""
        fills = list(self.market.model.fills)[-TRADE_SNAPSHOT:]
        return self.trade_message("snapshot", fills)

    def ticker_message(self, kind: str, now_ns: int) -> bytes:
        """A ``ticker`` message shaped as the notes' example: the best bid/offer now and
        the rolling window's statistics (``vwap`` and ``change_pct`` rounded: nothing
        reads them)."""
        m = self.market
        pd, sd = self._scales()
        pm, sm = m.model.price_scale.mantissa, m.model.size_scale.mantissa
        st = m.window.stats(now_ns)
        fallback = st.prev_price if st.prev_price is not None else m.mid()
        last = st.last if st.last is not None else fallback
        o = st.open if st.open is not None else fallback
        high = st.high if st.high is not None else last
        low = st.low if st.low is not None else last
        b, bq, a, aq = m.bbo()
        vwap = render.ratio_text(st.quote * pm, st.volume * 10 ** pd, pd) if st.volume else "0"
        return (f'{{"channel":"ticker","type":"{kind}","data":[{{"symbol":"{m.symbol}",'
                f'"bid":{number(b * pm, pd)},"bid_qty":{number(bq * sm, sd)},'
                f'"ask":{number(a * pm, pd)},"ask_qty":{number(aq * sm, sd)},'
                f'"last":{number(last * pm, pd)},"volume":{number(st.volume * sm, sd)},'
                f'"vwap":{vwap},"low":{number(low * pm, pd)},"high":{number(high * pm, pd)},'
                f'"change":{number((last - o) * pm, pd)},'
                f'"change_pct":{render.ratio_text((last - o) * 100, o, 2)},'
                f'"timestamp":"{render.rfc3339_us(now_ns)}"}}]}}').encode()

    def ohlc_message(self, kind: str, minutes: int, bars: list[Bar]) -> bytes:
        """An ``ohlc`` message of the tape's ``bars`` shaped as the notes' example (5.4):
        ``interval_begin`` with 9 digits, the deprecated per-bar ``timestamp`` the bar's
        end; ``vwap`` rounded (nothing reads it)."""
        m = self.market
        pd, sd = self._scales()
        pm, sm = m.model.price_scale.mantissa, m.model.size_scale.mantissa
        span = minutes * 60_000_000_000
        items = ",".join(
            f'{{"symbol":"{m.symbol}","open":{number(b.open * pm, pd)},'
            f'"high":{number(b.high * pm, pd)},"low":{number(b.low * pm, pd)},'
            f'"close":{number(b.close * pm, pd)},"trades":{b.n},'
            f'"volume":{number(b.volume * sm, sd)},'
            f'"vwap":{render.ratio_text(b.quote * pm, b.volume * 10 ** pd, pd) if b.volume else "0"},'
            f'"interval_begin":"{_rfc3339_ns(b.start_ns)}","interval":{minutes},'
            f'"timestamp":"{render.rfc3339_us(b.start_ns + span)}"}}' for b in bars)
        return (f'{{"channel":"ohlc","type":"{kind}","timestamp":"{_rfc3339_ns(time.time_ns())}",'
                f'"data":[{items}]}}').encode()

    def ohlc_snapshot(self, minutes: int, now_ns: int) -> bytes:
        """The previous bar (when it holds a trade) and the current one."""
        span = minutes * 60_000_000_000
        start = now_ns - now_ns % span
        bars = [self.market.bar(span, start - span), self.market.bar(span, start)]
        return self.ohlc_message("snapshot", minutes, [b for b in bars if b.n] or bars[1:])

    def channels(self, msg: Message, keys: Iterable[str]) -> list[tuple[str, bytes]]:
        """A ``trade`` update of the message's fills (several trades batched in one); a
        ``ticker`` update after them (``event_trigger: "trades"``) and one whenever the
        best bid/offer changed (``"bbo"``: channel key ``ticker-bbo``); an ``ohlc``
        update of the last fill's bar per subscribed interval (key ``ohlc-<minutes>``:
        Kraken updates candles on trades only)."""
        out: list[tuple[str, bytes]] = []
        if msg.trades:
            for key in keys:
                if key.startswith(OHLC_PREFIX):
                    minutes = int(key[len(OHLC_PREFIX):])
                    span = minutes * 60_000_000_000
                    t = msg.trades[-1].t_ns
                    out.append((key, self.ohlc_message(
                        "update", minutes, [self.market.bar(span, t - t % span)])))
        if msg.trades and "trade" in keys:
            out.append(("trade", self.trade_message("update", list(msg.trades))))
        if msg.trades and "ticker" in keys:
            out.append(("ticker", self.ticker_message("update", msg.trades[-1].t_ns)))
        if "ticker-bbo" in keys:
            top = self.market.bbo()
            if top != self.last_top:
                self.last_top = top
                out.append(("ticker-bbo", self.ticker_message("update", time.time_ns())))
        return out

    def snapshot(self) -> bytes:
        """A ``snapshot`` of the current view (the view is reset to the model's top)."""
        self.bids, self.asks = self._truth()
        return self._message("snapshot", self.bids, self.asks, self.checksum(self.bids, self.asks))

    @staticmethod
    def _diff(old: Side, new: Side) -> tuple[Side, set[int]]:
        before = dict(old)
        after = dict(new)
        out = [(p, q) for p, q in new if before.get(p) != q]
        pushed = {p for p in before if p not in after}
        # a level gone from the view: deleted in the model (send qty 0), or pushed below
        # the depth by better levels (send nothing: the client truncates it)
        return out, pushed

    def update(self, msg: Message, pad_bytes: int | None) -> bytes:
        """One ``update`` taking a client from the previous view to the current one."""
        model = self.market.model
        nb, na = self._truth()
        out: list[Side] = []
        held: dict[int, int]
        for old, new, held in ((self.bids, nb, model.bids), (self.asks, na, model.asks)):
            changed, gone = self._diff(old, new)
            changed.extend((p, 0) for p in sorted(gone) if p not in held)
            out.append(changed)
        bids, asks = out
        for sent, side, view in ((msg.bids, bids, nb), (msg.asks, asks, na)):
            # a level the message carries with a size the model does not hold is a
            # corrupt_level fault: send the wrong size (the view, i.e. truth, keeps the right one)
            shown = dict(view)
            true = model.bids if side is bids else model.asks
            for p, q in sent:
                if p in shown and true.get(p) != q:
                    side[:] = [lv for lv in side if lv[0] != p] + [(p, q)]
        if self.push_out and len(na) == self.depth:
            # a level beyond the depth: the client applies it, then truncation removes it
            self.push_out -= 1
            self.market.host.fired("push_out")
            asks.append((na[-1][0] + 1, 1))
        if pad_bytes:
            far = model.far_ask_prices(pad_bytes // 40 + 1)
            asks.extend((p, 0) for p in far if p not in model.asks)
        self.bids, self.asks = nb, na
        crc = self.checksum(nb, na)
        if self.bad_checksum:
            self.bad_checksum -= 1
            self.market.host.fired("bad_checksum")
            crc ^= 0x5A5A5A5A
        return self._message("update", bids, asks, crc)

    def inject(self, fault: str, params: dict[str, Any]) -> bool:
        """``bad_checksum``: the next ``count`` updates carry a wrong checksum;
        ``push_out``: the next ``count`` updates also carry an ask beyond the depth."""
        if fault == "bad_checksum":
            self.bad_checksum += int(params["count"])
        elif fault == "push_out":
            self.push_out += int(params["count"])
        else:
            return False
        return True

    def pending(self) -> bool:
        """True while a venue fault waits for a message."""
        return bool(self.bad_checksum or self.push_out)

    def prerender_burst(self) -> None:
        """The burst as framed messages (the same bytes for every subscriber): a snapshot
        of the view at ``burst_start``, then per burst message the ``update`` taking a
        client from one view to the next (as :meth:`update`, without faults), the books
        replayed from ``burst_start`` since the model already stands after the burst."""
        m = self.market
        assert m.burst_start is not None
        depth = self.depth
        full = (dict(m.burst_start.bids), dict(m.burst_start.asks))
        view = (m.burst_start.sorted_bids(depth), m.burst_start.sorted_asks(depth))
        self.frames.append(render.ws_frame(self._message("snapshot", *view, self.checksum(*view))))
        for msg in m.burst:
            for held, levels in zip(full, (msg.bids, msg.asks), strict=True):
                for p, q in levels:
                    if q:
                        held[p] = q
                    else:
                        held.pop(p, None)
            new = (heapq.nlargest(depth, full[0].items()), heapq.nsmallest(depth, full[1].items()))
            out = []
            for old_side, new_side, held in zip(view, new, full, strict=True):
                changed, gone = self._diff(old_side, new_side)
                changed.extend((p, 0) for p in sorted(gone) if p not in held)
                out.append(changed)
            self.frames.append(render.ws_frame(self._message("update", out[0], out[1],
                                                             self.checksum(*new))))
            view = new
        self.bids, self.asks = view


class KrakenConn(Connection):
    """A Kraken v2 connection: ``book`` (depth 25) and ``instrument`` subscriptions."""

    def __init__(self, host: SimHost, venue: str) -> None:
        """Nothing subscribed."""
        super().__init__(host)
        self.venue = venue
        self.books: list[str] = []
        self.trade_symbols: list[str] = []
        self.ticker_symbols: dict[str, list[str]] = {}
        self.ohlc_symbols: dict[str, list[str]] = {}
        self._sent_at_heartbeat = 0
        self.bursting = 0
        """Burst blobs being written (``write_blob`` counts ``sent`` only at the end)."""

    def on_ws_connected(self, transport: Any) -> None:
        """The ``status`` frame Kraken sends on open."""
        super().on_ws_connected(transport)
        self.send_raw(render.json_bytes({"channel": "status", "type": "update", "data": [{
            "api_version": "v2", "connection_id": 12345678901234567890, "system": "online",
            "version": "2.0.0"}]}), data=False)

    def _ack(self, method: str, result: dict[str, Any], req_id: Any, error: str | None = None) -> None:
        now = render.rfc3339_us()
        body: dict[str, Any] = {"method": method}
        if error is None:
            body["result"] = result
            body["success"] = True
        else:
            body["error"] = error
            body["success"] = False
            body["symbol"] = result.get("symbol")
        body.update(time_in=now, time_out=now)
        if req_id is not None:
            body["req_id"] = req_id
        self.send_raw(render.json_bytes(body), data=False)

    def on_text(self, data: bytes) -> None:
        """``subscribe``/``unsubscribe`` of ``book`` or ``instrument``; ``ping``."""
        try:
            req = json.loads(data)
            method = req["method"]
            req_id = req.get("req_id")
            if method == "ping":
                now = render.rfc3339_us()
                self.send_raw(render.json_bytes({"method": "pong", "req_id": req_id,
                                                 "time_in": now, "time_out": now}), data=False)
                return
            if method not in ("subscribe", "unsubscribe"):
                raise ValueError(method)
            params = req["params"]
            channel = params["channel"]
        except (ValueError, KeyError, TypeError):
            self.send_raw(render.json_bytes({"error": "Malformed request", "method": "subscribe",
                                             "success": False}), data=False)
            return
        if channel == "instrument":
            self._ack(method, {"channel": "instrument", "snapshot": True}, req_id)
            if method == "subscribe":
                self.send_raw(self._instruments())
            return
        if channel == "trade":
            self._trade(method, params, req_id)
            return
        if channel == "ticker":
            self._ticker(method, params, req_id)
            return
        if channel == "ohlc":
            self._ohlc(method, params, req_id)
            return
        if channel != "book":
            self._ack(method, {"channel": channel}, req_id, error=f"Channel {channel} not supported")
            return
        depth = params.get("depth", 10)
        bursts: list[Market] = []
        for symbol in params.get("symbol", []):
            result = {"channel": "book", "symbol": symbol, "depth": depth, "snapshot": True}
            m = self.host.find_market(self.venue, symbol)
            if m is None:
                self._ack(method, result, req_id, error=f"Currency pair not supported {symbol}")
                continue
            if depth != Kraken.book_depth:
                self._ack(method, result, req_id, error=f"simulator serves depth {Kraken.book_depth} only")
                continue
            self._ack(method, result, req_id)
            if method == "subscribe" and symbol not in self.books:
                self.books.append(symbol)
                wire = m.wire
                assert isinstance(wire, KrakenWire)
                if not m.live:     # burst mode: its snapshot leads the pre-framed burst
                    bursts.append(m)
                elif not m.subs:   # nobody holds the view: it restarts from the model
                    self.send_raw(wire.snapshot())
                else:
                    self.send_raw(wire._message("snapshot", wire.bids, wire.asks,
                                                wire.checksum(wire.bids, wire.asks)))
                m.subscribe(self, b"")
                self.markets.add(m)
            elif method == "unsubscribe" and symbol in self.books:
                self.books.remove(symbol)
                m.unsubscribe(self, b"")
                if not m.has(self):             # the book only: trades go on
                    self.markets.discard(m)
        if bursts:
            self.spawn(self._burst(bursts))

    def _ticker(self, method: str, params: dict[str, Any], req_id: Any) -> None:
        """``ticker`` (un)subscribe: ``event_trigger`` ``trades`` (default) or ``bbo``
        (channel keys ``ticker`` / ``ticker-bbo``); a subscribe's snapshot first."""
        trigger = params.get("event_trigger", "trades")
        snap = bool(params.get("snapshot", True))
        key = "ticker-bbo" if trigger == "bbo" else "ticker"
        for symbol in params.get("symbol", []):
            result = {"channel": "ticker", "symbol": symbol, "event_trigger": trigger,
                      "snapshot": snap}
            m = self.host.find_market(self.venue, symbol)
            if m is None or trigger not in ("trades", "bbo"):
                self._ack(method, result, req_id, error=f"Currency pair not supported {symbol}"
                          if m is None else f"Invalid event_trigger {trigger}")
                continue
            self._ack(method, result, req_id)
            switch_channel(self, method, m, self.ticker_symbols.setdefault(key, []), symbol,
                           key, partial(self._ticker_first, m, snap, key == "ticker-bbo"))

    def _trade(self, method: str, params: dict[str, Any], req_id: Any) -> None:
        """``trade`` subscribe (with its snapshot when asked) or unsubscribe."""
        snap = bool(params.get("snapshot", False))
        for symbol in params.get("symbol", []):
            result = {"channel": "trade", "symbol": symbol, "snapshot": snap}
            m = self.host.find_market(self.venue, symbol)
            if m is None:
                self._ack(method, result, req_id, error=f"Currency pair not supported {symbol}")
                continue
            self._ack(method, result, req_id)
            switch_channel(self, method, m, self.trade_symbols, symbol, "trade",
                           partial(self._send, wire_of(m, KrakenWire).trade_snapshot)
                           if snap else None)

    def _ohlc(self, method: str, params: dict[str, Any], req_id: Any) -> None:
        """``ohlc`` (un)subscribe keyed by ``interval`` (minutes; channel key
        ``ohlc-<minutes>``); a subscribe's snapshot (``snapshot`` defaults to true) first."""
        interval = params.get("interval", 1)
        snap = bool(params.get("snapshot", True))
        for symbol in params.get("symbol", []):
            result = {"channel": "ohlc", "symbol": symbol, "interval": interval,
                      "snapshot": snap}
            m = self.host.find_market(self.venue, symbol)
            if m is None or interval not in OHLC_MINUTES:
                self._ack(method, result, req_id, error=(
                    f"Currency pair not supported {symbol}" if m is None
                    else "Invalid interval"))
                continue
            self._ack(method, result, req_id)
            key = f"{OHLC_PREFIX}{interval}"
            bars = partial(wire_of(m, KrakenWire).ohlc_snapshot, interval, time.time_ns())
            switch_channel(self, method, m, self.ohlc_symbols.setdefault(key, []), symbol,
                           key, partial(self._send, bars) if snap else None)

    def _send(self, snapshot: Callable[[], bytes]) -> None:
        """Send what ``snapshot`` renders (rendered only for a new subscribe)."""
        self.send_raw(snapshot())

    def _ticker_first(self, m: Market, snap: bool, bbo: bool) -> None:
        """A new ticker subscription's start: its snapshot when asked and, on the
        ``bbo`` trigger, the top it will compare against."""
        wire = wire_of(m, KrakenWire)
        if snap:
            self.send_raw(wire.ticker_message("snapshot", time.time_ns()))
        if bbo:
            wire.last_top = m.bbo()

    async def _burst(self, markets: list[Market]) -> None:
        """Write the bursts of ``markets``, interleaved, as one blob (no heartbeat meanwhile)."""
        key = (self.venue, tuple(m.symbol for m in markets), 0)
        blob, ends = self.host.blob_cache.get(key, lambda: render.frames_blob(
            round_robin([_frames(m) for m in markets])))
        self.bursting += 1
        try:
            await self.write_blob(blob, ends, max(m.cfg.burst_delay for m in markets))
        finally:
            self.bursting -= 1

    def _instruments(self) -> bytes:
        pairs = []
        for m in self.host.markets_of(self.venue):
            model = m.model
            base, _, quote = m.symbol.partition("/")
            pairs.append({"symbol": m.symbol, "base": base, "quote": quote, "status": "online",
                          "qty_precision": model.size_scale.decimals,
                          "qty_increment": m.cfg.step_size, "qty_min": m.cfg.step_size,
                          "price_precision": model.price_scale.decimals,
                          "price_increment": m.cfg.tick_size, "cost_precision": 5,
                          "cost_min": "0.5", "marginable": False, "has_index": True})
        # increments as JSON numbers, as the notes show (docs/simulator.md, "Kraken")
        body = json.dumps({"channel": "instrument", "type": "snapshot",
                           "data": {"assets": [], "pairs": pairs}}, separators=(",", ":"))
        for m in self.host.markets_of(self.venue):
            for key in ("qty_increment", "qty_min", "price_increment"):
                text = getattr(m.cfg, "step_size" if key != "price_increment" else "tick_size")
                body = body.replace(f'"{key}":"{text}"', f'"{key}":{text}')
        return body.encode()

    def deliver(self, market: Market, stream: bytes, items: list[Item], msg: Message) -> None:
        """The update as it is (no per-connection envelope)."""
        for payload, mode in items:
            self.send_item(payload, mode)

    def heartbeat(self) -> None:
        """``{"channel":"heartbeat"}`` when no data went out since the last tick."""
        if ((self.books or self.trade_symbols or any(self.ticker_symbols.values())
                or any(self.ohlc_symbols.values()))
                and self.sent == self._sent_at_heartbeat
                and not self.bursting):
            self.send_raw(b'{"channel":"heartbeat"}', data=False)
        self._sent_at_heartbeat = self.sent


class KrakenDialect(PathDialect):
    """Kraken WebSocket v2 in the simulator (on ``/kraken/v2``, and ``/kraken``)."""

    venue_name = Kraken.name
    ws_path = "/kraken/v2"
    also_paths = ("/kraken",)
    wire_class = KrakenWire
    conn_class = KrakenConn
    channel_names = ("trade", "ticker", "ticker-bbo")


#: ``ohlc`` channel keys are this prefix and the interval in minutes
OHLC_PREFIX = "ohlc-"
#: the ``interval`` values Kraken documents (channels.md 5.4)
OHLC_MINUTES = (1, 5, 15, 30, 60, 240, 1440, 10080, 21600)


def _rfc3339_ns(t_ns: int) -> str:
    """``2023-10-04T15:25:00.000000000Z`` (``ohlc`` prints nanoseconds)."""
    sec, ns = divmod(t_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ns:09d}Z"


def _frames(m: Market) -> list[bytes]:
    return wire_of(m, KrakenWire).frames


__all__ = ["VENUE_FAULTS", "KrakenConn", "KrakenDialect", "KrakenWire", "checksum_text", "number"]
