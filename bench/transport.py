"""Issue 11: what one backend call costs the gateway's CPU, by HTTP transport.

The client runs in this process against a Lago-shaped page served by another process, with
16 calls in flight; CPU is this process's, per call. ``httpx`` is httpx's own transport,
``aiohttp`` the one the gateway uses (:mod:`gateway.backends.transport`).
"""

from __future__ import annotations

import asyncio
import time

from bench.context import Context
from bench.registry import Section, benchmark

CALLS = 4000
IN_FLIGHT = 16


async def _measure(url: str, transport: object | None) -> tuple[float, float]:
    from gateway.backends.lago.client import LagoClient

    client = LagoClient(base_url=url, api_key="bench", transport=transport)  # type: ignore[arg-type]
    try:
        for _ in range(100):
            await client.plans_page(offset=0, limit=1)
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def one() -> None:
            async with slots:
                await client.plans_page(offset=0, limit=1)

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one() for _ in range(CALLS)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await client.aclose()
    return cpu / CALLS * 1e3, CALLS / wall


@benchmark("transport", "Backend calls: client CPU per call, httpx's transport vs aiohttp's")
def transport(ctx: Context) -> Section:
    import httpx

    from gateway.backends.transport import FastTransport

    url = ctx.app("lago-page").url
    rows = {}
    for name, make in (
        ("httpx (AsyncHTTPTransport)", lambda: httpx.AsyncHTTPTransport()),
        ("aiohttp (FastTransport, in use)", lambda: FastTransport()),
    ):
        best = min(
            (asyncio.run(_measure(url, make())) for _ in range(ctx.options.rounds)),
            key=lambda r: r[0],
        )
        rows[name] = best
        print(f"{name}: {best[0]:.3f} ms CPU/call, {best[1]:.0f} calls/s", flush=True)
    lines = [
        f"{CALLS} calls of one Lago page (`LagoClient.plans_page`: request, retries and "
        f"breaker bookkeeping, metrics, msgspec decoding), {IN_FLIGHT} in flight, against a "
        "server in another process; CPU of the calling process per call, best of the rounds.",
        "",
        "| transport | client CPU per call | calls/s |",
        "|---|---:|---:|",
        *(f"| {name} | {cpu:.3f} ms | {rps:.0f} |" for name, (cpu, rps) in rows.items()),
    ]
    figures = {
        "client_cpu_ms_httpx": round(rows["httpx (AsyncHTTPTransport)"][0], 3),
        "client_cpu_ms_aiohttp": round(rows["aiohttp (FastTransport, in use)"][0], 3),
    }
    return Section(
        title="Backend calls: client CPU per call (issue 11)",
        markdown="\n".join(lines),
        figures=figures,
    )
