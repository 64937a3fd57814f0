"""Pure-Python twin of a trade stream (``fastfeed._trades.OfflineTradeCore``/``TradeFeed``).

The rules of docs/venues.md ("Trades") written plainly over the reference decoders
(``json`` + ``Decimal``, :mod:`fastfeed.reference.decode`): the stream's id rule
(contiguous: a jump is a gap with its missing id range; observed: a jump is counted;
contiguous-fills: also count ``f != previous l + 1``), duplicates (ids already held),
rejects (the segment's trades are lost, its ids are the missing range), the connection
sequence (Coinbase Advanced Trade), a bounded ring (oldest overwritten first).
Recorded trades are ``(exchange_ns, trade_id, price, size, side)``: the receive time is
the only field the compiled core adds on its own.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from fastfeed.reference.decode import DECODERS, DecodeFailed, _convert_trades, decode_backfill
from fastfeed.venues import get_venue

MAX_MISSING = 4096


class TradeStream:
    """A trade stream fed payload by payload, as ``TradeFeed(strict=False)`` is."""

    def __init__(self, venue: str, symbol: str, price_decimals: int, size_decimals: int,
                 price_tick: int = 1, size_step: int = 1, *, stream: str | None = None,
                 capacity: int = 65536) -> None:
        spec = get_venue(venue)
        self.rules = dict(spec.trade_streams)
        if stream is None and len(self.rules) == 1:
            stream = next(iter(self.rules))
        self.stream = stream
        self.decode = DECODERS[spec.trade_decoder]
        self.connection_sequence = spec.connection_sequence
        self.unreadable_is_gap = spec.unreadable_is_gap
        self.symbol = symbol.upper()
        self.scale = (price_decimals, size_decimals, price_tick, size_step)
        self.ring: deque[tuple[int, int, int, int, int]] = deque(maxlen=capacity)
        self.state = "live"
        self.missing: list[tuple[int, int]] = []
        self.last_trade_id = self.last_fill_id = self.conn_seq = -1
        self.recorded = self.overwritten = self.messages = self.duplicates = 0
        self.gaps = self.id_jumps = self.other_stream = self.rejected = 0
        self.sequence_gaps = self.unknown_symbol = 0
        self.venue = venue
        self.backfilled = 0

    @property
    def rule(self) -> str:
        """The id rule in force ("observed" until a stream is known)."""
        return self.rules[self.stream] if self.stream is not None else "observed"

    def _lost(self, first: int, last: int) -> None:
        self.gaps += 1
        if len(self.missing) >= MAX_MISSING:
            a, z = self.missing.pop()
            first, last = (a, max(z, last)) if a >= 0 and first >= 0 else (-1, -1)
        self.missing.append((first, last))
        if self.state == "live":
            self.state = "gap"

    def apply_message(self, payload: bytes) -> int:
        """The trades recorded from one payload."""
        try:
            out = self.decode(bytes(payload))
        except DecodeFailed:
            self.rejected += 1
            if self.unreadable_is_gap and self.rule == "observed":
                self._lost(-1, -1)
            return 0
        if self.connection_sequence and out["last_id"] >= 0:
            if self.conn_seq >= 0 and out["last_id"] != self.conn_seq + 1:
                self.sequence_gaps += 1
                self._lost(-1, -1)
            self.conn_seq = out["last_id"]
        if out["kind"] == "venue_error":
            self.rejected += 1
            return 0
        if out["kind"] != "trades":
            return 0
        n = 0
        for seg in out["segments"]:
            if seg["symbol"] != self.symbol:
                self.unknown_symbol += 1
                continue
            n += self._segment(seg)
        return n

    def _segment(self, seg: dict[str, Any]) -> int:
        trades = seg["trades"]
        if not trades:
            return 0
        code: str = trades[0]["stream"]
        if code != self.stream:
            if self.stream is not None or code not in self.rules:
                self.other_stream += 1
                return 0
            self.stream = code
        rule = self.rules[code]
        self.messages += 1
        try:
            _convert_trades(seg, *self.scale)
        except DecodeFailed:
            self._reject(trades, rule)
            return 0
        floor = self.last_trade_id
        n = 0
        for t in trades:
            tid = t["trade_id"]
            if tid >= 0 and self.last_trade_id >= 0:
                if tid <= floor:
                    self.duplicates += 1
                    continue
                if tid > self.last_trade_id + 1:
                    if rule == "observed":
                        self.id_jumps += 1
                    else:
                        self._lost(self.last_trade_id + 1, tid - 1)
                elif tid <= self.last_trade_id:
                    if rule != "observed":
                        self.duplicates += 1
                        continue
                    self.id_jumps += 1
                elif (rule == "contiguous-fills" and t["first_id"] >= 0
                      and self.last_fill_id >= 0 and t["first_id"] != self.last_fill_id + 1):
                    self.id_jumps += 1
            self.last_trade_id = max(self.last_trade_id, tid)
            if t["last_id"] >= 0:
                self.last_fill_id = t["last_id"]
            if len(self.ring) == self.ring.maxlen:
                self.overwritten += 1
            self.ring.append((t["time_ns"], tid, t["price"], t["size"], t["side"]))
            n += 1
        self.recorded += n
        return n

    def _reject(self, trades: list[dict[str, Any]], rule: str) -> None:
        self.rejected += 1
        self.last_fill_id = -1
        ids = [t["trade_id"] for t in trades if t["trade_id"] >= 0]
        if not ids:
            self._lost(-1, -1)
            return
        lo, hi = min(ids), max(ids)
        if hi <= self.last_trade_id:
            return                      # only ids already held: nothing lost
        if self.last_trade_id >= 0:
            lo = self.last_trade_id + 1 if rule != "observed" else max(lo, self.last_trade_id + 1)
        self._lost(lo, hi)
        self.last_trade_id = hi

    def backfill(self, body: bytes) -> int:
        """Twin of ``TradeCore.backfill``: the REST body's trades inside a missing range,
        each once, appended in id order; healed ids leave ``missing``. Raises
        ``DecodeFailed`` for a bad body or a venue error body."""
        out = decode_backfill(self.venue, body, *self.scale)
        if out["kind"] == "venue_error":
            raise DecodeFailed("venue error")
        got: dict[int, dict[str, Any]] = {}
        for seg in out["segments"]:
            for t in seg["trades"]:
                tid = t["trade_id"]
                if tid not in got and any(a <= tid <= z for a, z in self.missing if a >= 0):
                    got[tid] = t
        for tid in sorted(got):
            t = got[tid]
            if len(self.ring) == self.ring.maxlen:
                self.overwritten += 1
            self.ring.append((t["time_ns"], tid, t["price"], t["size"], t["side"]))
        self.recorded += len(got)
        self.backfilled += len(got)
        healed = set(got)
        left: list[tuple[int, int]] = []
        for a, z in self.missing:
            if a < 0:
                left.append((a, z))
                continue
            start = a
            for i in range(a, z + 1):
                if i in healed:
                    if i > start:
                        left.append((start, i - 1))
                    start = i + 1
            if start <= z:
                left.append((start, z))
        self.missing = left
        if not left and self.state == "gap":
            self.state = "live"
        return len(got)

    def trades(self) -> list[tuple[int, int, int, int, int]]:
        """``(exchange_ns, trade_id, price, size, side)`` held, oldest first."""
        return list(self.ring)
