"""Issues 5 and 12: sustained usage ingestion (events/s in batches of 100) on SQLite, Redis and
PostgreSQL in the same run, and the delivery latency of ``usageEvents`` to 200 websocket
subscribers.

Every accepted event is real work: appended to the log, rolled up, published; the run checks
at the end that ``usage { overview }`` counts exactly the events acknowledged.
"""

from __future__ import annotations

import asyncio
import json

from bench.context import Context, GatewayTarget
from bench.registry import Section, benchmark
from bench.scenarios import post
from bench.stores import postgres_database, redis_prefix
from bench.usage_load import BATCH, DeliveryResult, IngestResult, deliver, ingest

SUBSCRIBERS = 200
LIVE_EVENTS = 50
LIVE_RATE = 10.0  # events/s while measuring delivery
OVERVIEW = '{"query":"{ usage { overview(days: 1) { requests } } }"}'


def _counted(target: GatewayTarget) -> int:
    status, body = post(target.server.port, "/graphql", OVERVIEW, target.headers)
    if status != 200:
        raise RuntimeError(f"usage overview answered {status}: {body[:300]!r}")
    return json.loads(body)["data"]["usage"]["overview"]["requests"]


def _run_ingest(ctx: Context, target: GatewayTarget, tag: str) -> IngestResult:
    options = ctx.options
    result = asyncio.run(
        ingest(
            target.server.url,
            target.token,
            concurrency=min(options.concurrency, 8),
            warmup=options.warmup,
            duration=options.duration,
            tag=tag,
        )
    )
    line = f"{tag:<14} {result.rate:9.0f} events/s  p50 {result.p(50) * 1e3:6.1f} ms"
    print(f"{line}  p99 {result.p(99) * 1e3:6.1f} ms  errors {result.errors}", flush=True)
    return result


def _redis_target(ctx: Context) -> tuple[GatewayTarget | None, str]:
    url, prefix, note = redis_prefix(ctx)
    if url is None:
        return None, note
    env = {"GATEWAY_STORE": url, "REDIS_URL": url, "GATEWAY_REDIS_PREFIX": prefix}
    return ctx.start_gateway("gateway-usage-redis", **env), note


def _postgres_target(ctx: Context) -> tuple[GatewayTarget | None, str]:
    url, note = postgres_database(ctx)
    if url is None:
        return None, note
    return ctx.start_gateway("gateway-usage-postgres", GATEWAY_STORE=url), note


@benchmark(
    "usage", "Usage: ingestion events/s (SQLite, Redis, PostgreSQL) and live delivery latency"
)
def usage(ctx: Context) -> Section:
    rows: list[tuple[str, IngestResult, int, int]] = []
    notes: list[str] = []
    sqlite = ctx.start_gateway("gateway-usage-sqlite")
    before = _counted(sqlite)
    result = _run_ingest(ctx, sqlite, "ingest-sqlite")
    rows.append(("SQLite (WAL)", result, before, _counted(sqlite)))
    redis_target, note = _redis_target(ctx)
    notes.append(note)
    if redis_target is not None:
        before = _counted(redis_target)
        result = _run_ingest(ctx, redis_target, "ingest-redis")
        rows.append(("Redis (store + pub/sub)", result, before, _counted(redis_target)))
    postgres_target, note = _postgres_target(ctx)
    notes.append(note)
    if postgres_target is not None:
        before = _counted(postgres_target)
        result = _run_ingest(ctx, postgres_target, "ingest-postgres")
        rows.append(("PostgreSQL (asyncpg pool)", result, before, _counted(postgres_target)))

    # Many sockets of one bench subject: raise the per-subject cap (a setting) for this run.
    live_target = ctx.start_gateway(
        "gateway-usage-live", GATEWAY_WS_MAX_CONNECTIONS=str(SUBSCRIBERS + 10)
    )
    live = asyncio.run(
        deliver(live_target.server.url, live_target.token, subscribers=SUBSCRIBERS,
                events=LIVE_EVENTS, rate=LIVE_RATE)
    )  # fmt: skip
    print(
        f"live delivery  {live.subscribers} subscribers  p50 {live.p(50) * 1e3:.1f} ms  "
        f"p99 {live.p(99) * 1e3:.1f} ms  missing {live.missing}",
        flush=True,
    )
    return _section(ctx, rows, live, notes)


def _section(
    ctx: Context,
    rows: list[tuple[str, IngestResult, int, int]],
    live: DeliveryResult,
    notes: list[str],
) -> Section:
    concurrency = min(ctx.options.concurrency, 8)
    lines = [
        f"`POST /v1/usage/events`, batches of {BATCH} unique events, {concurrency} concurrent "
        f"posters (closed loop), {ctx.options.duration:g} s measured after "
        f"{ctx.options.warmup:g} s warm-up; one uvicorn worker. Each answer comes after the "
        "events are durable and rolled up.",
        "",
        "| store | events/s | batch latency p50 / p99 | errors | counted by `overview` |",
        "|---|---|---|---|---|",
    ]
    figures: dict[str, object] = {}
    for name, r, before, after in rows:
        ok = "yes" if after - before >= r.events else f"NO ({after - before} < {r.events})"
        lines.append(
            f"| {name} | {r.rate:.0f} | {r.p(50) * 1e3:.1f} / {r.p(99) * 1e3:.1f} ms "
            f"| {r.errors} | {ok} |"
        )
        key = name.split()[0].lower()
        figures[f"usage_ingest_{key}_events_per_s"] = round(r.rate)
    lines += [
        "",
        f"Live delivery: {live.subscribers} websocket subscribers (graphql-transport-ws) on "
        f"`usageEvents`, {live.events} single-event batches at {LIVE_RATE:g}/s; latency from "
        "the POST leaving the client to each subscriber's receipt (in-process pub/sub).",
        "",
        "| subscribers | deliveries | p50 | p99 | missing |",
        "|---|---|---|---|---|",
        f"| {live.subscribers} | {len(live.latencies)} | {live.p(50) * 1e3:.1f} ms "
        f"| {live.p(99) * 1e3:.1f} ms | {live.missing} |",
        "",
        *(f"- {n}" for n in notes),
    ]
    figures["usage_live_p50_ms"] = round(live.p(50) * 1e3, 2)
    figures["usage_live_p99_ms"] = round(live.p(99) * 1e3, 2)
    return Section(title="Usage: ingestion and live delivery (issues 5, 12)",
                   markdown="\n".join(lines), figures=figures)  # fmt: skip
