"""The baselines of ``fastfeed bench`` and ``benches/feed.py``: json/orjson + dict book.

Written the way a careful Python user would: the message is decoded by ``json.loads`` or
``orjson.loads`` into Python objects; each side is a ``dict`` keyed by ``float(price)``
holding ``float(size)``; a size equal to ``0.0`` deletes the level (``dict.pop``); and the
venue's sequence rules are checked exactly as fastfeed checks them.

Nothing here restates a venue: the router is picked by the venue's ``decoder``, each
book's id rule is the venue's ``sequencing`` as judged by
:class:`fastfeed.reference.sync.ReferenceSequencer`, and the per-connection counter
(Coinbase Advanced Trade ``sequence_num``) is checked when ``connection_sequence`` is
set. Kraken books are cut to the subscribed depth after each message as the venue
requires, but the baseline does **not** compute Kraken's CRC32 checksum (fastfeed does:
the comparison favours the baseline there) (:mod:`fastfeed.venues`; the rules are written down in ``docs/venues.md``). A
detected gap marks the book ``gap`` and stops applying to it (no resync: the benchmark
stream has none). No sorting is done per message (a dict book is unordered; sorting
happens only when compared with the truth).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastfeed.reference.sync import ReferenceSequencer
from fastfeed.venues import Venue, get_venue

__all__ = [
    "ROUTERS",
    "BinanceRouter",
    "BybitRouter",
    "CoinbaseATRouter",
    "CoinbaseExchangeRouter",
    "DictBook",
    "KrakenRouter",
    "OkxRouter",
    "Router",
    "corrupt_dict",
    "dict_levels",
    "make_router",
]


class DictBook:
    """Baseline book: ``{float(price): float(size)}`` per side plus the venue's id rule.

    ``rule`` is the venue's ``sequencing`` (``"binance-spot"``, ``"binance-usdm"``,
    ``"in-band"``, ``"bybit"`` or ``"okx"``); the verdict on each event's update ids comes from
    :class:`fastfeed.reference.sync.ReferenceSequencer` (the one plain-Python copy of the
    rules in ``docs/venues.md``). Coinbase ids are checked per connection by the router.
    ``state`` is ``syncing``, ``live`` or ``gap``; nothing is applied unless live.
    """

    __slots__ = ("applied", "asks", "bids", "gaps", "old", "rule", "seq", "state")

    def __init__(self, rule: str) -> None:
        """An empty book waiting for its snapshot."""
        self.rule = rule
        self.seq = ReferenceSequencer(rule)
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.state = "syncing"
        self.applied = 0
        self.old = 0
        self.gaps = 0

    @property
    def last_id(self) -> int:
        """Update id the book is at (the snapshot's ``lastUpdateId``, then each event's ``u``)."""
        return self.seq.book_id

    def load_rest(self, snap: dict[str, Any]) -> None:
        """Load a decoded Binance REST snapshot and go live."""
        self.bids = {float(p): float(q) for p, q in snap["bids"]}
        self.asks = {float(p): float(q) for p, q in snap["asks"]}
        self.seq.load_snapshot(snap["lastUpdateId"], None)    # nothing buffered
        self.state = "live"

    def binance_event(self, ev: dict[str, Any]) -> None:
        """Apply one decoded ``depthUpdate`` if the sequencing rule says so."""
        if self.state != "live":
            return
        u = ev["u"]
        # ``pu`` (previous event's u) exists only on USD-M; the spot rule does not read it.
        verdict = self.seq.verdict(ev["U"], u, ev.get("pu", -1))
        if verdict != "apply":
            if verdict == "old":
                self.old += 1
            else:       # "gap" ("buffer" cannot happen: the book is live)
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
        self.seq.apply(u)
        self.applied += 1

    def _gap(self) -> None:
        self.gaps += 1
        self.state = "gap"

    def _in_band_snapshot(self) -> None:
        self.seq.load_snapshot(-1, None)
        self.state = "live"

    def load_pairs(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        """Replace the book from ``[[price, size], ...]`` lists (Coinbase Exchange snapshot)."""
        self.bids = {float(p): float(q) for p, q in bids}
        self.asks = {float(p): float(q) for p, q in asks}
        self._in_band_snapshot()

    def at_event(self, ev: dict[str, Any]) -> None:
        """Apply one Coinbase Advanced Trade ``l2_data`` event (snapshot or update)."""
        if ev["type"] == "snapshot":
            self.bids = {}
            self.asks = {}
            self._in_band_snapshot()
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


    def load_in_band(self, bids: list[Any], asks: list[Any], update_id: int) -> None:
        """Replace the book from ``[[price, size, ...], ...]`` lists (Bybit, OKX snapshot)
        and go live at ``update_id`` (Bybit ``u``, OKX ``seqId``)."""
        self.bids = {float(lv[0]): float(lv[1]) for lv in bids}
        self.asks = {float(lv[0]): float(lv[1]) for lv in asks}
        self.seq.load_snapshot(update_id, None)
        self.state = "live"

    def chained(self, bids: list[Any], asks: list[Any], update_id: int, prev: int) -> None:
        """Apply one Bybit ``delta`` / OKX ``update`` (``[price, size, ...]`` levels) if the
        venue's rule accepts ``update_id`` (Bybit ``u``; OKX ``seqId`` after ``prev``)."""
        if self.state != "live":
            return
        verdict = self.seq.verdict(update_id, update_id, prev)
        if verdict != "apply":
            if verdict == "old":
                self.old += 1
            else:
                self._gap()
            return
        for book, levels in ((self.bids, bids), (self.asks, asks)):
            for lv in levels:
                size = float(lv[1])
                if size == 0.0:
                    book.pop(float(lv[0]), None)
                else:
                    book[float(lv[0])] = size
        self.seq.apply(update_id)
        self.applied += 1

    def kraken(self, entry: dict[str, Any], snapshot: bool, depth: int) -> None:
        """Apply one Kraken ``book`` entry (``{"price": N, "qty": N}`` levels, JSON
        numbers), then cut each side to ``depth`` as the venue requires (levels pushed
        below it get no delete). The CRC32 ``checksum`` is **not** verified here."""
        if snapshot:
            self.bids = {}
            self.asks = {}
            self._in_band_snapshot()
        elif self.state != "live":
            return
        for book, levels, best_high in ((self.bids, entry["bids"], True),
                                        (self.asks, entry["asks"], False)):
            for lv in levels:
                size = float(lv["qty"])
                if size == 0.0:
                    book.pop(float(lv["price"]), None)
                else:
                    book[float(lv["price"])] = size
            if len(book) > depth:       # sorts only when a level was pushed out
                for price in sorted(book, reverse=best_high)[depth:]:
                    del book[price]
        self.applied += 1


