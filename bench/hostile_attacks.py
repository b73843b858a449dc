"""One hostile client, run as its own process by bench/hostile.py so that the flood does
not share an interpreter (or a GIL) with the client whose latency is measured.

``python -m bench.hostile_attacks KIND '{"url": ..., ...}'`` prints one JSON line: what the
gateway answered the attacker (counts by status or close code, seconds).
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections import Counter
from typing import Any

import aiohttp

ME = {"query": "{ me { subject } }"}


async def burst(url: str, token: str, requests: int, concurrency: int) -> dict[str, Any]:
    """``requests`` POSTs over ``concurrency`` keep-alive connections, as fast as answered."""
    statuses: Counter[str] = Counter()
    retry_after: Counter[str] = Counter()
    left = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(session: aiohttp.ClientSession) -> None:
        for _ in left:
            try:
                async with session.post(f"{url}/graphql", json=ME) as response:
                    await response.read()
                    statuses[str(response.status)] += 1
                    if response.status == 429:
                        retry_after["with" if "Retry-After" in response.headers else "without"] += 1
            except aiohttp.ClientError as exc:
                statuses[type(exc).__name__] += 1

    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as s:
        await asyncio.gather(*(worker(s) for _ in range(concurrency)))
    return {
        "statuses": dict(statuses),
        "retry_after": dict(retry_after),
        "seconds": time.perf_counter() - started,
    }


async def subscribes(url: str, token: str, count: int, within: float) -> dict[str, Any]:
    """One graphql-transport-ws socket that sends ``count`` subscribe messages (for at most
    ``within`` seconds: a server that paces the socket's reads makes each send wait)."""
    replies: Counter[str] = Counter()
    ws_url = url.replace("http://", "ws://") + "/graphql"
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_url, protocols=["graphql-transport-ws"]) as ws,
    ):
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send_json(init)
        await ws.receive_json(timeout=10)
        query = {"query": "subscription { usageEvents { id } }"}
        sent = 0
        for i in range(count):
            if ws.closed or time.perf_counter() - started > within:
                break
            try:
                await asyncio.wait_for(
                    ws.send_json({"id": str(i), "type": "subscribe", "payload": query}),
                    max(0.01, within - (time.perf_counter() - started)),
                )
            except TimeoutError:
                break
            sent += 1
        close = None  # the server's close code, if it closed the socket
        while True:
            try:
                message = await ws.receive(timeout=5)
            except TimeoutError:
                break  # quiet: every answer has been read
            if message.type != aiohttp.WSMsgType.TEXT:
                close = ws.close_code if message.type == aiohttp.WSMsgType.CLOSE else None
                break
            body = json.loads(message.data)
            code = (body.get("payload") or [{}])[0].get("extensions", {}).get("code", "")
            replies[f"{body['type']} {code}".strip()] += 1
    return {
        "sent": sent,
        "replies": dict(replies),
        "close_code": close,
        "seconds": time.perf_counter() - started,
    }


async def idle_websockets(url: str, count: int, within: float, rate: float) -> dict[str, Any]:
    """``count`` websockets opened (``rate`` a second) and never initialised; how (and
    when) each was closed."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    codes: Counter[str] = Counter()
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> float:
            try:
                async with session.ws_connect(ws_url, protocols=["graphql-transport-ws"]) as ws:
                    await ws.receive(timeout=within)
                    codes[str(ws.close_code)] += 1
            except aiohttp.WSServerHandshakeError as exc:  # refused before the upgrade
                codes[str(exc.status)] += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                codes[type(exc).__name__] += 1
            return time.perf_counter() - started

        opened = []
        for _ in range(count):
            opened.append(asyncio.create_task(one()))
            await asyncio.sleep(1 / rate)
        ends = await asyncio.gather(*opened)
    return {"close_codes": dict(codes), "seconds": max(ends, default=0.0)}


async def slow_clients(port: int, count: int, kind: str, within: float) -> dict[str, Any]:
    """``count`` connections trickling one byte a second: the head (slowloris) or a body."""
    head = b"GET /graphql HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000
    body_head = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4000\r\n\r\n"
    )
    answers: Counter[str] = Counter()
    started = time.perf_counter()

    async def one() -> float:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if kind == "body":
            writer.write(body_head)
        trickle = head if kind == "head" else b" " * 4000
        said = b""
        try:
            for byte in trickle:
                if time.perf_counter() - started > within:
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    said = await asyncio.wait_for(reader.read(64), 1.0)
                except TimeoutError:
                    continue
                break  # answered (or closed: b"")
        except OSError:
            pass
        finally:
            writer.close()
        answers[said.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"] += 1
        return time.perf_counter() - started

    ends = await asyncio.gather(*(one() for _ in range(count)))
    return {"answers": dict(answers), "seconds": max(ends, default=0.0)}


def main(argv: list[str]) -> int:
    kind, args = argv[0], json.loads(argv[1])
    attacks = {
        "burst": burst,
        "subscribes": subscribes,
        "idle_websockets": idle_websockets,
        "slow_clients": slow_clients,
    }
    socket.setdefaulttimeout(60)
    result = asyncio.run(attacks[kind](**args))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
