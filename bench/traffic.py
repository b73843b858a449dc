"""Issue 6: the ``traffic`` query over the Traefik sandbox — throughput, latency and Traefik
calls per query (the loaders share one list call and one /metrics fetch across fields)."""

from __future__ import annotations

from bench.context import Context
from bench.registry import Section, benchmark
from bench.scenarios import HttpScenario, load, probe, require_every_leaf

TRAFFIC_QUERY = """\
query Traffic {
  traffic {
    overview { version routers { total errors } services { total } serviceHealth { health count } }
    services(first: 20) {
      totalCount
      nodes { name health servers { url status }
              traffic { requests errors errorRate p95LatencySeconds } }
    }
  }
}"""

TRAFFIC = HttpScenario(
    name="traffic",
    title="gateway `traffic` (overview + services with metrics)",
    target="gateway",
    query=TRAFFIC_QUERY,
    validate=require_every_leaf(TRAFFIC_QUERY),
)


@benchmark("traffic", "Traffic: `traffic { overview services { traffic } }` over Traefik")
def traffic(ctx: Context) -> Section:
    from gateway.sandbox.traefik import TraefikSandbox

    traefik = TraefikSandbox()
    url = ctx.serve_sandbox(traefik)
    gateway = ctx.start_gateway("gateway-traffic", TRAEFIK_API_URL=url)
    server, headers = gateway.server, gateway.headers
    traefik.reset_counts()
    body = probe(server, TRAFFIC, headers)
    calls_one = traefik.total
    before = traefik.total
    result = load(ctx, TRAFFIC, server, headers, body)
    print(result.line(), flush=True)
    requests = result.requests + result.warmup_requests
    per_query = (traefik.total - before) / requests if requests else 0.0
    markdown = "\n".join(
        [
            f"Query: {TRAFFIC.title}, {ctx.options.concurrency} connections, "
            f"{ctx.options.duration:g} s measured.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| requests/s | {result.rps:.0f} |",
            f"| latency p50 / p99 under load | {result.p(50) * 1e3:.1f} / "
            f"{result.p(99) * 1e3:.1f} ms |",
            f"| errors | {result.errors} |",
            f"| Traefik calls for one query | {calls_one} |",
            f"| Traefik calls per query under load | {per_query:.2f} |",
        ]
    )
    figures = {
        "traffic_rps": round(result.rps, 1),
        "traffic_p99_ms": round(result.p(99) * 1e3, 2),
        "traffic_traefik_calls_per_query": round(per_query, 3),
    }
    return Section(title="Traffic: Traefik API and metrics behind the loaders (issue 6)",
                   markdown=markdown, figures=figures)  # fmt: skip
