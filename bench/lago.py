"""Issue 3: ``revenue`` over the Lago sandbox with 20 ms of latency per call — Lago calls per
query (the nested-subscriptions N+1 query and the overview) and latency in round trips."""

from __future__ import annotations

import http.client
import time
from typing import Any

from bench.context import Context
from bench.registry import Section, benchmark
from bench.scenarios import HttpScenario, graphql_data, load, probe, require_every_leaf, timed
from bench.servers import HOST
from bench.stats import LoadResult, percentile

LATENCY = 0.020
SEQUENTIAL = 30

NESTED_QUERY = (
    "query Subscriptions200 { revenue { subscriptions(first: 200) "
    "{ edges { node { customer { name } plan { name } } } } } }"
)
OVERVIEW_QUERY = """\
query Overview {
  revenue {
    overview {
      activeSubscriptions activeCustomers
      mrr { amountCents currency } arr { amountCents currency } arpu { amountCents currency }
    }
  }
}"""


def _two_hundred(response: Any) -> None:
    edges = graphql_data(response)["revenue"]["subscriptions"]["edges"]
    assert len(edges) == 200, f"{len(edges)} edges"
    assert all(e["node"]["customer"] and e["node"]["plan"] for e in edges), "unresolved nodes"


NESTED = HttpScenario(
    name="revenue-subs200",
    title="`subscriptions(first: 200)` with nested `customer`, `plan`",
    target="gateway",
    query=NESTED_QUERY,
    validate=_two_hundred,
)
OVERVIEW = HttpScenario(
    name="revenue-overview",
    title="`overview` (MRR, ARR, ARPU, counts)",
    target="gateway",
    query=OVERVIEW_QUERY,
    validate=require_every_leaf(OVERVIEW_QUERY),
)


def _round_trip(port: int, key: str) -> float:
    """p50 of one small authenticated Lago call over a kept-alive connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    times = []
    try:
        for _ in range(SEQUENTIAL):
            started = time.perf_counter()
            conn.request(
                "GET", "/api/v1/plans?per_page=1", headers={"Authorization": f"Bearer {key}"}
            )
            conn.getresponse().read()
            times.append(time.perf_counter() - started)
    finally:
        conn.close()
    return percentile(sorted(times), 50)


@benchmark("lago", "Revenue: Lago calls per query and latency with 20 ms per Lago call")
def lago(ctx: Context) -> Section:
    from gateway.sandbox.lago import LagoSandbox

    sandbox = LagoSandbox(latency=LATENCY)
    url = ctx.serve_sandbox(sandbox)
    gateway = ctx.start_gateway("gateway-lago", LAGO_API_URL=url, LAGO_API_KEY=sandbox.api_key)
    server, headers = gateway.server, gateway.headers
    trip = _round_trip(int(url.rsplit(":", 1)[1]), sandbox.api_key)
    rows: list[Row] = []
    figures: dict[str, float] = {"lago_round_trip_ms": round(trip * 1e3, 2)}
    for item in (NESTED, OVERVIEW):
        body = probe(server, item, headers)
        before = sandbox.total
        sequential = sorted(timed(server, item, headers)[0] for _ in range(SEQUENTIAL))
        calls = (sandbox.total - before) / SEQUENTIAL
        result = load(ctx, item, server, headers, body)
        p50 = percentile(sequential, 50)
        rows.append((item, calls, p50, result))
        print(f"{item.name}: {calls:.1f} Lago calls/query, p50 {p50 * 1e3:.1f} ms "
              f"= {p50 / trip:.1f} round trips; {result.line()}", flush=True)  # fmt: skip
        key = item.name.replace("-", "_")
        figures[f"{key}_lago_calls"] = round(calls, 2)
        figures[f"{key}_round_trips"] = round(p50 / trip, 2)
        figures[f"{key}_rps"] = round(result.rps, 1)
    return Section(title="Revenue over Lago (issue 3)", markdown=_markdown(ctx, trip, rows),
                   figures=figures)  # fmt: skip


Row = tuple[HttpScenario, float, float, LoadResult]


def _markdown(ctx: Context, trip: float, rows: list[Row]) -> str:
    lines = [
        f"The Lago sandbox answers every call after {LATENCY * 1e3:.0f} ms; one small Lago call "
        f"from the bench takes {trip * 1e3:.1f} ms (p50): the round trip below. Lago calls are "
        f"counted by the sandbox over {SEQUENTIAL} queries sent one at a time (exact: every "
        f"query of a kind costs the same); load: {ctx.options.concurrency} connections, "
        f"{ctx.options.duration:g} s measured.",
        "",
        "| query | Lago calls/query | p50, one at a time | = round trips | req/s under load "
        "| p50 / p99 under load | server CPU | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item, calls, p50, result in rows:
        cpu = result.server_cpu_share
        lines.append(
            f"| {item.title} | {calls:.1f} | {p50 * 1e3:.1f} ms | {p50 / trip:.1f} "
            f"| {result.rps:.0f} | {result.p(50) * 1e3:.0f} / {result.p(99) * 1e3:.0f} ms "
            f"| {'?' if cpu is None else f'{cpu:.0%}'} | {result.errors} |"
        )
    lines += [
        "",
        "Lago calls per query do not depend on the page size: subscriptions, customers and "
        "plans are listed once each per request (100 per page) and nested `customer`/`plan` "
        "come from request-scoped loaders. The first page of a list says how many follow and "
        "those are fetched concurrently, so the nested query waits on 4 sequential Lago round "
        "trips (first subscription page; the other pages; first customer page with the plan "
        "list; the other customer pages) and the overview on 2 (subscriptions and plans in "
        "parallel). The rest of the latency is the gateway's own CPU time: parsing the listed "
        "objects (~700 for the nested query) and resolving ~600 GraphQL objects.",
    ]
    return "\n".join(lines)
