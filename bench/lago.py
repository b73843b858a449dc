"""Issue 11: revenue cost follows the question, not the size of Lago.

Part 1, Lago calls per query with the sandbox seeded at ~1,000 / 10,000 / 100,000
subscriptions (the snapshot built first), plus the time the background build took and the
gateway's RSS. Part 2, with 20 ms per Lago call (the ~10,000 account): the overview and two
page queries under load, with server CPU per request and the age of the figures served.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

from bench.context import Context, GatewayTarget
from bench.registry import Section, benchmark
from bench.scenarios import HttpScenario, graphql_data, load, post, probe, require_every_leaf
from bench.stats import LoadResult

LATENCY = 0.020
SIZES = (1_000, 10_000, 100_000)
CUSTOMERS_PER_SUBSCRIPTION = 0.767  # what the seed's histories give (300 -> 391)
COUNTED = 10

CUSTOMERS_QUERY = (
    "query Customers100 { revenue { customers(first: 100) { nodes { name email } } } }"
)
NESTED_QUERY = (
    "query Subscriptions100 { revenue { subscriptions(first: 100) "
    "{ nodes { externalId status customer { name } } } } }"
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


def _hundred(key: str, nested: bool) -> Any:
    def check(response: Any) -> None:
        nodes = graphql_data(response)["revenue"][key]["nodes"]
        assert len(nodes) == 100, f"{len(nodes)} nodes"
        if nested:
            assert all(n["customer"] and n["customer"]["name"] for n in nodes), "no customer"

    return check


CUSTOMERS = HttpScenario(
    name="revenue-customers100",
    title="`customers(first: 100) { name email }`",
    target="gateway",
    query=CUSTOMERS_QUERY,
    validate=_hundred("customers", False),
)
NESTED = HttpScenario(
    name="revenue-subs100",
    title="`subscriptions(first: 100)` with nested `customer { name }`",
    target="gateway",
    query=NESTED_QUERY,
    validate=_hundred("subscriptions", True),
)
OVERVIEW = HttpScenario(
    name="revenue-overview",
    title="`overview` (MRR, ARR, ARPU, counts)",
    target="gateway",
    query=OVERVIEW_QUERY,
    validate=require_every_leaf(OVERVIEW_QUERY),
)
QUERIES = (CUSTOMERS, NESTED, OVERVIEW)
MONEY = "{ amountCents currency }"
EVERY_FIELD = (
    "{ revenue { asOf overview { activeSubscriptions mrr " + MONEY + " } "
    "trends(months: 12) { source months { month mrr " + MONEY + " revenue " + MONEY + " } } "
    "byPlan { planCode mrr " + MONEY + " plan { name } } "
    "byCustomer(first: 20) { totalCount nodes { customerId customer { name } } } "
    "churn(months: 6) { rate } lifetimeValue { currency } growth { source } "
    "forecast { source } subscriptions(first: 20) { totalCount nodes { customer { name } } } "
    "customers(first: 20) { totalCount } plans { totalCount } invoices(first: 5) { totalCount } } }"
)


def _wait_for_snapshot(gateway: GatewayTarget, timeout: float = 600.0) -> float:
    """Seconds until the figures answer (the first snapshot is built in the background)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        status, body = post(gateway.server.port, "/graphql", json.dumps(
            {"query": "{ revenue { asOf } }"}), gateway.headers)  # fmt: skip
        if status == 200 and json.loads(body).get("data", {}).get("revenue"):
            return time.perf_counter() - started
        time.sleep(0.5)
    raise RuntimeError("the revenue snapshot was not built in time")


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _calls(sandbox: Any, gateway: GatewayTarget, item: HttpScenario) -> float:
    probe(gateway.server, item, gateway.headers)
    before = sandbox.total
    for _ in range(COUNTED):
        probe(gateway.server, item, gateway.headers)
    return (sandbox.total - before) / COUNTED


