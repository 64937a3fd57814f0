"""An independent reader of what the fan-out publisher wrote (tests only): nats-py and
the rules of docs/wire.md written out plainly, to check the publisher and the consumer
against."""

from __future__ import annotations

import nats
import numpy as np
from nats.js.api import DeliverPolicy

from fastfeed.fanout import wire


async def read_book(url, venue, symbol):
    """The book as a consumer that reads everything rebuilds it: the last snapshot, then
    every delta after it in the stream (contiguous, same epoch). Returns (levels, state,
    epoch, seq, deltas applied, the venue's last update id)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        raw = await js.get_last_msg("FF_SNAP", wire.subject("ff", "snap", venue, symbol),
                                    direct=True)
        snap = wire.decode(raw.data)
        assert snap.book_id == wire.book_id(venue, symbol)
        bids = dict(zip(snap.bid_prices.tolist(), snap.bid_sizes.tolist(), strict=True))
        asks = dict(zip(snap.ask_prices.tolist(), snap.ask_sizes.tolist(), strict=True))
        epoch, seq, state = snap.epoch, snap.seq, snap.state_name
        update_id = snap.last_update_id
        subj = wire.subject("ff", "book", venue, symbol)
        info = await js.stream_info("FF_BOOK", subjects_filter=subj)
        pending = (info.state.subjects or {}).get(subj, 0)
        sub = await js.subscribe(subj, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        applied = 0
        for _ in range(pending):
            msg = wire.decode((await sub.next_msg(timeout=5)).data)
            assert msg.book_id == snap.book_id
            if msg.epoch != epoch or msg.seq <= seq:
                continue        # an older epoch, or held already
            assert msg.seq == seq + 1, "a hole in the deltas after the last snapshot"
            for side, px, sz in ((bids, msg.bid_prices, msg.bid_sizes),
                                 (asks, msg.ask_prices, msg.ask_sizes)):
                for p, s in zip(px.tolist(), sz.tolist(), strict=True):
                    if s:
                        side[p] = s
                    else:
                        side.pop(p, None)
            seq, state, update_id = msg.seq, msg.state_name, msg.last_update_id
            applied += 1
        await sub.unsubscribe()
        return ((sorted(bids.items(), reverse=True), sorted(asks.items())), state, epoch, seq,
                applied, update_id)
    finally:
        await nc.close()


async def read_trades(url, venue, symbol):
    """Every trade published for the stream, in order (seq contiguous, nothing lost)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        subj = wire.subject("ff", "trade", venue, symbol)
        info = await js.stream_info("FF_TRADE", subjects_filter=subj)
        pending = (info.state.subjects or {}).get(subj, 0)
        sub = await js.subscribe(subj, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        out, seq = [], 0
        for _ in range(pending):
            msg = wire.decode((await sub.next_msg(timeout=5)).data)
            assert msg.kind == wire.TRADES and msg.seq == seq + 1 and msg.lost == 0
            seq = msg.seq
            out.append(msg.trades)
        await sub.unsubscribe()
        return np.concatenate(out) if out else np.zeros(0, wire.TRADE_DTYPE)
    finally:
        await nc.close()
