"""Issue 7: the ``agents`` query over the Brigade sandbox — throughput on the per-caller
cache, Brigade calls per query under load, and a cold (cache miss) versus warm latency."""

from __future__ import annotations

from bench.context import Context
from bench.registry import Section, benchmark
from bench.scenarios import HttpScenario, load, require_every_leaf, timed, validated

AGENTS_QUERY = """\
query Agents {
  agents {
    usage { agentCount taskCount computeHours apiCalls totalCost }
    tasks(first: 20, status: COMPLETED) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id agentId agentName status createdAt durationSeconds }
    }
  }
}"""

AGENTS = HttpScenario(
    name="agents",
    title="gateway `agents` (usage + 20 tasks), per-caller cache warm",
    target="gateway",
    query=AGENTS_QUERY,
    validate=require_every_leaf(AGENTS_QUERY),
)


@benchmark("agents", "Agents: `agents { usage tasks }` over Brigade with the per-caller cache")
def agents(ctx: Context) -> Section:
    from gateway.sandbox.brigade import BrigadeSandbox

    brigade = BrigadeSandbox()
    url = ctx.serve_sandbox(brigade)
    gateway = ctx.start_gateway(
        "gateway-agents", BRIGADE_API_URL=url, BRIGADE_API_KEY=brigade.api_key
    )
    server, headers = gateway.server, gateway.headers
    # The first call misses the cache: two Brigade calls.
    cold, body = timed(server, AGENTS, headers)
    validated(AGENTS, body)
    warm = sorted(timed(server, AGENTS, headers)[0] for _ in range(50))
    calls_before = brigade.total
    result = load(ctx, AGENTS, server, headers, body)
    print(result.line(), flush=True)
    requests = result.requests + result.warmup_requests
    backend_calls = brigade.total - calls_before
    per_query = backend_calls / requests if requests else 0.0
    markdown = "\n".join(
        [
            f"Query: {AGENTS.title}, {ctx.options.concurrency} connections, "
            f"{ctx.options.duration:g} s measured.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| requests/s (warm cache) | {result.rps:.0f} |",
            f"| latency p50 / p99 under load | {result.p(50) * 1e3:.1f} / "
            f"{result.p(99) * 1e3:.1f} ms |",
            f"| errors | {result.errors} |",
            f"| Brigade calls during the load (all requests) | {backend_calls} ({requests}) |",
            f"| cold query (cache miss, 2 Brigade calls) | {cold * 1e3:.1f} ms |",
            f"| warm query, sequential p50 | {warm[len(warm) // 2] * 1e3:.1f} ms |",
        ]
    )
    figures = {
        "agents_rps": round(result.rps, 1),
        "agents_p99_ms": round(result.p(99) * 1e3, 2),
        "agents_brigade_calls_per_query": round(per_query, 4),
    }
    return Section(title="Agents: Brigade behind the per-caller cache (issue 7)",
                   markdown=markdown, figures=figures)  # fmt: skip