def _sized(
    ctx: Context, subscriptions: int, latency: float = 0.0, name: str = ""
) -> tuple[Any, GatewayTarget]:
    from gateway.sandbox.lago import LagoSandbox
    from gateway.sandbox.lago_seed import seed_data

    customers = round(subscriptions * CUSTOMERS_PER_SUBSCRIPTION)
    data = seed_data(customers=customers, invoices=subscriptions <= 10_000)
    sandbox = LagoSandbox(data=data, latency=latency)
    url = ctx.serve_sandbox(sandbox)
    gateway = ctx.start_gateway(
        name or f"gateway-lago-{subscriptions}", LAGO_API_URL=url, LAGO_API_KEY=sandbox.api_key
    )
    return sandbox, gateway


@benchmark("lago", "Revenue: Lago calls by account size, and figures from the snapshot")
def lago(ctx: Context) -> Section:
    sizes: list[dict[str, Any]] = []
    figures: dict[str, float] = {}
    for size in SIZES:
        sandbox, gateway = _sized(ctx, size)
        built = _wait_for_snapshot(gateway)
        every, first_ms = _every_field(gateway)
        _, every_ms = _every_field(gateway)
        row = {
            "every": every,
            "every_first_ms": first_ms,
            "every_ms": every_ms,
            "subscriptions": len(sandbox.data.subscriptions),
            "customers": len(sandbox.data.customers),
            "built": built,
            "rss": _rss_mb(gateway.server.pid),
            "calls": {item.name: _calls(sandbox, gateway, item) for item in QUERIES},
        }
        sizes.append(row)
        print(f"lago {row['subscriptions']} subscriptions: built in {built:.1f} s, "
              f"RSS {row['rss']:.0f} MB, calls {row['calls']}", flush=True)  # fmt: skip
        for name, calls in row["calls"].items():
            figures[f"{name.replace('-', '_')}_calls_{size}"] = calls
        figures[f"snapshot_rss_mb_{size}"] = round(row["rss"], 1)
        figures[f"snapshot_build_s_{size}"] = round(built, 2)
        gateway.server.close()
    sandbox, gateway = _sized(ctx, 10_000, LATENCY, "gateway-lago-load")
    _wait_for_snapshot(gateway)
    loads: list[tuple[HttpScenario, LoadResult]] = []
    for item in QUERIES:
        body = probe(gateway.server, item, gateway.headers)
        result = load(ctx, item, gateway.server, gateway.headers, body)
        loads.append((item, result))
        print(f"{item.name} at 20 ms/Lago call: {result.line()}", flush=True)
        key = item.name.replace("-", "_")
        figures[f"{key}_rps"] = round(result.rps, 1)
        figures[f"{key}_p50_ms"] = round(result.p(50) * 1e3, 2)
        if result.server_cpu is not None and result.ok:
            figures[f"{key}_cpu_ms_per_request"] = round(result.server_cpu / result.ok * 1e3, 2)
    age = _age(gateway)
    figures["overview_age_s"] = round(age, 1)
    profiles = _profiles(ctx, gateway, sandbox)
    fresh, refused = _webhook_freshness(sandbox, gateway)
    figures["webhook_to_overview_ms"] = round(fresh * 1e3, 1)
    reference = ctx.serve(
        "strawberry-lago",
        "bench.strawberry_lago:app",
        {"LAGO_URL": gateway.env["LAGO_API_URL"], "LAGO_KEY": sandbox.api_key},
    )
    references: list[tuple[HttpScenario, LoadResult]] = []
    for item in (CUSTOMERS, NESTED):
        plain = {"Content-Type": "application/json"}
        body = probe(reference, item, plain)
        result = load(ctx, item, reference, plain, body)
        references.append((item, result))
        print(f"{item.name} on bare Strawberry: {result.line()}", flush=True)
        key = item.name.replace("-", "_")
        figures[f"{key}_reference_rps"] = round(result.rps, 1)
        if result.server_cpu is not None and result.ok:
            cpu = result.server_cpu / result.ok * 1e3
            figures[f"{key}_reference_cpu_ms_per_request"] = round(cpu, 2)
    return Section(
        title="Revenue: cost that follows the question (issue 11)",
        markdown=_markdown(ctx, sizes, loads, age)
        + _comparison(loads, references)
        + _webhooks(fresh, refused)
        + _profile_markdown(profiles),
        figures=figures,
    )


