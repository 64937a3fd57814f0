"""One simulated instrument: its model, its subscribers, its pending faults, its burst.

A :class:`Market` steps its :class:`~fastfeed.sim.model.BookModel` on the simulator's
clock, renders each message once through its venue's :class:`~fastfeed.sim.dialects.base.Wire`,
runs it through the stream faults and hands the resulting items to every subscribed
connection. It also keeps what REST snapshots serve (current, frozen for bursts, or stale
when injected) and, in burst mode, the pre-generated messages.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

from fastfeed.sim.config import SymbolConfig
from fastfeed.sim.faults import STREAM_FAULTS
from fastfeed.sim.host import SimHost
from fastfeed.sim.model import BookModel, BookState, Message
from fastfeed.sim.tape import Bar, Fill, RollingStats, candles, empty_bar, new_bar
from fastfeed.sim.transport import DROP, LITERAL, NORMAL, SOCKET_TRUNC, TRUNC, Connection, Item
from fastfeed.venues import get_venue

if TYPE_CHECKING:
    from fastfeed.sim.dialects.base import Dialect

#: Messages each model advances, unsent, before the simulator serves anything: the past a
#: ``stale_snapshot`` right after start serves (``lag`` up to PREHISTORY - 1; a start-up
#: fault with a larger lag grows it, see Market.ensure_history).
PREHISTORY = 32

MARKET_FAULTS = STREAM_FAULTS | {"slow_snapshot", "stale_snapshot"}
"""Faults a market queues itself (:meth:`Market.inject`): stream faults and the snapshot
faults; the other REST faults act in :class:`~fastfeed.sim.rest.RestApi`."""

MALFORMED = b'{"e":"depthUpdate","E":1,"s":"\x7f{{[[not json'
"""The frame a ``malformed`` fault sends (invalid JSON, whatever the venue)."""


def fault_channel(key: str) -> str:
    """The channel a stream fault names for channel key ``key`` (``kline_1m`` ->
    ``kline``; other keys are their own)."""
    return "kline" if key.startswith("kline_") else key


class ChannelFaults:
    """Pending stream faults of one non-book channel of a market (``channel=`` in
    :data:`fastfeed.sim.faults.FAULTS`): the same kinds and meanings as the book's."""

    def __init__(self) -> None:
        """Nothing pending."""
        self.drop = 0
        self.dup = 0
        self.reorder = 0
        self.held: list[Item] | None = None
        self.malformed: list[dict[str, Any]] = []
        self.trunc: list[dict[str, Any]] = []

    def idle(self) -> bool:
        """True when nothing is pending (the market forgets the object)."""
        return not (self.drop or self.dup or self.reorder or self.held is not None
                    or self.malformed or self.trunc)

    def add(self, fault: str, params: dict[str, Any]) -> None:
        """Queue one fault (``drop``, ``duplicate``, ``reorder``, ``malformed``, ``truncated``)."""
        if fault == "drop":
            self.drop += int(params["count"])
        elif fault == "duplicate":
            self.dup += int(params["count"])
        elif fault == "reorder":
            self.reorder += int(params["count"])
        elif fault == "malformed":
            self.malformed.append(dict(params))
        elif fault == "truncated":
            self.trunc.append(dict(params))
        else:
            raise ValueError(f"{fault!r} does not apply to the channel {params.get('channel')!r}")

    @staticmethod
    def _take(pending: list[dict[str, Any]]) -> dict[str, Any]:
        p = pending[0]
        p["count"] -= 1
        if p["count"] <= 0:
            pending.pop(0)
        return p

    def apply(self, payload: bytes, host: SimHost) -> list[Item]:
        """The items one payload of the channel becomes (as for book messages)."""
        items: list[Item] = []
        if self.malformed:
            p = self._take(self.malformed)
            host.fired("malformed")
            items.append((MALFORMED, LITERAL))
            if p.get("replace"):
                payload = b""
        if not payload:
            pass
        elif self.drop > 0:
            self.drop -= 1
            host.fired("drop")
            items.append((payload, DROP))
        elif self.trunc:
            p = self._take(self.trunc)
            host.fired("truncated")
            items.append((payload, SOCKET_TRUNC if p.get("mode") == "socket" else TRUNC))
        else:
            items.append((payload, NORMAL))
            if self.dup > 0:
                self.dup -= 1
                host.fired("duplicate")
                items.append((payload, NORMAL))
        if self.held is not None:
            items.extend(self.held)
            self.held = None
        elif self.reorder > 0 and items:
            self.reorder -= 1
            host.fired("reorder")
            self.held = items
            return []
        return items