class BinanceRouter:
    """Routes decoded Binance events (raw or combined-stream form) to their ``DictBook``."""

    def __init__(self, books: dict[str, DictBook], venue: Venue) -> None:
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
    """Routes ``l2_data`` events; checks the per-connection ``sequence_num`` when the venue
    has one (``Venue.connection_sequence``): any jump turns every book ``gap``."""

    def __init__(self, books: dict[str, DictBook], venue: Venue) -> None:
        """``books`` by product id."""
        self.books = books
        self.check_sequence = venue.connection_sequence
        self.seq = -1
        self.gaps = 0

    def on_message(self, msg: dict[str, Any]) -> None:
        """One decoded envelope."""
        if self.check_sequence:
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

    def __init__(self, books: dict[str, DictBook], venue: Venue) -> None:
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


class BybitRouter:
    """Routes Bybit ``orderbook`` messages by ``data.s`` (``snapshot``/``delta``, ``u``)."""

    def __init__(self, books: dict[str, DictBook], venue: Venue) -> None:
        """``books`` by symbol."""
        self.books = books

    def on_message(self, msg: dict[str, Any]) -> None:
        """One decoded message (control replies have no ``topic``)."""
        if "topic" not in msg:
            return
        data = msg["data"]
        book = self.books.get(data["s"])
        if book is None:
            return
        if msg["type"] == "snapshot":
            book.load_in_band(data["b"], data["a"], data["u"])
        else:
            book.chained(data["b"], data["a"], data["u"], -1)


class OkxRouter:
    """Routes OKX ``books`` messages by ``arg.instId`` (``prevSeqId`` chains ``seqId``)."""

    def __init__(self, books: dict[str, DictBook], venue: Venue) -> None:
        """``books`` by instrument id."""
        self.books = books

    def on_message(self, msg: dict[str, Any]) -> None:
        """One decoded message (events have no ``action``)."""
        action = msg.get("action")
        if action is None:
            return
        book = self.books.get(msg["arg"]["instId"])
        if book is None:
            return
        d = msg["data"][0]
        if action == "snapshot":
            book.load_in_band(d["bids"], d["asks"], d["seqId"])
        else:
            book.chained(d["bids"], d["asks"], d["seqId"], d["prevSeqId"])


class KrakenRouter:
    """Routes Kraken v2 ``book`` messages by symbol; truncates to the subscribed depth
    (``Kraken.book_depth``) but does not verify the checksum (fastfeed does)."""

    def __init__(self, books: dict[str, DictBook], venue: Venue) -> None:
        """``books`` by symbol."""
        self.books = books
        self.depth = int(getattr(venue, "book_depth", 0))

    def on_message(self, msg: dict[str, Any]) -> None:
        """One decoded message (status, acks and heartbeats are skipped)."""
        if msg.get("channel") != "book":
            return
        entry = msg["data"][0]
        book = self.books.get(entry["symbol"])
        if book is not None:
            book.kraken(entry, msg["type"] == "snapshot", self.depth)


Router = (BinanceRouter | CoinbaseATRouter | CoinbaseExchangeRouter | BybitRouter | OkxRouter
          | KrakenRouter)

#: The baseline router for each message dialect, keyed by ``Venue.decoder`` (the compiled
#: decoder the production path uses for the same messages).
ROUTERS: dict[str, type[Router]] = {
    "binance-depth": BinanceRouter,
    "coinbase-at": CoinbaseATRouter,
    "coinbase-exchange": CoinbaseExchangeRouter,
    "bybit": BybitRouter,
    "okx": OkxRouter,
    "kraken": KrakenRouter,
}


def make_router(venue: str, symbols: Sequence[str]) -> tuple[Router, dict[str, DictBook]]:
    """A baseline router and its books for ``venue`` (dispatched on its description:
    ``decoder`` picks the router, ``sequencing`` the books' id rule)."""
    v = get_venue(venue)
    books = {s: DictBook(v.sequencing) for s in symbols}
    return ROUTERS[v.decoder](books, v), books


def dict_levels(side: dict[float, float], bids: bool) -> list[tuple[float, float]]:
    """A dict book side sorted best first."""
    return sorted(side.items(), reverse=bids)


def corrupt_dict(book: DictBook) -> None:
    """Test aid: bump the size of the best bid."""
    if book.bids:
        p = max(book.bids)
        book.bids[p] += 1.0