def _profiles(ctx: Context, gateway: GatewayTarget, sandbox: Any) -> list[Any]:
    """cProfile of the two page queries on an in-process gateway over the same sandbox."""
    from bench.profiling import profile_queries

    if not ctx.options.profile:
        return []
    overrides = {"lago_api_url": gateway.env["LAGO_API_URL"], "lago_api_key": sandbox.api_key}
    latency, sandbox.latency = sandbox.latency, 0.0  # profile the gateway, not the waiting
    try:
        return profile_queries(
            {item.name: (item.body(), item.validate) for item in (CUSTOMERS, NESTED)},
            overrides=overrides,
            prepare=json.dumps({"query": "{ revenue { asOf } }"}),
            top=8,
        )
    except Exception as exc:  # the figures stand without it
        ctx.notes.append(f"The revenue profile failed and is missing: {exc!r}")
        return []
    finally:
        sandbox.latency = latency


def _profile_markdown(profiles: list[Any]) -> str:
    if not profiles:
        return ""
    lines = ["", "", "Where the time goes (cProfile, in-process, no Lago latency; shares of the "
             "profiled time, the sandbox's thread excluded):"]  # fmt: skip
    for p in profiles:
        lines += ["", f"`{p.scenario}`: {p.seconds_per_request * 1e6:.0f} µs/request "
                  "in-process.", "", "| area | share |", "|---|---:|"]  # fmt: skip
        lines += [f"| {area} | {share:.1%} |" for area, share in p.areas[:6]]
        lines += ["", "| function | calls/req | own | cumulative |", "|---|---:|---:|---:|"]
        lines += [
            f"| `{f.name}` | {f.calls_per_request:,.1f} | {f.own:.1%} | {f.cumulative:.1%} |"
            for f in p.top_own
        ]
    return "\n".join(lines)


def _every_field(gateway: GatewayTarget) -> tuple[str, float]:
    """Every revenue field in one query: whether it answered without error, and its time."""
    started = time.perf_counter()
    status, body = post(gateway.server.port, "/graphql", json.dumps({"query": EVERY_FIELD}),
                        gateway.headers)  # fmt: skip
    took = (time.perf_counter() - started) * 1e3
    errors = json.loads(body).get("errors") if status == 200 else [status]
    return ("yes" if not errors else f"no: {str(errors)[:80]}"), took


def _overview_count(gateway: GatewayTarget) -> int:
    query = {"query": "{ revenue { overview { activeSubscriptions } } }"}
    _, body = post(gateway.server.port, "/graphql", json.dumps(query), gateway.headers)
    return json.loads(body)["data"]["revenue"]["overview"]["activeSubscriptions"]


def _webhook_freshness(sandbox: Any, gateway: GatewayTarget) -> tuple[float, bool]:
    """Seconds from a termination in Lago to the overview showing it (Lago's signed webhook),
    and whether a forged webhook was refused without changing the figures."""
    sandbox.webhooks.add(f"{gateway.server.url}/v1/webhooks/lago", "jwt")
    before = _overview_count(gateway)
    forged = json.dumps({"webhook_type": "subscription.terminated",
                         "object_type": "subscription", "subscription": {}})  # fmt: skip
    signed = {"Content-Type": "application/json", "X-Lago-Signature": "forged"}
    status, _ = post(gateway.server.port, "/v1/webhooks/lago", forged, signed)
    refused = status == 401 and _overview_count(gateway) == before
    victim = next(s for s in sandbox.data.subscriptions if s["status"] == "active")
    url = gateway.env["LAGO_API_URL"].rsplit(":", 1)
    conn = http.client.HTTPConnection(url[0].removeprefix("http://"), int(url[1]), timeout=10)
    started = time.perf_counter()
    conn.request("DELETE", f"/api/v1/subscriptions/{victim['external_id']}",
                 headers={"Authorization": f"Bearer {sandbox.api_key}"})  # fmt: skip
    conn.getresponse().read()
    conn.close()
    while _overview_count(gateway) != before - 1:
        if time.perf_counter() - started > 10:
            raise RuntimeError("the termination never showed in the overview")
        time.sleep(0.005)
    return time.perf_counter() - started, refused