class Market:
    """One (venue, symbol): the model, its subscribers, its pending faults, its burst."""

    def __init__(self, host: SimHost, dialect: Dialect, cfg: SymbolConfig) -> None:
        """Build the model (and pre-generate and pre-render the burst, if configured)."""
        self.host = host
        self.dialect = dialect
        self.venue = dialect.name
        self.cfg = cfg
        self.symbol = cfg.symbol
        history = host.config.history + (cfg.burst + 1 if cfg.burst else 0)
        self.model = BookModel(
            symbol=cfg.symbol, seed=host.config.seed, tick_size=cfg.tick_size,
            step_size=cfg.step_size, mid_price=cfg.mid_price, depth=cfg.depth,
            levels_per_message=cfg.levels_per_message, move_prob=cfg.move_prob,
            size_scale=cfg.size_scale, history=history, start_id=cfg.start_id,
            id_skip=dialect.id_skip,
            trades_per_message=cfg.trade_rate / cfg.rate if cfg.rate > 0 and cfg.trade_rate > 0 else 0.0,
            trade_holes=dialect.trade_holes, trade_history=host.config.trade_history,
        )
        self.fmt = dialect.number_format(cfg, self.model.price_scale, self.model.size_scale)
        self.off_grid_bids = self._off_grid_bids(cfg.off_grid_bids)
        """``(price, size)`` texts of the resting off-grid bids, best first."""
        # conn -> stream names it subscribed with (combined streams wrap with the name).
        self.subs: dict[Connection, list[bytes]] = {}
        self.rate = cfg.rate
        self.t0 = 0.0
        self.generated = 0
        self.sent = 0
        # Stream fault state.
        self._drop = 0
        self._dup = 0
        self.reorders_pending = 0
        """``reorder`` faults queued (read by dialects that reorder per connection)."""
        self._held: list[Item] | None = None
        self._malformed: list[dict[str, Any]] = []
        self._trunc: list[dict[str, Any]] = []
        self._oversized: list[int] = []
        self._corrupt: list[dict[str, Any]] = []
        # REST fault state.
        self._slow: list[float] = []
        self._stale: list[int] = []
        # Connection faults waiting for the next subscriber.
        self._pending_conn_faults: list[tuple[str, dict[str, Any]]] = []
        # The other channels (trades, BBO, tickers, candles): channel key -> conn -> stream
        # names, their stream faults, the rolling ticker window and the bars being built.
        self.chan_subs: dict[str, dict[Connection, list[bytes]]] = {}
        self._chan_faults: dict[str, ChannelFaults] = {}
        cap = host.config.trade_history
        self.window = RollingStats(int(host.config.ticker_window * 1e9), cap)
        """The 24 h statistics (``SimConfig.ticker_window``)."""
        self.window_30d = RollingStats(30 * 86_400 * 1_000_000_000, cap)
        """30 days (Coinbase Exchange ``volume_30d``), within the retained tape."""
        self._bars: dict[int, deque[Bar]] = {}
        # Burst mode.
        self.burst: list[Message] = []
        self.burst_start: BookState | None = None
        self.burst_snapshot: BookState | None = None
        self.wire = dialect.wire(self)
        self._prehistory()
        if cfg.burst > 0:
            self.burst_start = self.model.snapshot()
            k = min(max(0, cfg.burst_snapshot_index), cfg.burst - 1)
            for i in range(cfg.burst):
                self.burst.append(self.model.step())
                if i == k:
                    self.burst_snapshot = self.model.snapshot()
            # Rendered (and framed) now, so writing starts at subscribe time.
            self.wire.prerender_burst()

    def _prehistory(self, count: int = PREHISTORY) -> None:
        """Advance the model ``count`` messages that are never sent, before anyone connects.

        Gives ``stale_snapshot`` real past states to serve right after start (a snapshot
        strictly older than the first message a subscriber sees). With ``start_id`` set,
        the ids are shifted back so the book served at start still has ``start_id``.
        """
        before = self.model.last_id
        for _ in range(count):
            self._tape(self.model.step(time.time_ns() // 1000 * 1000).trades)
        used = self.model.last_id - before
        if self.cfg.start_id is not None and self.model.oldest_id - used >= 0:
            self.model.shift_ids(-used)

    def ensure_history(self, messages: int) -> None:
        """Grow the pre-history to ``messages`` while nothing of this market was sent yet
        (a start-up ``stale_snapshot`` with a large ``lag``); no-op afterwards."""
        if self.sent or self.subs or not self.live:
            return
        missing = messages - len(self.model.history)
        if missing > 0:
            self._prehistory(missing)

    @property
    def live(self) -> bool:
        """True for a live (clock-driven) market, False in burst mode."""
        return not self.burst

    # -- clock --------------------------------------------------------------------------

    def advance(self, count: int = 1) -> None:
        """Generate ``count`` messages now and send each to the subscribers."""
        for _ in range(count):
            self.emit(self.model.step(time.time_ns() // 1000 * 1000))
            self.generated += 1

    def tick(self, now: float) -> None:
        """Send the messages due by clock time ``now`` at this market's ``rate``."""
        due = int((now - self.t0) * self.rate) - self.generated
        cap = max(1, int(self.rate * 0.25))
        if due > cap:
            # Fell behind (GC, debugger): skip ahead rather than flood the clients.
            self.t0 = now - (self.generated + cap) / self.rate
            due = cap
        self.advance(due)

    def next_due(self) -> float:
        """Clock time at which :meth:`tick` has its next message to send."""
        return self.t0 + (self.generated + 1) / self.rate

    def restart_clock(self, now: float) -> None:
        """Continue from clock time ``now`` as if no time had passed (after a pause)."""
        if self.rate > 0:
            self.t0 = now - self.generated / self.rate

    # -- live stream --------------------------------------------------------------------

    def emit(self, msg: Message) -> None:
        """Render ``msg``, run it through the stream faults, hand it to every subscriber;
        then the same for the other channels it feeds (trades, BBO, tickers)."""
        self.sent += 1
        if msg.trades:
            self._tape(msg.trades)
        self._emit_book(msg)
        if self.chan_subs:
            self.send_channels(self.wire.channels(msg, self.chan_subs.keys()))

    def _emit_book(self, msg: Message) -> None:
        if not self.subs and not self._faults_pending():
            return  # nobody to render it for (the model has moved: truth is right)
        pad = None
        if self._oversized:
            pad = self._oversized.pop(0)
            self.host.fired("oversized")
        sent = self._corrupt_level(msg, self._take(self._corrupt, "corrupt_level")) if self._corrupt else msg
        items = self._apply_stream_faults(self.wire.update(sent, pad))
        if not items:
            return
        for conn, streams in list(self.subs.items()):
            for stream in streams:
                conn.deliver(self, stream, items, msg)

    def _corrupt_level(self, msg: Message, p: dict[str, Any]) -> Message:
        """``msg`` with one level's size wrong (``corrupt_level``); the model, and so the
        ground truth, keeps the true size. The fault is recorded with the host."""
        model = self.model
        bid = p["side"] == "bid"
        prices = model.bid_px if bid else model.ask_px
        i = min(int(p["index"]), len(prices) - 1)
        price = prices[-1 - i] if bid else prices[i]
        true = (model.bids if bid else model.asks)[price]
        wrong = true + int(p["delta"])
        levels = [lv for lv in (msg.bids if bid else msg.asks) if lv[0] != price]
        levels.append((price, wrong))
        levels.sort(reverse=bid)  # best first, as the model sends them
        self.host.corrupted({
            "venue": self.venue, "symbol": self.symbol, "first_id": msg.first_id,
            "last_id": msg.last_id, "side": p["side"], "price": price, "true_size": true,
            "sent_size": wrong, "price_text": self.fmt.price(price),
            "true_size_text": self.fmt.size(true), "sent_size_text": self.fmt.size(wrong),
        })
        if bid:
            return msg._replace(bids=levels)
        return msg._replace(asks=levels)

    def _faults_pending(self) -> bool:
        """True while a stream fault waits for a message (it fires with or without
        subscribers, as before)."""
        return bool(self._drop or self._dup or self.reorders_pending or self._held is not None
                    or self._malformed or self._trunc or self._oversized or self._corrupt
                    or self.wire.pending())

    def _take(self, pending: list[dict[str, Any]], name: str) -> dict[str, Any]:
        """Use one count of the oldest pending fault of a kind; it leaves when used up."""
        p = pending[0]
        p["count"] -= 1
        if p["count"] <= 0:
            pending.pop(0)
        self.host.fired(name)
        return p

    def _apply_stream_faults(self, payload: bytes) -> list[Item]:
        items: list[Item] = []
        if self._malformed:
            p = self._take(self._malformed, "malformed")
            items.append((MALFORMED, LITERAL))
            if p.get("replace"):
                payload = b""
        if not payload:
            pass
        elif self._drop > 0:
            self._drop -= 1
            self.host.fired("drop")
            items.append((payload, DROP))
        elif self._trunc:
            p = self._take(self._trunc, "truncated")
            items.append((payload, SOCKET_TRUNC if p.get("mode") == "socket" else TRUNC))
        else:
            items.append((payload, NORMAL))
            if self._dup > 0:
                self._dup -= 1
                self.host.fired("duplicate")
                items.append((payload, NORMAL))
        if self._held is not None:
            items.extend(self._held)
            self._held = None
        elif self.reorders_pending > 0 and items and not self.dialect.reorder_per_connection:
            # (Dialects that reorder per connection call claim_reorder instead.)
            self.reorders_pending -= 1
            self.host.fired("reorder")
            self._held = items
            return []
        return items

    def claim_reorder(self) -> bool:
        """Use one pending ``reorder`` fault, if any (for dialects that reorder whole
        per-connection envelopes rather than market messages)."""
        if self.reorders_pending > 0:
            self.reorders_pending -= 1
            self.host.fired("reorder")
            return True
        return False

    # -- faults -------------------------------------------------------------------------

    def inject(self, fault: str, params: dict[str, Any]) -> None:
        """Queue a stream fault or a snapshot fault (``slow_snapshot``, ``stale_snapshot``);
        ``params`` are complete (see :func:`fastfeed.sim.faults.fault_params`); a stream
        fault with a ``channel`` other than ``""`` acts on that channel's messages."""
        channel = params.get("channel", "")
        if channel:
            if channel not in self.dialect.channel_names:
                raise ValueError(f"{self.venue} has no channel {channel!r} (known: "
                                 f"{', '.join(self.dialect.channel_names)}; '' = the book stream)")
            self._chan_faults.setdefault(channel, ChannelFaults()).add(fault, params)
            return
        if fault == "drop":
            self._drop += int(params["count"])
        elif fault == "duplicate":
            self._dup += int(params["count"])
        elif fault == "reorder":
            self.reorders_pending += int(params["count"])
        elif fault == "malformed":
            self._malformed.append(dict(params))
        elif fault == "truncated":
            self._trunc.append(dict(params))
        elif fault == "oversized":
            self._oversized.append(int(params["size"]))
        elif fault == "corrupt_level":
            if params["side"] not in ("bid", "ask"):
                raise ValueError(f"corrupt_level: side must be 'bid' or 'ask', not {params['side']!r}")
            if int(params["index"]) < 0 or int(params["delta"]) < 1 or int(params["count"]) < 1:
                raise ValueError("corrupt_level: index must be >= 0, delta and count >= 1")
            self._corrupt.append(dict(params))
        elif fault == "slow_snapshot":
            self._slow.extend([float(params["delay"])] * int(params["count"]))
        elif fault == "stale_snapshot":
            self.ensure_history(int(params["lag"]) + 2)
            self._stale.extend([int(params["lag"])] * int(params["count"]))
        elif not self.wire.inject(fault, params):     # a venue's own (Bybit restart, Kraken, OKX)
            raise ValueError(f"{fault!r} is not a market fault of {self.venue}")

    def arm_next_subscriber(self, fault: str, params: dict[str, Any]) -> None:
        """Keep a connection fault for the next connection that subscribes."""
        self._pending_conn_faults.append((fault, dict(params)))

    # -- subscriptions ------------------------------------------------------------------

    def subscribe(self, conn: Connection, stream: bytes) -> None:
        """Add a subscriber (a connection may subscribe with several stream names)."""
        self.subs.setdefault(conn, []).append(stream)
        while self._pending_conn_faults:
            name, params = self._pending_conn_faults.pop(0)
            conn.arm(name, params)

    def unsubscribe(self, conn: Connection, stream: bytes | None = None) -> None:
        """Remove one stream name of ``conn`` (or all of them, on every channel)."""
        if stream is None:
            for key in list(self.chan_subs):
                self.unsubscribe_channel(conn, key)
        streams = self.subs.get(conn)
        if streams is None:
            return
        if stream is not None and stream in streams:
            streams.remove(stream)
        if stream is None or not streams:
            del self.subs[conn]

    def has(self, conn: Connection) -> bool:
        """True while ``conn`` carries any stream of this market (book or other channel)."""
        return conn in self.subs or any(conn in subs for subs in self.chan_subs.values())

    # -- the other channels: trades, BBO, tickers, candles ------------------------------

    def subscribe_channel(self, conn: Connection, key: str, stream: bytes = b"") -> None:
        """Add ``conn`` to channel ``key`` (the dialect's name: ``aggTrade``,
        ``kline_1m``, ``market_trades``, ``matches``, ...)."""
        self.chan_subs.setdefault(key, {}).setdefault(conn, []).append(stream)

    def unsubscribe_channel(self, conn: Connection, key: str, stream: bytes | None = None) -> None:
        """Remove one stream name of ``conn`` from channel ``key`` (or all of them)."""
        subs = self.chan_subs.get(key)
        if subs is None or conn not in subs:
            return
        streams = subs[conn]
        if stream is not None and stream in streams:
            streams.remove(stream)
        if stream is None or not streams:
            del subs[conn]
        if not subs:
            del self.chan_subs[key]

    def send_channels(self, payloads: list[tuple[str, bytes]]) -> None:
        """Run each ``(channel key, payload)`` through that channel's stream faults and
        hand the items to every connection subscribed to the channel."""
        for key, payload in payloads:
            faults = self._chan_faults.get(fault_channel(key))
            items = faults.apply(payload, self.host) if faults is not None else [(payload, NORMAL)]
            if faults is not None and faults.idle():
                del self._chan_faults[fault_channel(key)]
            if not items:
                continue
            for conn, streams in list(self.chan_subs.get(key, {}).items()):
                for stream in streams:
                    conn.deliver_channel(self, key, stream, items)

    def periodic(self, now_ns: int) -> None:
        """Push the periodic channels that are due (tickers, klines, candles): called by
        the simulator's channel clock (``CHANNEL_TICK``)."""
        if self.chan_subs:
            self.send_channels(self.wire.periodic(now_ns, self.chan_subs.keys()))

    def _tape(self, fills: tuple[Fill, ...]) -> None:
        """Feed new fills to the ticker window and the bars being built."""
        for f in fills:
            self.window.add(f)
            self.window_30d.add(f)
            for interval, bars in self._bars.items():
                start = f.t_ns - f.t_ns % interval
                last = bars[-1] if bars else None
                if last is not None and last.start_ns == start and last.n:
                    bars[-1] = last.add(f)
                elif last is not None and last.start_ns == start:
                    bars[-1] = new_bar(start, f)
                else:
                    bars.append(new_bar(start, f))

    def recent_fills(self, since_ns: int) -> list[Fill]:
        """Fills of the tape at or after ``since_ns``, oldest first."""
        out: list[Fill] = []
        for f in reversed(self.model.fills):
            if f.t_ns < since_ns:
                break
            out.append(f)
        out.reverse()
        return out

    def bar(self, interval_ns: int, start_ns: int) -> Bar:
        """The bar of the bucket starting at ``start_ns`` (an empty bar at the previous
        close when it holds no trade; tracked incrementally from the first call)."""
        bars = self._bars.get(interval_ns)
        if bars is None:
            bars = deque(candles(self.recent_fills(start_ns - interval_ns), interval_ns), maxlen=4)
            self._bars[interval_ns] = bars
        for b in reversed(bars):
            if b.start_ns == start_ns:
                return b
            if b.start_ns < start_ns:
                return empty_bar(start_ns, b.close)
        fills = self.model.fills
        close = fills[-1].price if fills else self.mid()
        return empty_bar(start_ns, close)

    def mid(self) -> int:
        """The best bid (the price an empty market's bars and tickers quote)."""
        return self.model.bid_px[-1]

    def bbo(self) -> tuple[int, int, int, int]:
        """``(bid price, bid size, ask price, ask size)`` of the book now."""
        model = self.model
        b, a = model.bid_px[-1], model.ask_px[0]
        return b, model.bids[b], a, model.asks[a]

    # -- snapshots ------------------------------------------------------------------------

    def _off_grid_bids(self, count: int) -> list[tuple[str, str]]:
        # half a tick above grid prices far below the book (half its lowest initial bid):
        # value (n * mantissa * 10 + 5) at one decimal more than the tick, which no
        # multiple of the tick can equal
        if count and not get_venue(self.venue).uses_rest_snapshots:
            raise ValueError(f"{self.venue} {self.symbol}: off_grid_bids needs REST snapshots")
        ps = self.model.price_scale
        base = max(count, self.model.bid_px[0] // 2)
        d = ps.decimals + 1
        width = max(self.fmt.pd, d)
        out = []
        for k in range(count):
            units = ((base - k) * ps.mantissa * 10 + 5) * 10 ** (width - d)
            digits = str(units).rjust(width + 1, "0")
            out.append((f"{digits[:-width]}.{digits[-width:]}", self.fmt.size(self.cfg.size_scale)))
        return out

    def rest_state(self) -> BookState:
        """The state a REST snapshot serves now (frozen in burst mode; stale if injected)."""
        if self._stale:
            return self.stale_state(self._stale.pop(0))
        if self.burst_snapshot is not None:
            return self.burst_snapshot
        return self.model.snapshot()

    def snapshot_delay(self) -> float | None:
        """Seconds to hold the next REST snapshot back (a ``slow_snapshot`` fault), or None."""
        if not self._slow:
            return None
        self.host.fired("slow_snapshot")
        return self._slow.pop(0)

    def stale_state(self, lag: int) -> BookState:
        """A past state older than the stream: ``lag + 1`` messages before the one that
        precedes the first message any subscriber saw (burst: the burst's first message;
        no subscriber yet: the next message).

        So ``lastUpdateId <= first U - 2 - lag``: at least ``lag + 1`` update ids are
        missing between the snapshot and the stream, which no client may bridge (Binance
        spot accepts ``U <= lastUpdateId + 1``; USD-M wants ``U <= lastUpdateId <= u``).
        Beyond the retained history, the oldest state (still older than the stream as
        long as the pre-history is: see :meth:`_prehistory`).
        """
        self.host.fired("stale_snapshot")
        if self.burst:
            first = self.burst[0].first_id
        else:
            firsts = [c.first_ids[self] for c in self.subs if self in c.first_ids]
            first = min(firsts) if firsts else self.model.last_id + 1
        try:
            state = self.model.book_at(first - 1)  # just before the stream
            for _ in range(lag + 1):
                state = self.model.book_at(state.last_id - 1)
        except LookupError:
            state = self.model.book_at(self.model.oldest_id)
        return state
