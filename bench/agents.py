"""Issue 7: the ``agents`` query over the Brigade sandbox — throughput on the per-caller
cache, Brigade calls per query under load, and a cold (cache miss) versus warm latency."""

from __future__ import annotations

import json
import time

from bench.context import Context
from bench.load import LoadSpec
from bench.registry import Section, benchmark
from bench.scenarios import HttpScenario, post, require_every_leaf
from bench.servers import HOST

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
    from gateway.sandbox.base import serve_in_thread
    from gateway.sandbox.brigade import BrigadeSandbox

    brigade = BrigadeSandbox()
    url, stop = serve_in_thread(brigade)
    ctx.stack.callback(stop)
    gateway = ctx.start_gateway(
        "gateway-agents", BRIGADE_API_URL=url, BRIGADE_API_KEY=brigade.api_key
    )
    headers = {"Content-Type": "application/json", **gateway.auth}
    port = gateway.server.port

    def timed() -> tuple[float, bytes]:
        started = time.perf_counter()
        status, body = post(port, AGENTS.path, AGENTS.body(), headers)
        if status != 200:
            raise RuntimeError(f"agents: probe answered {status}: {body[:500]!r}")
        return time.perf_counter() - started, body

    cold, body = timed()  # the first call misses the cache: two Brigade calls
    AGENTS.validate(json.loads(body))
    warm = sorted(timed()[0] for _ in range(50))
    calls_before = brigade.total
    spec = LoadSpec(
        host=HOST,
        port=port,
        path=AGENTS.path,
        headers=headers,
        body=AGENTS.body(),
        expect_body=body.decode(),
        check=AGENTS.check,
        client=ctx.options.client,  # type: ignore[arg-type]
        concurrency=ctx.options.concurrency,
        warmup=ctx.options.warmup,
        duration=ctx.options.duration,
    )
    result = ctx.load(AGENTS.name, gateway.server, spec)
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