def _webhooks(fresh: float, refused: bool) -> str:
    verdict = "refused with 401, figures unchanged" if refused else "NOT refused"
    return (
        "\n\nBefore this issue (measured on the same machine, issue 11's own report and the "
        "previous RESULTS.md): `customers(first: 100)` 10.5 ms of server CPU per request and "
        "5 Lago calls at 500 customers (200 at 20,000); the nested query 28 ms and 10 calls "
        "(400 at 20,000); the overview p50 255 ms under 16 connections; the revenue page "
        "failed past 50,000 subscriptions."
        "\n\nWebhook-driven freshness: a subscription terminated in the Lago sandbox "
        f"(`DELETE /subscriptions/{{id}}`, Lago's signed `subscription.terminated` webhook to "
        f"`/v1/webhooks/lago`) showed in `revenue {{ overview }}` after {fresh * 1e3:.0f} ms. "
        f"A webhook with a forged signature was {verdict}."
    )


def _cpu(result: LoadResult) -> str:
    if result.server_cpu is None or not result.ok:
        return "?"
    return f"{result.server_cpu / result.ok * 1e3:.2f} ms"


def _comparison(
    ours: list[tuple[HttpScenario, LoadResult]], theirs: list[tuple[HttpScenario, LoadResult]]
) -> str:
    mine = {item.name: result for item, result in ours}
    lines = [
        "",
        "",
        "The same two page queries against a bare Strawberry app over the same fake Lago in "
        "the same run (`bench/strawberry_lago.py`: one Lago page, nested customers by a "
        "DataLoader fetching each distinct customer, httpx's own transport):",
        "",
        "| query | gateway req/s | gateway CPU/request | bare Strawberry req/s "
        "| bare Strawberry CPU/request |",
        "|---|---:|---:|---:|---:|",
    ]
    for item, result in theirs:
        gw = mine[item.name]
        lines.append(
            f"| {item.title} | {gw.rps:.0f} | {_cpu(gw)} | {result.rps:.0f} | {_cpu(result)} |"
        )
    return "\n".join(lines)


def _age(gateway: GatewayTarget) -> float:
    from datetime import UTC, datetime

    _, body = post(gateway.server.port, "/graphql", json.dumps(
        {"query": "{ revenue { asOf } }"}), gateway.headers)  # fmt: skip
    as_of = datetime.fromisoformat(json.loads(body)["data"]["revenue"]["asOf"])
    return (datetime.now(UTC) - as_of).total_seconds()


def _markdown(
    ctx: Context,
    sizes: list[dict[str, Any]],
    loads: list[tuple[HttpScenario, LoadResult]],
    age: float,
) -> str:
    lines = [
        "Lago calls per query, counted by the sandbox over "
        f"{COUNTED} queries after the revenue snapshot was built (no latency here). The "
        "snapshot is built in the background (its build time and the gateway's RSS after it "
        "are shown); requests never list Lago. The last column asks every revenue field in "
        "one query right after the build (the background warm-up of the figures may still be "
        "running), then again.",
        "",
        "| subscriptions / customers | "
        + " | ".join(i.title for i in QUERIES)
        + " | snapshot built in | gateway RSS | every revenue field: answers, first / next |",
        "|---|" + "---:|" * (len(QUERIES) + 3),
    ]
    for row in sizes:
        cells = " | ".join(f"{row['calls'][i.name]:g}" for i in QUERIES)
        lines.append(
            f"| {row['subscriptions']:,} / {row['customers']:,} | {cells} "
            f"| {row['built']:.1f} s | {row['rss']:.0f} MB "
            f"| {row['every']}, {row['every_first_ms']:.0f} / {row['every_ms']:.0f} ms |"
        )
    lines += [
        "",
        f"Under load ({ctx.options.concurrency} connections, {ctx.options.duration:g} s "
        f"measured) with {LATENCY * 1e3:.0f} ms per Lago call, on the ~10,000-subscription "
        f"account. The overview served was {age:.0f} s old (`revenue {{ asOf }}`).",
        "",
        "| query | req/s | p50 / p99 | server CPU per request | errors |",
        "|---|---:|---:|---:|---:|",
    ]
    for item, result in loads:
        lines.append(
            f"| {item.title} | {result.rps:.0f} | {result.p(50) * 1e3:.1f} / "
            f"{result.p(99) * 1e3:.1f} ms | {_cpu(result)} | {result.errors} |"
        )
    return "\n".join(lines)
