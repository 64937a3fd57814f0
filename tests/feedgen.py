"""Message generators for the feed tests: a random book evolution rendered in each venue's
real wire format, with the true book kept after every update id."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field


def fmt(value: int, decimals: int, width: int = 8) -> str:
    """Integer units at ``decimals`` → decimal text with ``width`` fractional digits."""
    scaled = value * 10 ** (width - decimals)
    return f"{scaled // 10**width}.{scaled % 10**width:0{width}d}" if width else str(value)


@dataclass
class Market:
    """A random-walk L2 book with integer prices/sizes at fixed scales."""

    seed: int = 1
    price_decimals: int = 2
    size_decimals: int = 8
    depth: int = 40
    mid: int = 10_000_000
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    update_id: int = 1000

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        for i in range(1, self.depth + 1):
            self.bids[self.mid - i] = self.rng.randint(1, 10**9)
            self.asks[self.mid + i] = self.rng.randint(1, 10**9)

    def step(self, n_changes: int) -> list[tuple[str, int, int]]:
        """Random level changes (never crossing); returns [(side, price, size)]."""
        changes = []
        for _ in range(n_changes):
            side = self.rng.choice("ba")
            best_bid = max(self.bids) if self.bids else self.mid - 1
            best_ask = min(self.asks) if self.asks else self.mid + 1
            dist = int(self.rng.expovariate(0.2))
            if side == "b":
                price = min(best_ask - 1, best_bid + 2 - dist)
                book = self.bids
            else:
                price = max(best_bid + 1, best_ask - 2 + dist)
                book = self.asks
            size = 0 if self.rng.random() < 0.3 else self.rng.randint(1, 10**9)
            if size:
                book[price] = size
            else:
                book.pop(price, None)
            changes.append((side, price, size))
        return changes

    def truth(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids best first, asks best first) as int pairs."""
        return (sorted(self.bids.items(), reverse=True), sorted(self.asks.items()))

    def levels_json(self, changes: list[tuple[str, int, int]], side: str) -> list[list[str]]:
        return [[fmt(p, self.price_decimals), fmt(s, self.size_decimals)]
                for sd, p, s in changes if sd == side]


class BinanceStream:
    """Binance spot/USD-M depth events and REST snapshots over a ``Market``."""

    def __init__(self, market: Market, symbol: str = "BTCUSDT", usdm: bool = False,
                 combined: bool = False) -> None:
        self.m = market
        self.symbol = symbol
        self.usdm = usdm
        self.combined = combined
        self.history: dict[int, tuple[list, list]] = {market.update_id: market.truth()}
        self.prev_u = market.update_id

    def snapshot(self) -> bytes:
        """REST body for the current state."""
        bids, asks = self.m.truth()
        body: dict = {"lastUpdateId": self.m.update_id}
        if self.usdm:
            body.update(E=1700000000000, T=1700000000000)
        body["bids"] = [[fmt(p, self.m.price_decimals), fmt(s, self.m.size_decimals)]
                        for p, s in bids]
        body["asks"] = [[fmt(p, self.m.price_decimals), fmt(s, self.m.size_decimals)]
                        for p, s in asks]
        return json.dumps(body).encode()

    def event(self, n_changes: int = 5, ids: int = 3) -> tuple[bytes, int, int]:
        """Next depthUpdate covering ``ids`` update ids; returns (payload, U, u)."""
        changes = self.m.step(n_changes)
        first = self.m.update_id + 1
        self.m.update_id += ids
        last = self.m.update_id
        data: dict = {"e": "depthUpdate", "E": 1700000000123, "s": self.symbol,
                      "U": first, "u": last}
        if self.usdm:
            data.update(T=1700000000120, pu=self.prev_u)
        data["b"] = self.m.levels_json(changes, "b")
        data["a"] = self.m.levels_json(changes, "a")
        self.prev_u = last
        self.history[last] = self.m.truth()
        if self.combined:
            data = {"stream": f"{self.symbol.lower()}@depth@100ms", "data": data}
        return json.dumps(data, separators=(",", ":")).encode(), first, last


class CoinbaseStream:
    """Coinbase Advanced Trade ``l2_data`` envelopes over one or more ``Market``s."""

    def __init__(self, markets: dict[str, Market]) -> None:
        self.markets = markets
        self.seq = -1

    def _envelope(self, channel: str, events: list) -> bytes:
        self.seq += 1
        return json.dumps({"channel": channel, "client_id": "",
                           "timestamp": "2023-02-09T20:32:50.714964855Z",
                           "sequence_num": self.seq, "events": events}).encode()

    def _updates(self, market: Market, changes) -> list[dict]:
        return [{"side": "bid" if s == "b" else "offer",
                 "event_time": "2023-02-09T20:32:50.714964855Z",
                 "price_level": fmt(p, market.price_decimals, market.price_decimals),
                 "new_quantity": fmt(q, market.size_decimals, market.size_decimals)}
                for s, p, q in changes]

    def snapshot(self, product: str) -> bytes:
        m = self.markets[product]
        bids, asks = m.truth()
        changes = [("b", p, q) for p, q in bids] + [("a", p, q) for p, q in asks]
        return self._envelope("l2_data", [{"type": "snapshot", "product_id": product,
                                           "updates": self._updates(m, changes)}])

    def update(self, products: list[str], n_changes: int = 5) -> bytes:
        events = [{"type": "update", "product_id": p,
                   "updates": self._updates(self.markets[p], self.markets[p].step(n_changes))}
                  for p in products]
        return self._envelope("l2_data", events)

    def heartbeat(self) -> bytes:
        return self._envelope("heartbeats", [{"current_time": "2023-02-09 20:32:50 +0000 UTC",
                                              "heartbeat_counter": self.seq + 1}])
