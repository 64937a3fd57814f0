"""What the two Coinbase dialects share: in-band snapshots, the subscribe deadline, the
ordered write queue of bursts, and the product-metadata endpoint."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from typing import Any, NamedTuple, TypeVar, cast

from aiohttp import web
from picows import WSCloseCode, WSTransport

from fastfeed.sim import render
from fastfeed.sim.dialects.base import Dialect, wire_of
from fastfeed.sim.host import Blob, SimHost
from fastfeed.sim.market import Market
from fastfeed.sim.model import BookState, Message
from fastfeed.sim.rest import RestApi, Route
from fastfeed.sim.transport import Connection, Item

T = TypeVar("T")

#: Coinbase Advanced Trade candles: fixed 5-minute buckets.
CANDLE_NS = 300 * 1_000_000_000


class TickerFields(NamedTuple):
    """What both Coinbase tickers print, as texts (24 h = ``SimConfig.ticker_window``)."""

    price: str
    open: str
    high: str
    low: str
    volume: str
    pct: str
    best_bid: str
    best_bid_size: str
    best_ask: str
    best_ask_size: str
    volume_30d: str
    """Volume of the last 30 days, within the retained tape (Exchange ``volume_30d``)."""


def ticker_fields(m: Market, now_ns: int) -> TickerFields:
    """The rolling-window statistics and the book's best bid/ask of ``m`` now."""
    fmt = m.fmt
    st = m.window.stats(now_ns)
    fallback = st.prev_price if st.prev_price is not None else m.mid()
    last = st.last if st.last is not None else fallback
    o = st.open if st.open is not None else fallback
    high = st.high if st.high is not None else last
    low = st.low if st.low is not None else last
    b, bq, a, aq = m.bbo()
    total = m.window_30d.stats(now_ns).volume
    return TickerFields(fmt.price(last), fmt.price(o), fmt.price(high), fmt.price(low), fmt.size(st.volume),
                        render.ratio_text((last - o) * 100, o, 14), fmt.price(b), fmt.size(bq), fmt.price(a),
                        fmt.size(aq), fmt.size(total))


def round_robin(seqs: list[list[T]]) -> list[T]:
    """The first item of each list, then the second of each, ... (lists may differ in length)."""
    out: list[T] = []
    for i in range(max(map(len, seqs), default=0)):
        out.extend(s[i] for s in seqs if i < len(s))
    return out


class CoinbaseConn(Connection):
    """What Advanced Trade and Exchange connections share: the subscribe deadline, opening
    newly subscribed products, and the ordered write queue of bursts.

    Live products get their in-band snapshot at once and join the market's stream. Burst
    products subscribed by one request go out as ONE pre-framed blob (the products' messages
    interleaved whole, each product in order, snapshots first), rendered from the messages
    pre-rendered at start before anything is written, then ``burst_delay`` (the largest of
    the products'), then written as fast as the socket takes it. Blobs, and (AT) envelopes
    numbered while a blob waits, leave in the order they were queued.
    """

    def __init__(self, host: SimHost, venue: str) -> None:
        """A connection speaking ``venue``; it must subscribe within ``subscribe_timeout``."""
        super().__init__(host)
        self.venue = venue
        self.subscribed = False
        # Ordered output while bursting: ("blob", blob, frame ends, delay) or ("raw", payload, data).
        self._outq: deque[tuple[Any, ...]] = deque()
        self._writer: asyncio.Task[None] | None = None

    @property
    def bursting(self) -> bool:
        """True while a burst (or anything queued behind one) is waiting to be written."""
        return bool(self._outq)

    def on_ws_connected(self, transport: WSTransport) -> None:
        """Start the subscribe deadline."""
        super().on_ws_connected(transport)
        self.later(self.host.config.subscribe_timeout, self._check_subscribed)

    def _check_subscribed(self) -> None:
        if not self.subscribed:
            self.close_now(WSCloseCode.POLICY_VIOLATION, b"no subscribe received")

    def known(self, product: object) -> bool:
        """True when ``product`` (as the client's JSON gave it) is configured for this venue."""
        return self.host.find_market(self.venue, cast(str, product)) is not None

    def market(self, product: str) -> Market:
        """The market of a product this connection validated (KeyError if unknown)."""
        m = self.host.find_market(self.venue, product)
        if m is None:
            raise KeyError(f"no such market: {self.venue} {product}")
        return m

    def open(self, products: list[str]) -> None:
        """Start newly subscribed products (live: snapshot now; burst: one combined blob)."""
        bursts = []
        for p in products:
            m = self.market(p)
            if m.live:
                self.send_snapshot(m, m.model.snapshot())
            else:
                bursts.append(m)
            m.subscribe(self, b"")
            self.markets.add(m)
        if bursts:
            blob, ends = self.burst_blob(bursts)
            self.enqueue(("blob", blob, ends, max(m.cfg.burst_delay for m in bursts)))

    def close_product(self, product: str) -> None:
        """Stop a product's stream on this connection (a burst already queued still goes out)."""
        m = self.market(product)
        m.unsubscribe(self)
        self.markets.discard(m)

    def send_snapshot(self, m: Market, state: BookState) -> None:
        """Send ``state`` as the venue's in-band snapshot of ``m``."""
        raise NotImplementedError

    def burst_blob(self, markets: list[Market]) -> Blob:
        """The bursts of ``markets`` as one pre-framed blob for this connection."""
        raise NotImplementedError

    def enqueue(self, item: tuple[Any, ...]) -> None:
        """Queue a blob or a raw message behind what is queued; start the writer."""
        self._outq.append(item)
        if self._writer is None:
            self._writer = self.spawn(self._drain())

    async def _drain(self) -> None:
        try:
            while self._outq and not self.closed:
                item = self._outq[0]
                if item[0] == "blob":
                    await self.write_blob(item[1], item[2], item[3])
                else:
                    self.send_raw(item[1], data=item[2])
                self._outq.popleft()
        finally:
            self._writer = None
            if self.closed:
                self._outq.clear()


