"""Fault names, their parameters, and where they act.

Every fault is injected with ``Simulator.inject(venue, symbol, fault, **params)`` (or
``POST /debug/fault``, or ``--fault`` on the command line, or ``SimConfig.faults``).
``symbol="*"`` means every symbol / every connection of the venue. Any fault accepts
``every=<seconds>`` to re-inject itself periodically (start-up faults and the CLI use it).

Stream faults act on the symbol's next market messages, for every connection carrying it;
the model itself always advances, so ground truth is what the venue "really" did. The
five that take ``channel`` (``drop``, ``duplicate``, ``reorder``, ``malformed``,
``truncated``) act on the book stream by default (``channel=""``) and on another channel
when it is named as the venue names it: ``trade``, ``aggTrade``, ``bookTicker``,
``ticker``, ``miniTicker``, ``kline`` (every interval) on Binance; ``market_trades``,
``ticker``, ``candles`` on Coinbase Advanced Trade; ``matches``, ``ticker`` on Coinbase
Exchange (``docs/simulator.md#faults-on-the-other-channels``).
"""

from __future__ import annotations

from typing import Any

#: name -> (where it acts, parameters with defaults, what it does)
FAULTS: dict[str, tuple[str, dict[str, Any], str]] = {
    "drop": ("stream", {"count": 1, "channel": ""},
             "the next `count` messages are not sent: Binance clients see an id gap (U > last u + 1, "
             "USD-M pu != last u); Coinbase AT: the envelope is skipped but its sequence_num is "
             "consumed (a jump); Coinbase Exchange: the update is silently lost"),
    "duplicate": ("stream", {"count": 1, "channel": ""}, "the next `count` messages are each sent twice"),
    "reorder": ("stream", {"count": 1, "channel": ""},
                "the next message is held and sent after the one that follows it (swap)"),
    "malformed": ("stream", {"count": 1, "replace": False, "channel": ""},
                  "a frame of invalid JSON is sent before the next message (replace=True: "
                  "instead of it, so that message is also lost)"),
    "truncated": ("stream", {"count": 1, "mode": "payload", "channel": ""},
                  "mode=payload: the next message is cut in half inside a valid frame "
                  "(invalid JSON, message lost); mode=socket: the frame header promises the "
                  "full payload, half of it is written and the TCP connection is closed"),
    "restart": ("stream", {"count": 1},
                "Bybit only: the next `count` messages each go out as a snapshot with u == 1 (the "
                "venue's service restart), u counting on from there; a client must take it as a "
                "fresh book, not a gap"),
    "chain_break": ("stream", {"count": 1},
                    "OKX only: the next `count` messages each carry a prevSeqId that is not the "
                    "last seqId (a broken chain): a client must resubscribe that instrument"),
    "seq_reset": ("stream", {"count": 1},
                  "OKX only: the next `count` messages' seqId jumps backwards (maintenance) with "
                  "prevSeqId still the last seqId: the chain holds, not a gap"),
    "keepalive": ("stream", {"count": 1},
                  "OKX only: `count` idle keep-alive updates go out at once (empty sides, seqId == "
                  "prevSeqId == the last seqId): valid, they apply nothing"),
    "oversized": ("stream", {"size": 2 * 1024 * 1024},
                  "the next message is padded to >= `size` bytes of valid JSON by deletes of "
                  "prices the book does not hold (semantically neutral)"),
    "corrupt_level": ("stream", {"count": 1, "side": "bid", "index": 20, "delta": 1},
                      "the next `count` messages each carry one wrong size, silently: the level "
                      "`index` places from the best on `side` (bid|ask) is sent as its true size + "
                      "`delta` lots (added to the message if it does not change that level); ids "
                      "stay contiguous and ground truth keeps the true size, so only a comparison "
                      "with a snapshot can tell (Simulator.corruptions says what was sent)"),
    "bad_checksum": ("stream", {"count": 1},
                     "Kraken only: the next `count` book updates carry a wrong checksum (the "
                     "levels are right), so the client's CRC32 check fails and it resyncs that symbol"),
    "push_out": ("stream", {"count": 1},
                 "Kraken only: the next `count` book updates (once the ask side holds the full "
                 "depth) also carry an ask just beyond the subscribed depth, which the client "
                 "must drop by truncating to the depth (no delete ever comes for it)"),
    "disconnect": ("connection", {"after_messages": 0, "after_seconds": 0.0},
                   "close the TCP connection WITHOUT a close frame after N more data messages "
                   "or S seconds (connections carrying the symbol; if none yet, the next one)"),
    "close": ("connection", {"after_messages": 0, "after_seconds": 0.0, "code": 1000,
                             "reason": "routine close"},
              "the routine (24 h) server close: a proper CLOSE frame, then the TCP close"),
    "stall": ("connection", {"seconds": 5.0, "drop": False, "frozen": False},
              "send no data for `seconds` (connection stays open, pings and pongs continue: "
              "a stalled feed behind a live socket); queued messages are then delivered "
              "(drop=True: discarded, i.e. a gap); frozen=True: pings and pongs stop too "
              "(a hung server or a black-holed network)"),
    "slow_snapshot": ("rest", {"delay": 2.0, "count": 1},
                      "the next `count` depth snapshots are captured on arrival and answered "
                      "`delay` seconds later"),
    "stale_snapshot": ("rest", {"count": 1, "lag": 0},
                       "the next `count` depth snapshots are older than the stream: lastUpdateId "
                       "<= first U - 2 - lag, i.e. lag + 1 or more update ids are missing "
                       "before the first event any connection carrying the symbol saw"),
    "http_429": ("rest", {"count": 1, "retry_after": 1},
                 "the next `count` REST requests get 429 with Retry-After"),
    "http_418": ("rest", {"count": 1, "retry_after": 5},
                 "the next `count` REST requests get 418 (IP banned) with Retry-After"),
    "http_500": ("rest", {"count": 1}, "the next `count` REST requests get 500"),
}

STREAM_FAULTS = frozenset(n for n, (k, _, _) in FAULTS.items() if k == "stream")
CONN_FAULTS = frozenset(n for n, (k, _, _) in FAULTS.items() if k == "connection")
REST_FAULTS = frozenset(n for n, (k, _, _) in FAULTS.items() if k == "rest")


def fault_params(fault: str, params: dict[str, Any]) -> dict[str, Any]:
    """Defaults merged with ``params``; raises ``ValueError`` on an unknown name/parameter."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; known: {', '.join(sorted(FAULTS))}")
    defaults = FAULTS[fault][1]
    unknown = set(params) - set(defaults) - {"every"}
    if unknown:
        raise ValueError(f"fault {fault!r}: unknown parameter(s) {sorted(unknown)}; "
                         f"known: {sorted(defaults)} and 'every'")
    merged = dict(defaults)
    for key, value in params.items():
        if key in defaults and defaults[key] is not None and not isinstance(value, type(defaults[key])):
            # CLI and JSON give strings/ints; coerce to the default's type.
            base = type(defaults[key])
            value = (str(value).lower() in ("1", "true", "yes")) if base is bool else base(value)
        merged[key] = value
    return merged


def describe() -> str:
    """Human-readable list of the faults (for ``--help``)."""
    lines = []
    for name, (where, params, text) in FAULTS.items():
        p = ",".join(f"{k}={v}" for k, v in params.items())
        lines.append(f"  {name} [{where}; {p}]: {text}")
    return "\n".join(lines)
