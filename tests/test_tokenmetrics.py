"""Token Metrics against the local simulator over real sockets: the price stream (exact
against the simulator's ground truth, the key only in the handshake header, refused keys),
and the REST trading signals."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from decimal import Decimal

import pytest

from fastfeed.engine import Engine, SubscribeError
from fastfeed.rest import RetryPolicy
from fastfeed.sim.tokenmetrics import BAD_KEY_REASON, TokenMetricsSim
from fastfeed.tokenmetrics import ApiError, ApiKeyRefused, PriceStream, TokenMetrics

KEY = "tm-SECRET-key-0123456789"


def _no_key_anywhere(caplog: pytest.LogCaptureFixture, *texts: object) -> None:
    for rec in caplog.records:
        assert KEY not in rec.getMessage()
    for t in texts:
        assert KEY not in str(t) and KEY not in repr(t)


def test_prices_exact_against_truth(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with TokenMetricsSim(api_key=KEY) as sim:
            async with Engine() as engine:
                stream = await engine.subscribe_prices("tokenmetrics", ["bitcoin", "shiba-inu", "tether"],
                                                       api_key=KEY, ws_url=sim.ws_url, capacity=64)
                await stream.wait_live(timeout=10)
                while stream.counters["messages"] < 90:
                    await asyncio.sleep(0.01)
                got = stream.updates()
                latest = stream.prices()
            # the engine closed the stream
            assert stream.state == "closed"
        assert len(got) == 64
        truth = {(t, ex, ep): (m, d) for t, ex, ep, m, d in sim.sent}
        for u in got:
            m, d = truth[(u.token, u.exchange, u.epoch_ms)]
            assert u.price_mantissa * 10**d == m * 10**u.price_decimals
            assert u.price == Decimal(m).scaleb(-d)
        assert {u.token for u in latest.values()} == {"bitcoin", "shiba-inu", "tether"}
        assert stream.counters["rejects"] == 0 and stream.counters["connects"] == 1
        # the key travelled only as the x-api-key handshake header
        assert [h.get("x-api-key") for h in sim.headers_seen] == [KEY]
        assert all(KEY not in v for h in sim.headers_seen for k, v in h.items() if k != "x-api-key")
        _no_key_anywhere(caplog, stream, stream.stats())

    asyncio.run(main())


def test_wrong_key_is_refused_once_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with TokenMetricsSim(api_key="the-right-one") as sim:
            stream = PriceStream(["bitcoin"], api_key=KEY, url=sim.ws_url, backoff=(0.01, 0.05))
            with pytest.raises(ApiKeyRefused, match="refused the API key") as info:
                await stream.wait_live(timeout=10)
            assert "1008" in str(info.value) and BAD_KEY_REASON in str(info.value)
            await asyncio.sleep(0.2)           # no reconnect after a definite refusal
            assert sim.counters["ws_refused"] == 1 and sim.counters["ws_connects"] == 0
            assert stream.state == "refused" and stream.counters["connects"] == 1
            await stream.close()
            assert stream.state == "refused"
            _no_key_anywhere(caplog, info.value, stream, stream.stats())

    asyncio.run(main())


def test_bad_key_fault_mid_stream_stops_the_stream(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with TokenMetricsSim(api_key=KEY) as sim:
            stream = PriceStream(["ethereum"], api_key=KEY, url=sim.ws_url, backoff=(0.01, 0.05))
            await stream.wait_live(timeout=10)
            await sim.inject("bad_key")
            for _ in range(500):
                if stream.state == "refused":
                    break
                await asyncio.sleep(0.01)
            assert isinstance(stream.error, ApiKeyRefused)
            with pytest.raises(ApiKeyRefused):
                await stream.wait_live(timeout=1)
            await asyncio.sleep(0.2)
            assert sim.counters["ws_connects"] == 1 and sim.counters["ws_refused"] == 0
            assert stream.price("ethereum") is not None      # what arrived stays readable
            await stream.close()
            _no_key_anywhere(caplog, stream.error, stream.stats())

    asyncio.run(main())


def test_silent_closes_are_bounded_then_reported() -> None:
    """A server that closes without a code or a price, every time: ``refused_after``
    connections, then a refusal, not a reconnect storm."""
    from aiohttp import web

    async def main() -> None:
        attempts = 0

        async def handler(request: web.Request) -> web.WebSocketResponse:
            nonlocal attempts
            attempts += 1
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.close()
            return ws

        app = web.Application()
        app.router.add_get("/", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            stream = PriceStream(["bitcoin"], api_key=KEY, url=f"ws://127.0.0.1:{port}/",
                                 refused_after=3, backoff=(0.01, 0.02))
            with pytest.raises(ApiKeyRefused, match="3 connections in a row closed before any price"):
                await stream.wait_live(timeout=10)
            await asyncio.sleep(0.1)
            assert attempts == 3 and stream.counters["early_closes"] == 3
            await stream.close()
        finally:
            await runner.cleanup()

    asyncio.run(main())


def test_malformed_message_and_callback_error_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def callback(u: object) -> None:
        seen.append("x")
        if len(seen) == 2:
            raise RuntimeError("user bug " + KEY)

    async def main() -> None:
        async with TokenMetricsSim(api_key=KEY) as sim:
            stream = PriceStream(["bitcoin"], api_key=KEY, url=sim.ws_url, callback=callback)
            await stream.wait_live(timeout=10)
            await sim.inject("malformed")
            while stream.counters["rejects"] == 0 or stream.counters["messages"] < 5:
                await asyncio.sleep(0.01)
            assert stream.state == "live" and stream.counters["connects"] == 1
            assert stream.counters["rejects"] == 1 and stream.counters["callback_errors"] == 1
            assert "price: expected a JSON number" in (stream.last_error or "")
            await stream.close()
            assert len(seen) >= 5
            _no_key_anywhere(caplog, stream.stats())
        assert any("price: expected a JSON number" in r.getMessage() for r in caplog.records)
        assert any("user bug ***" in r.getMessage() for r in caplog.records)

    asyncio.run(main())


def test_subscribe_prices_other_venue_is_an_error() -> None:
    async def main() -> None:
        async with Engine() as engine:
            with pytest.raises(SubscribeError, match="only 'tokenmetrics'"):
                await engine.subscribe_prices("binance", ["bitcoin"], api_key=KEY)

    asyncio.run(main())


def test_rest_signals_typed_and_exact(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with TokenMetricsSim(api_key=KEY) as sim:
            async with TokenMetrics(api_key=KEY, rest_url=sim.rest_url) as tm:
                rows = await tm.trading_signals(symbol="BTC", start_date=dt.date(2025, 6, 1),
                                                end_date="2025-06-03", limit=10)
                assert [r.date for r in rows] == [f"2025-06-0{d}T00:00:00.000Z" for d in (1, 2, 3)]
                r = rows[0]
                assert (r.token_id, r.token_symbol, r.slug) == (3375, "BTC", "bitcoin")
                assert r.trading_signal in (-1, 0, 1) and r.fundamental_grade is None
                # exact from the JSON text, not the binary float's expansion
                assert r.holding_returns == Decimal(repr(12.3456789012345678))
                assert r.tm_grade == Decimal("71.83")
                hourly = await tm.hourly_trading_signals(symbol="ETH", start_date="2025-06-01",
                                                         end_date="2025-06-01", limit=100)
                assert len(hourly) == 24 and hourly[5].date == "2025-06-01T05:00:00.000Z"
                assert tm.rest.requests == 2
                await sim.inject("signals_error", message="Invalid symbol")
                with pytest.raises(ApiError, match="success false: 'Invalid symbol'"):
                    await tm.trading_signals(symbol="BTC")
                with pytest.raises(ValueError, match=r"limit must be 1\.\.100"):
                    await tm.trading_signals(limit=101)
                with pytest.raises(ValueError, match="YYYY-MM-DD"):
                    await tm.trading_signals(start_date="June 1")
            assert {h.get("x-api-key") for h in sim.headers_seen} == {KEY}
            async with TokenMetrics(api_key="wrong-" + KEY, rest_url=sim.rest_url,
                                    retry=RetryPolicy(attempts=1)) as bad:
                with pytest.raises(ApiKeyRefused, match="refused the API key") as info:
                    await bad.trading_signals(symbol="BTC")
                assert KEY not in str(info.value)
            _no_key_anywhere(caplog)

    asyncio.run(main())
