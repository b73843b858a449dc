"""Issue "core": requests/s and latency of ``{ me { subject } }``, a 30-field ``access``
query, and the bare-Starlette floor, measured in one run with the same load generator."""

from __future__ import annotations

import json
from typing import Any

from bench.context import Context
from bench.core_report import render
from bench.profiling import QueryProfile, profile_queries
from bench.registry import Section, benchmark
from bench.scenarios import (
    HttpScenario,
    count_leaf_values,
    graphql_data,
    leaf_paths,
    me_is_bench,
    post,
    require_every_leaf,
    run_http,
    scenario,
    target_of,
)
from bench.stats import LoadResult

ME_QUERY = "query Me { me { subject } }"

ACCESS_QUERY = """\
query Access30 {
  access {
    roles {
      name description builtin inherits version createdAt updatedAt
      permissions { resource action key }
      effectivePermissions { resource action key }
    }
    matrix {
      resources actions
      rows { role cells { resource actions direct } }
    }
    hierarchy { name builtin level inherits inheritedBy }
    check(subject: "bench", resource: MODELS, action: WRITE) {
      allowed reason grantedBy path roles
    }
    auditLog(first: 5) { totalCount }
  }
}"""

ACCESS_LEAVES = leaf_paths(ACCESS_QUERY)
_every_access_leaf = require_every_leaf(ACCESS_QUERY)


def _access_is_complete(response: Any) -> None:
    _every_access_leaf(response)
    access = graphql_data(response)["access"]
    names = {role["name"] for role in access["roles"]}
    assert {"admin", "viewer"} <= names, f"roles = {sorted(names)}"
    assert access["check"]["allowed"] is True, f"check = {access['check']}"


FLOOR = scenario(
    HttpScenario(
        name="floor",
        title="bare Starlette (floor)",
        target="floor",
        query=ME_QUERY,
        validate=me_is_bench,
        notes=("one Starlette route answering JSONResponse(...) of the same JSON as `me`",),
    )
)
ME = scenario(
    HttpScenario(name="me", title="`{ me { subject } }`", target="gateway", query=ME_QUERY,
                 validate=me_is_bench)
)  # fmt: skip
ACCESS30 = scenario(
    HttpScenario(
        name="access30",
        title=f"`access` query, {len(ACCESS_LEAVES)} leaf fields",
        target="gateway",
        query=ACCESS_QUERY,
        validate=_access_is_complete,
    )
)
CORE = (FLOOR, ME, ACCESS30)


@benchmark("core", "Core: requests/s and latency of `me`, a 30-field `access` query, floor")
def core(ctx: Context) -> Section:
    results: dict[str, LoadResult] = {}
    for item in CORE:
        results[item.name] = result = run_http(ctx, item)
        print(result.line(), flush=True)
    other = "httpx" if ctx.options.client == "raw" else "raw"
    comparison = run_http(ctx, FLOOR, client=other)
    print(comparison.line(), flush=True)
    profiles: list[QueryProfile] = []
    if ctx.options.profile:
        profiles = profile_queries(
            {item.name: (item.body(), item.validate) for item in (ME, ACCESS30)}
        )
        for p in profiles:
            print(
                f"profile {p.scenario:<10} {p.seconds_per_request * 1e6:7.0f} us/request "
                f"in-process, {p.store_calls_per_request:.1f} store calls/request",
                flush=True,
            )
    markdown, figures = render(
        results,
        comparison,
        profiles,
        query=ACCESS_QUERY,
        leaves=ACCESS_LEAVES,
        values=_access_values(ctx),
    )
    return Section(title='Core: throughput and latency (issue "core")', markdown=markdown,
                   figures=figures)  # fmt: skip


def _access_values(ctx: Context) -> tuple[int, int]:
    """Scalar values and bytes in one ``Access30`` response (what execution resolves)."""
    server, headers = target_of(ctx, ACCESS30)
    status, body = post(server.port, ACCESS30.path, ACCESS30.body(), headers)
    return (count_leaf_values(json.loads(body)["data"]) if status == 200 else 0), len(body)
