"""Slow and surplus connections are cut by bounds, and a broken request line is not echoed.

The gateway is served the way `lgsp gateway` serves it (gateway/connections.py:
its own protocol and site), on a free port, with small bounds so that the test
is quick; the clients are raw sockets that trickle, idle or send garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from adapters.registry import Registry
from gateway.app import create_app
from gateway.connections import GuardedSite, start_serving
from schemas.config import GatewaySettings
from tests.support.stack import Stack

KEEPALIVE = 1.0
BODY_TIMEOUT = 1.0
PER_ADDRESS = 4
TOTAL = 6
SLACK = 2.0  # a loaded 2-core machine


@contextlib.asynccontextmanager
async def served(stack: Stack) -> AsyncIterator[GuardedSite]:
    gateway = GatewaySettings(
        **{
            **stack.settings.gateway.model_dump(),
            "port": 0,
            "keepalive_timeout": KEEPALIVE,
            "body_timeout": BODY_TIMEOUT,
            "max_connections": TOTAL,
            "max_connections_per_address": PER_ADDRESS,
        }
    )
    settings = stack.settings.model_copy(update={"gateway": gateway})
    app = create_app(settings, Registry.discover())
    runner, site = await start_serving(app, gateway)
    try:
        yield site
    finally:
        await runner.cleanup()


async def _connect(
    site: GuardedSite, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", site.bound_port, local_addr=(source, 0))


async def _closed_after(reader: asyncio.StreamReader, within: float) -> tuple[float, bytes]:
    """Seconds until the server closed the connection, and what it sent before."""
    started = time.perf_counter()
    async with asyncio.timeout(within):
        data = await reader.read()  # until EOF
    return time.perf_counter() - started, data


def _status_and_body(data: bytes) -> tuple[int, dict[str, Any], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, orjson.loads(body) if body else {}, head


async def _trickle(writer: asyncio.StreamWriter, data: bytes, every: float) -> None:
    with contextlib.suppress(ConnectionError):
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(every)


async def test_trickled_headers_and_bodies_are_cut_after_their_bound(stack: Stack) -> None:
    async with served(stack) as site:
        # Headers one byte every 0.1 s: never complete within the keep-alive bound.
        reader, writer = await _connect(site)
        head = b"POST /token HTTP/1.1\r\nHost: gw\r\n" + b"X-Slow: " + b"a" * 200
        trickle = asyncio.create_task(_trickle(writer, head, 0.1))
        header_s, sent = await _closed_after(reader, KEEPALIVE + SLACK)
        trickle.cancel()
        writer.close()
        assert sent == b""  # closed, nothing answered: no request was ever complete
        assert header_s <= KEEPALIVE + SLACK

        # Headers at once, then a body one byte every 0.1 s: 408 and closed.
        reader, writer = await _connect(site)
        writer.write(
            b"POST /token HTTP/1.1\r\nHost: gw\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 300\r\n\r\n"
        )
        trickle = asyncio.create_task(_trickle(writer, b"g" * 300, 0.1))
        body_s, answer = await _closed_after(reader, BODY_TIMEOUT + SLACK + 1.0)
        trickle.cancel()
        writer.close()
        status, problem, _ = _status_and_body(answer)
        assert status == 408
        assert problem["type"].endswith("/request-timeout")
        assert body_s <= BODY_TIMEOUT + SLACK + 1.0  # + what aiohttp lingers for the rest

        # An idle keep-alive connection after a complete request is closed too.
        reader, writer = await _connect(site)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        idle_s, answer = await _closed_after(reader, KEEPALIVE + SLACK)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200")
        assert idle_s <= KEEPALIVE + SLACK
    print(
        f"LEDGER slow-connections: calls=3 slow_headers_closed_s={header_s:.2f} "
        f"slow_body_closed_s={body_s:.2f} status={status} idle_closed_s={idle_s:.2f} "
        f"bounds_s=keepalive:{KEEPALIVE},body:{BODY_TIMEOUT} hung=0"
    )


async def test_connections_beyond_the_caps_are_refused_with_503(stack: Stack) -> None:
    async with served(stack) as site:
        held = [await _connect(site) for _ in range(PER_ADDRESS)]
        # One more from the same address: a problem document, then the close.
        reader, writer = await _connect(site)
        _, refused_address = await _closed_after(reader, 5)
        writer.close()
        # Another address may still connect, until the total cap.
        held += [await _connect(site, "127.0.0.2") for _ in range(TOTAL - PER_ADDRESS)]
        reader, writer = await _connect(site, "127.0.0.2")
        _, refused_total = await _closed_after(reader, 5)
        writer.close()
        for data in (refused_address, refused_total):
            status, problem, head = _status_and_body(data)
            assert status == 503
            assert b"application/problem+json" in head
            assert b"Retry-After: 1" in head
            assert problem["title"] == "Too many connections"
        # Held connections still work; once closed, room for new ones.
        reader, writer = held[0]
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        line = await asyncio.wait_for(reader.readline(), 5)
        assert line.startswith(b"HTTP/1.1 200")
        for _, w in held:
            w.close()
        await asyncio.sleep(0)  # let the server see the closes
        open_now = -1
        async with asyncio.timeout(5):
            while open_now != 0:
                open_now = site.guard.open
                await asyncio.sleep(0.02)
        reader, writer = await _connect(site)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        _, metrics = await _closed_after(reader, 5)
        writer.close()
    assert b"200 OK" in metrics.split(b"\r\n", 1)[0]
    assert b'lgsp_gateway_connections_refused_total{limit="address"} 1.0' in metrics
    assert b'lgsp_gateway_connections_refused_total{limit="total"} 1.0' in metrics
    print(
        f"LEDGER connection-caps: opened={TOTAL + 2} held={TOTAL} refused_503=2 "
        f"caps=total:{TOTAL},per_address:{PER_ADDRESS} served_after_release=1"
    )


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET /v1/\x00<b>031199012345</b> HTTP/1.1\r\nHost: gw\r\n\r\n",  # control byte in path
        b"G\xc3\x89T / HTTP/1.1\r\nHost: gw\r\n\r\n",  # not a method
        b"POST /token HTTP/1.1\r\nHost: gw\r\nX-Canary 031199012345\r\n\r\n",  # no colon
        b"GET /" + b"031199012345" * 800 + b" HTTP/1.1\r\n\r\n",  # request line too long
    ],
)
async def test_requests_aiohttp_cannot_parse_get_a_problem_document_without_echo(
    stack: Stack, garbage: bytes
) -> None:
    async with served(stack) as site:
        reader, writer = await _connect(site)
        writer.write(garbage)
        _, answer = await _closed_after(reader, 5)
        writer.close()
    status, problem, head = _status_and_body(answer)
    assert status == 400, answer[:200]
    assert b"application/problem+json" in head
    assert problem["type"].endswith("/malformed-body")
    for echo in (b"031199012345", b"<b>", b"X-Canary", b"\xc3\x89"):
        assert echo not in answer, echo
