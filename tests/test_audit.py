"""REST audit of live books (fastfeed.audit, docs/states.md "Audit"): a shadow rebuilt from
a fresh snapshot plus the tapped stream is compared exactly with the live book over the
snapshot's price range; a difference is counted and healed. Real loopback sockets against
the simulator for the engine cases."""

from __future__ import annotations

import asyncio

from e2e import assert_exact, run, settle, sim_config, wait_for
from fastfeed import Engine
from fastfeed._book import BID
from fastfeed.audit import compare, healed, price_range
from fastfeed.sim import Simulator


def urls(sim, venue="binance"):
    return {"ws_url": sim.ws_url(venue), "rest_url": sim.rest_url(venue)}


# ---------------------------------------------------------------- the comparison itself

def test_price_range_is_the_snapshots_lowest_bid_and_highest_ask():
    body = b'{"lastUpdateId":5,"bids":[["10.02","1"],["9.98","2"]],"asks":[["10.05","1"]]}'
    assert price_range(body, 2) == (998, 1005)
    assert price_range(b'{"lastUpdateId":5,"bids":[],"asks":[]}', 2) == (None, None)


def test_compare_judges_only_levels_inside_the_snapshot_range():
    live = ([(100, 5), (99, 1), (50, 7)], [(101, 2), (150, 9)])
    same = ([(100, 5), (99, 1)], [(101, 2)])
    assert compare(live, same, 99, 101) == (3, 0, "")
    wrong = ([(100, 4), (99, 1)], [(101, 2), (102, 3)])
    compared, differences, first = compare(live, wrong, 99, 102)
    assert (compared, differences) == (4, 2)
    assert first == "bid 100: live 5, snapshot 4"


def test_compare_skips_a_side_the_snapshot_does_not_hold():
    assert compare(([(100, 5)], [(101, 1)]), ([], [(101, 1)]), None, 101) == (1, 0, "")


def test_healing_takes_the_shadow_inside_the_range_and_keeps_deeper_live_levels():
    assert healed([(100, 5), (99, 1), (50, 7)], [(100, 4), (98, 3)], 98, None) == \
        [(50, 7), (100, 4), (98, 3)]
    assert healed([(101, 2), (150, 9)], [(101, 3)], None, 120) == [(150, 9), (101, 3)]


# ---------------------------------------------------------------- against the simulator

def test_a_silently_corrupted_level_is_found_and_healed_while_other_books_stay_untouched():
    async def body():
        async with Simulator(sim_config({"binance": ["BTCUSDT", "ETHUSDT"]}, rate=40,
                                        depth=60)) as sim:
            async with Engine(audit_every=3600) as engine:   # audits driven by hand here
                bad, good = await engine.subscribe_many(
                    [("binance", "BTCUSDT"), ("binance", "ETHUSDT")], **urls(sim))
                await wait_for(lambda: bad.messages > 5 and good.messages > 5,
                               what="traffic")
                # a wrong size under a correct id: nothing in the sequence can reveal it.
                # A deep level (three quarters down): the simulator's changes crowd the top,
                # and a live change to this level before the audit's snapshot would heal it
                bids = bad.book.bids_int()
                price, size = (int(v) for v in bids[len(bids) * 3 // 4])
                bad.book.apply(BID, price, size + bad.size_step)
                assert engine.auditor is not None
                result = await engine.auditor.audit(bad)
                assert result.outcome == "diverged", result
                assert result.differences == 1 and str(price) in result.detail
                assert bad.audit_divergences == 1 and bad.state == "live"
                again = await engine.auditor.audit(bad)
                assert again.outcome == "ok" and again.levels_compared > 10, again
                other = await engine.auditor.audit(good)
                assert other.outcome == "ok", other
                assert good.audit_divergences == 0
                await settle(sim, [bad, good])
                assert_exact(sim, bad)
                assert_exact(sim, good)
                stats = engine.stats()["audit"]
                assert stats["diverged"] == 1 and stats["ok"] == 2, stats
    run(body, timeout=60)


def test_the_audit_loop_checks_books_in_turn_and_stays_out_of_a_busy_budget():
    symbols = ["BTCUSDT", "ETHUSDT", "BNBUSDT"]

    async def body():
        async with Simulator(sim_config({"binance": symbols}, rate=20, depth=40)) as sim:
            async with Engine(audit_every=0.1) as engine:
                books = await engine.subscribe_many([("binance", s) for s in symbols],
                                                    **urls(sim))
                await wait_for(lambda: all(b.audits >= 2 for b in books), timeout=30,
                               what="every book audited twice")
                assert all(b.audit_divergences == 0 for b in books)
                assert all(b.last_audit is not None and b.last_audit.outcome == "ok"
                           for b in books), [b.last_audit for b in books]
                # an exhausted budget: audits wait for it instead of competing with syncs
                budget = books[0].connection.rest.budget
                budget.tokens = 0.0
                budget.rate = 1e-6
                skipped = engine.stats()["audit"].get("skipped_busy", 0)
                await asyncio.sleep(0.5)
                assert engine.stats()["audit"]["skipped_busy"] > skipped
    run(body, timeout=60)


def test_the_audit_loop_finds_and_heals_a_level_the_simulator_corrupted():
    """The simulator sends one wrong size under contiguous ids (the corrupt_level fault);
    only a comparison with a snapshot can tell. The audit loop finds it on that book,
    heals it, and leaves the other books untouched."""
    symbols = ["BTCUSDT", "ETHUSDT", "BNBUSDT"]

    async def body():
        async with Simulator(sim_config({"binance": symbols}, rate=20, depth=60)) as sim:
            async with Engine(audit_every=0.1) as engine:
                books = await engine.subscribe_many([("binance", s) for s in symbols],
                                                    **urls(sim))
                await wait_for(lambda: all(b.messages > 3 for b in books), what="traffic")
                sim.pause()     # the wrong size then stays in the book until the audit
                sim.inject("binance", "BTCUSDT", "corrupt_level", side="ask", index=5)
                sim.step("binance", "BTCUSDT", 1)
                await wait_for(lambda: bool(sim.corruptions), what="the corruption sent")
                bad = books[0]
                await wait_for(lambda: bad.audit_divergences >= 1, timeout=20,
                               what="the audit finding it")
                assert bad.state == "live" and bad.last_audit is not None
                assert bad.last_audit.differences == 1, bad.last_audit
                assert all(b.audit_divergences == 0 for b in books[1:])
                await settle(sim, books)
                for book in books:
                    assert_exact(sim, book)
                assert not any(sum(t.values()) for t in sim.limit_trips().values())
    run(body, timeout=60)