class WireSnapshotConn(CoinbaseConn):
    """A ``CoinbaseConn`` for a venue whose market wire (``wire_class``) renders the book's
    in-band snapshot itself (``snapshot(state)``) and pre-frames its burst (``frames``),
    and whose updates go out one frame each (Bybit, OKX)."""

    wire_class: type[Any]

    def send_snapshot(self, m: Market, state: BookState) -> None:
        """The in-band snapshot at the market's current update counter."""
        self.send_raw(wire_of(m, self.wire_class).snapshot(state))

    def burst_blob(self, markets: list[Market]) -> Blob:
        """The same bytes for every connection subscribing alike."""
        key = (self.venue, tuple(m.symbol for m in markets), 0)
        return self.host.blob_cache.get(key, lambda: render.frames_blob(round_robin(
            [wire_of(m, self.wire_class).frames for m in markets])))

    def deliver(self, market: Market, stream: bytes, items: list[Item], msg: Message) -> None:
        """One frame per item."""
        for payload, mode in items:
            self.send_item(payload, mode)


class CoinbaseDialect(Dialect):
    """What both Coinbase dialects share: a fixed WebSocket path, ``"0"`` deletes, and a
    product endpoint returning ``quote_increment``/``base_increment``."""

    ws_path = ""
    """The path :meth:`ws_url` gives clients."""
    ws_aliases: tuple[str, ...] = ()
    """Every path this venue answers on (``ws_path`` among them)."""
    product_path = ""
    """The product-metadata route (aiohttp pattern with ``{product_id}``)."""

    def ws_url(self, base: str) -> str:
        """The full URL (Coinbase clients connect to one fixed URL)."""
        return base + self.ws_path

    def claims(self, path: str) -> bool:
        """The venue's own paths."""
        return path in self.ws_aliases

    def connection(self, host: SimHost) -> CoinbaseConn:
        """A new connection listener."""
        raise NotImplementedError

    def accept(self, host: SimHost, path: str, query: Mapping[str, list[str]]) -> Any:
        """Every claimed path is the one feed."""
        return self.connection(host)

    def product_body(self, product: str) -> dict[str, Any]:
        """The product fields besides the increments."""
        raise NotImplementedError

    def rest_routes(self) -> list[Route]:
        """The product-metadata endpoint."""
        return [("GET", self.product_path, self.product)]

    async def product(self, api: RestApi, request: web.Request) -> web.Response:
        """Product metadata: the increments a client needs for its scales."""
        product = request.match_info["product_id"]
        injected = api.begin(self.name, product)
        if injected is not None:
            return injected
        m = api.host.find_market(self.name, product)
        if m is None:
            return web.json_response({"message": "NotFound"}, status=404)
        body = self.product_body(product)
        body.update(quote_increment=m.cfg.tick_size, base_increment=m.cfg.step_size)
        return web.Response(body=render.json_bytes(body), content_type="application/json")
