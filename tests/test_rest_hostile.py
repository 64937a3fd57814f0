"""RestClient against a misbehaving local aiohttp server: huge and endless bodies,
absurd Retry-After, redirects to other hosts and to plain http (issue 17)."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from yarl import URL

from e2e import run
from fastfeed import Engine, SubscribeError
from fastfeed.rest import RestClient, RestError, RetryPolicy, WeightBudget, redirect_refusal


async def serve(routes):
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, port


def client(port, **kw):
    retry = kw.pop("retry", RetryPolicy(attempts=2, base_delay=0.01, timeout=5))
    return RestClient(f"http://127.0.0.1:{port}", WeightBudget(6000), retry, **kw)


def test_body_over_the_limit_is_refused():
    async def big(request):
        return web.Response(body=b"x" * (2 << 20))

    async def endless(request):
        resp = web.StreamResponse()     # chunked, no Content-Length
        await resp.prepare(request)
        while True:
            await resp.write(b"y" * 65536)

    async def body():
        runner, port = await serve({"/big": big, "/endless": endless})
        rest = client(port, max_body_bytes=1 << 20)
        try:
            with pytest.raises(RestError, match="exceeds max_body_bytes"):
                await rest.get("/big")
            start = time.monotonic()
            with pytest.raises(RestError, match="exceeds max_body_bytes"):
                await rest.get("/endless")
            assert time.monotonic() - start < 2    # stopped at the limit, not the timeout
            assert client(port).max_body_bytes == 16 << 20  # the generous default
        finally:
            await rest.close()
            await runner.cleanup()
    run(body, timeout=20)


@pytest.mark.parametrize("retry_after", ["inf", "1e300"])
def test_retry_after_is_clamped_and_reported(retry_after):
    calls = []

    async def throttled(request):
        calls.append(1)
        if len(calls) == 1:
            return web.Response(status=429, headers={"Retry-After": retry_after})
        return web.Response(body=b"ok")

    async def body():
        runner, port = await serve({"/x": throttled})
        seen = []
        rest = client(port, max_retry_after=0.2, on_throttle=seen.append)
        try:
            assert await asyncio.wait_for(rest.get("/x"), 3) == b"ok"
            assert len(seen) == 1 and f"Retry-After '{retry_after}'" in seen[0], seen
            assert "pausing all requests for 0.2s" in seen[0]
            assert client(port).max_retry_after == 120.0
        finally:
            await rest.close()
            await runner.cleanup()
    run(body, timeout=20)


def test_redirect_to_another_host_is_refused_unless_allowed():
    async def hop(request):
        raise web.HTTPFound(f"http://localhost:{request.url.port}/target")

    async def same(request):
        raise web.HTTPFound("/target")

    async def target(request):
        return web.Response(body=b"moved")

    async def body():
        runner, port = await serve({"/hop": hop, "/same": same, "/target": target})
        rest, trusting = client(port), client(port, redirect_hosts=["localhost"])
        try:
            with pytest.raises(RestError, match="another host"):
                await rest.get("/hop")
            assert await rest.get("/same") == b"moved"
            assert await trusting.get("/hop") == b"moved"
        finally:
            await rest.close()
            await trusting.close()
            await runner.cleanup()
    run(body, timeout=20)


def test_https_to_http_redirect_is_refused():
    src = URL("https://api.example.com/a")
    assert "https to http" in redirect_refusal(src, URL("http://api.example.com/b"))
    assert "https to http" in redirect_refusal(src, URL("http://api.example.com/b"),
                                               ["api.example.com"])
    assert redirect_refusal(src, URL("https://api.example.com/b")) is None
    assert redirect_refusal(URL("http://h/a"), URL("https://h/b")) is None


@pytest.mark.parametrize("tick", ["abc", "0", 0.01, None])
def test_bad_exchange_info_is_a_subscribe_error_naming_venue_symbol_url(tick):
    async def info(request):
        return web.json_response({"symbols": [{"symbol": "BTCUSDT", "filters": [
            {"filterType": "PRICE_FILTER", "tickSize": tick},
            {"filterType": "LOT_SIZE", "stepSize": "0.001"}]}]})

    async def body():
        runner, port = await serve({"/api/v3/exchangeInfo": info})
        try:
            async with Engine() as engine:
                rest_url = f"http://user:secret@127.0.0.1:{port}"
                with pytest.raises(SubscribeError) as err:
                    await engine.subscribe("binance", "BTCUSDT", rest_url=rest_url,
                                           ws_url="ws://127.0.0.1:9", timeout=5)
                text = str(err.value)
                assert "binance:BTCUSDT" in text and f"127.0.0.1:{port}" in text, text
                assert "tick/step" in text and "secret" not in text, text
                with pytest.raises(SubscribeError, match="unusable"):  # not cached
                    await engine.subscribe("binance", "BTCUSDT", rest_url=rest_url,
                                           ws_url="ws://127.0.0.1:9", timeout=5)
                with pytest.raises(SubscribeError, match="binance:ETHUSDT"):   # given
                    await engine.subscribe("binance", "ETHUSDT", tick_size="x",
                                           step_size="0.1", ws_url="ws://127.0.0.1:9")
                assert engine.books == []
        finally:
            await runner.cleanup()
    run(body, timeout=20)
