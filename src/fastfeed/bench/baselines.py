"""The baselines of ``fastfeed bench`` and ``benches/feed.py``: json/orjson + dict book.

Written the way a careful Python user would: the message is decoded by ``json.loads`` or
``orjson.loads`` into Python objects; each side is a ``dict`` keyed by ``float(price)``
holding ``float(size)``; a size equal to ``0.0`` deletes the level (``dict.pop``); and the
venue's sequence rule is checked exactly as fastfeed checks it (Binance spot:
``u <= id`` old, ``U > id + 1`` gap; USD-M: first event ``U <= id <= u`` (or
``pu == id``), then ``pu == previous u``; Coinbase Advanced Trade: ``sequence_num`` must
grow by one per message on the connection; Coinbase Exchange: no sequence on L2). A
detected gap marks the book ``gap`` and stops applying to it (no resync: the benchmark
stream has none). No sorting is done per message (a dict book is unordered; sorting
happens only when compared with the truth).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "BinanceRouter",
    "CoinbaseATRouter",
    "CoinbaseExchangeRouter",
    "DictBook",
    "Router",
    "corrupt_dict",
    "dict_levels",
    "make_router",
]


class DictBook:
    """Baseline book: ``{float(price): float(size)}`` per side plus the venue's id rule.

    ``rule`` is ``"binance-spot"``, ``"binance-usdm"`` or ``"in-band"`` (Coinbase: ids
    are checked per connection by the router). ``state`` is ``syncing``, ``live`` or
    ``gap``; nothing is applied unless live.
    """

    __slots__ = ("applied", "asks", "bids", "expect_first", "gaps", "last_id", "old",
                 "rule", "state")

    def __init__(self, rule: str) -> None:
        """An empty book waiting for its snapshot."""
        self.rule = rule
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.last_id = -1
        self.state = "syncing"
        self.expect_first = True
        self.applied = 0
        self.old = 0
        self.gaps = 0

    def load_rest(self, snap: dict[str, Any]) -> None:
        """Load a decoded Binance REST snapshot and go live."""
        self.bids = {float(p): float(q) for p, q in snap["bids"]}
        self.asks = {float(p): float(q) for p, q in snap["asks"]}
        self.last_id = snap["lastUpdateId"]
        self.expect_first = True
        self.state = "live"

    def binance_event(self, ev: dict[str, Any]) -> None:
        """Apply one decoded ``depthUpdate`` under the spot or USD-M rule."""
        if self.state != "live":
            return
        u = ev["u"]
        if self.rule == "binance-usdm":
            if self.expect_first:
                if u < self.last_id:
                    self.old += 1
                    return
                # fastfeed also accepts an event continuing the snapshot exactly
                # (pu == lastUpdateId, commit 1736c26): same rule here.
                if ev["U"] > self.last_id and ev["pu"] != self.last_id:
                    self._gap()
                    return
            elif u <= self.last_id:
                self.old += 1
                return
            elif ev["pu"] != self.last_id:
                self._gap()
                return
        else:
            if u <= self.last_id:
                self.old += 1
                return
            if ev["U"] > self.last_id + 1:
                self._gap()
                return
        bids = self.bids
        for p, q in ev["b"]:
            size = float(q)
            if size == 0.0:
                bids.pop(float(p), None)
            else:
                bids[float(p)] = size
        asks = self.asks
        for p, q in ev["a"]:
            size = float(q)
            if size == 0.0:
                asks.pop(float(p), None)
            else:
                asks[float(p)] = size
        self.last_id = u
        self.expect_first = False
        self.applied += 1

    def _gap(self) -> None:
        self.gaps += 1
        self.state = "gap"

    def load_pairs(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        """Replace the book from ``[[price, size], ...]`` lists (Coinbase Exchange snapshot)."""
        self.bids = {float(p): float(q) for p, q in bids}
        self.asks = {float(p): float(q) for p, q in asks}
        self.state = "live"

    def at_event(self, ev: dict[str, Any]) -> None:
        """Apply one Coinbase Advanced Trade ``l2_data`` event (snapshot or update)."""
        if ev["type"] == "snapshot":
            self.bids = {}
            self.asks = {}
            self.state = "live"
        elif self.state != "live":
            return
        bids = self.bids
        asks = self.asks
        for u in ev["updates"]:
            book = bids if u["side"] == "bid" else asks
            size = float(u["new_quantity"])
            if size == 0.0:
                book.pop(float(u["price_level"]), None)
            else:
                book[float(u["price_level"])] = size
        self.applied += 1

    def ex_changes(self, changes: list[list[str]]) -> None:
        """Apply Coinbase Exchange ``l2update`` changes ``[[side, price, size], ...]``."""
        if self.state != "live":
            return
        bids = self.bids
        asks = self.asks
        for side, p, q in changes:
            book = bids if side == "buy" else asks
            size = float(q)
            if size == 0.0:
                book.pop(float(p), None)
            else:
                book[float(p)] = size
        self.applied += 1


class BinanceRouter:
    """Routes decoded Binance events (raw or combined-stream form) to their ``DictBook``."""

    def __init__(self, books: dict[str, DictBook]) -> None:
        """``books`` by symbol (upper case)."""
        self.books = books
        self.unknown = 0

    def on_message(self, msg: dict[str, Any]) -> None:
        """One decoded WebSocket message."""
        data = msg.get("data", msg)
        book = self.books.get(data.get("s"))
        if book is None:
            self.unknown += 1
            return
        book.binance_event(data)


class CoinbaseATRouter:
    """Checks the per-connection ``sequence_num`` and routes ``l2_data`` events."""

    def __init__(self, books: dict[str, DictBook]) -> None:
        """``books`` by product id."""
        self.books = books
        self.seq = -1
        self.gaps = 0

    def on_message(self, msg: dict[str, Any]) -> None:
        """One decoded envelope."""
        seq = msg.get("sequence_num")
        if seq is not None:
            if self.seq >= 0 and seq != self.seq + 1:
                self.gaps += 1
                for b in self.books.values():
                    b.state = "gap"
            self.seq = seq
        if msg.get("channel") != "l2_data":
            return
        for ev in msg["events"]:
            book = self.books.get(ev["product_id"])
            if book is not None:
                book.at_event(ev)


class CoinbaseExchangeRouter:
    """Routes Coinbase Exchange ``snapshot``/``l2update`` messages by product."""

    def __init__(self, books: dict[str, DictBook]) -> None:
        """``books`` by product id."""
        self.books = books

    def on_message(self, msg: dict[str, Any]) -> None:
        """One decoded message."""
        kind = msg.get("type")
        if kind == "l2update":
            book = self.books.get(msg["product_id"])
            if book is not None:
                book.ex_changes(msg["changes"])
        elif kind == "snapshot":
            book = self.books.get(msg["product_id"])
            if book is not None:
                book.load_pairs(msg["bids"], msg["asks"])


Router = BinanceRouter | CoinbaseATRouter | CoinbaseExchangeRouter


def make_router(venue: str, symbols: Sequence[str]) -> tuple[Router, dict[str, DictBook]]:
    """A baseline router and its books for ``venue``."""
    rule = {"binance": "binance-spot", "binance-usdm": "binance-usdm"}.get(venue, "in-band")
    books = {s: DictBook(rule) for s in symbols}
    if venue.startswith("binance"):
        return BinanceRouter(books), books
    if venue == "coinbase":
        return CoinbaseATRouter(books), books
    return CoinbaseExchangeRouter(books), books


def dict_levels(side: dict[float, float], bids: bool) -> list[tuple[float, float]]:
    """A dict book side sorted best first."""
    return sorted(side.items(), reverse=bids)


def corrupt_dict(book: DictBook) -> None:
    """Test aid: bump the size of the best bid."""
    if book.bids:
        p = max(book.bids)
        book.bids[p] += 1.0
