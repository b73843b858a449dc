"""Issue 12: the dashboard query on one replica and on three behind HAProxy, all on one
PostgreSQL store and one Redis (the production layout of deploy/compose.yaml).

Three rows, same load: one replica addressed directly, the same replica behind HAProxy (what
the balancer costs), three replicas behind HAProxy. On a 2-core machine three replicas share
two cores with the balancer, PostgreSQL, Redis and the load generator: the gain shows what
the replicas add when the cores are there, not a linear speed-up.
"""

from __future__ import annotations

import json
import os
import time

from bench.context import BENCH_SUBJECT, Context, create_token, scrubbed
from bench.haproxy import Balanced, haproxy_binary
from bench.registry import Section, benchmark
from bench.scenarios import HttpScenario, load, post, probe, require_every_leaf
from bench.servers import Server
from bench.stats import LoadResult
from bench.stores import postgres_database, redis_prefix

DASHBOARD_QUERY = """\
query Dashboard {
  me { subject }
  usage { overview(days: 1) { requests errors totalTokens cost activeUsers } }
  revenue { overview { activeSubscriptions mrr { amountCents currency } } }
  access { roles { name } }
}"""
DASHBOARD = HttpScenario(
    name="dashboard",
    title="the dashboard query (usage + revenue + access + me)",
    target="gateway",
    query=DASHBOARD_QUERY,
    validate=require_every_leaf(DASHBOARD_QUERY),
)
REPLICAS = 3


def _events(n: int) -> str:
    now = time.time()
    return json.dumps(
        [
            {"id": f"bench-{i}", "timestamp": now - 60 - i, "subject": f"user-{i % 7}",
             "model": "gpt-4o", "provider": "openai", "prompt_tokens": 900,
             "completion_tokens": 150, "latency_ms": 300, "status": "success"}
            for i in range(n)
        ]
    )  # fmt: skip


@benchmark("replicas", "Replicas: the dashboard query on 1 and 3 replicas behind HAProxy")
def replicas(ctx: Context) -> Section:
    from cryptography.fernet import Fernet

    from gateway.sandbox.lago import LagoSandbox

    if haproxy_binary() is None:
        return _skipped("haproxy is not installed (apt-get install haproxy)")
    store_url, store_note = postgres_database(ctx)
    redis_url, prefix, redis_note = redis_prefix(ctx)
    if store_url is None or redis_url is None:
        return _skipped(store_note if store_url is None else redis_note)
    lago = LagoSandbox(customers=300)
    lago_url = ctx.serve_sandbox(lago)
    env = {
        "GATEWAY_STORE": store_url,
        "REDIS_URL": redis_url,
        "GATEWAY_REDIS_PREFIX": prefix,
        "GATEWAY_SECRET_KEYS": Fernet.generate_key().decode(),
        "LAGO_API_URL": lago_url,
        "LAGO_API_KEY": lago.api_key,
        "GATEWAY_RATE_PER_SECOND": "1000000000",
        "GATEWAY_RATE_BURST": "1000000000",
    }
    token = create_token(scrubbed(env), subject=BENCH_SUBJECT, role="admin")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    servers: list[Server] = []
    for i in range(REPLICAS):
        data = ctx.tmp / f"replica-{i + 1}"
        data.mkdir()
        replica_env = scrubbed(env | {"GATEWAY_DATA_DIR": str(data)})
        servers.append(ctx.serve(f"replica-{i + 1}", "gateway.cli:app_from_env", replica_env))
    status, body = post(servers[0].port, "/v1/usage/events", _events(100), headers)
    if status != 200:
        raise RuntimeError(f"seeding usage answered {status}: {body[:300]!r}")

    one = Balanced(replicas=servers[:1], workdir=ctx.tmp, name="haproxy-1")
    three = Balanced(replicas=servers, workdir=ctx.tmp, name="haproxy-3")
    rows: list[tuple[str, LoadResult]] = []
    for label, target in (
        ("1 replica, direct", servers[0]),
        ("1 replica behind HAProxy", one),
        (f"{REPLICAS} replicas behind HAProxy", three),
    ):
        if isinstance(target, Balanced):
            target.start()
            ctx.stack.callback(target.close)
        # Every replica answers the same (figures from the shared store and snapshots).
        expect = probe(target, DASHBOARD, headers)  # type: ignore[arg-type]
        best: LoadResult | None = None
        for _ in range(ctx.options.rounds):
            result = load(ctx, DASHBOARD, target, headers, expect)  # type: ignore[arg-type]
            if best is None or result.rps > best.rps:
                best = result
        assert best is not None
        print(f"{label:<28} {best.rps:8.0f} req/s  p50 {best.p(50) * 1e3:6.1f} ms  "
              f"p99 {best.p(99) * 1e3:6.1f} ms  errors {best.errors}", flush=True)  # fmt: skip
        rows.append((label, best))
    return _section(ctx, rows, [store_note, redis_note])


def _section(ctx: Context, rows: list[tuple[str, LoadResult]], notes: list[str]) -> Section:
    base = rows[0][1].rps
    cores = os.cpu_count() or 1
    lines = [
        f"`{DASHBOARD_QUERY.splitlines()[0].removesuffix(' {')}`: `me`, `usage {{ overview }}` "
        "(rollups in PostgreSQL), `revenue { overview }` (the shared snapshot), "
        f"`access {{ roles }}`. {ctx.options.concurrency} keep-alive connections, closed "
        f"loop, best of {ctx.options.rounds} rounds of {ctx.options.duration:g} s; every "
        "response checked against the probe's body. Replicas: `uvicorn "
        "gateway.cli:app_from_env`, one worker each, one PostgreSQL database and one Redis "
        "prefix for all; HAProxy round robin with keep-alive to the replicas.",
        "",
        "| layout | req/s | vs 1 replica | p50 ms | p99 ms | errors | CPU (replicas + HAProxy) "
        f"| whole machine (of {cores * 100}%) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    figures: dict[str, object] = {}
    for label, r in rows:
        cpu = "" if r.server_cpu_share is None else f"{r.server_cpu_share * 100:.0f}%"
        machine = "" if r.system_cpu is None else f"{r.system_cpu / r.window * 100:.0f}%"
        lines.append(
            f"| {label} | **{r.rps:,.0f}** | {r.rps / base:.2f}x | {r.p(50) * 1e3:.1f} "
            f"| {r.p(99) * 1e3:.1f} | {r.errors} | {cpu} | {machine} |"
        )
    figures["dashboard_rps_1_replica"] = round(rows[0][1].rps)
    figures["dashboard_rps_3_replicas"] = round(rows[-1][1].rps)
    saturated = (
        rows[-1][1].system_cpu is not None
        and rows[-1][1].system_cpu / rows[-1][1].window > cores * 0.9
    )
    if saturated:
        notes = [
            f"With {REPLICAS} replicas the machine's {cores} cores are busy throughout (the "
            "last column): the replicas, HAProxy, PostgreSQL, Redis and the load generator "
            "share them, so the figure is bounded by the machine, not by the gateway. On "
            "hosts with a core per replica the replicas add throughput; nothing in them is "
            "shared but the store and Redis.",
            *notes,
        ]
    lines += ["", *(f"- {n}" for n in notes)]
    return Section(
        title="Replicas: the dashboard on 1 and 3 replicas behind HAProxy (issue 12)",
        markdown="\n".join(lines),
        figures=figures,
    )


def _skipped(reason: str) -> Section:
    return Section(
        title="Replicas: the dashboard on 1 and 3 replicas behind HAProxy (issue 12)",
        markdown=f"Skipped: {reason}.",
    )
