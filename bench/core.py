"""Issue "core": requests/s and latency of ``{ me { subject } }``, a 30-field ``access``
query, and the bare-Starlette floor, measured in one run with the same load generator."""

from __future__ import annotations

import json
import sys
from typing import Any

from bench.context import Context
from bench.core_report import CONTENDED, render
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
BUSY_MACHINE = CONTENDED
"""Share of a core used by other processes above which the run gets a warning."""

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
    )
)
STRAWBERRY = scenario(
    HttpScenario(
        name="strawberry",
        title="bare Strawberry `me` (reference)",
        target="strawberry",
        query=ME_QUERY,
        validate=me_is_bench,
    )
)
ME = scenario(
    HttpScenario(
        name="me",
        title="gateway `{ me { subject } }`",
        target="gateway",
        query=ME_QUERY,
        validate=me_is_bench,
    )
)
ACCESS30 = scenario(
    HttpScenario(
        name="access30",
        title=f"gateway `access`, {len(ACCESS_LEAVES)} leaf fields",
        target="gateway",
        query=ACCESS_QUERY,
        validate=_access_is_complete,
    )
)
CORE = (FLOOR, STRAWBERRY, ME, ACCESS30)


@benchmark("core", "Core: requests/s and latency of `me`, a 30-field `access` query, floor")
def core(ctx: Context) -> Section:
    rounds: dict[str, list[LoadResult]] = {item.name: [] for item in CORE}
    total = ctx.options.rounds
    for number in range(1, total + 1):
        for item in CORE:
            result = run_http(ctx, item)
            rounds[item.name].append(result)
            print(f"[{number}/{total}] {result.line()}", flush=True)
    # Other work on the machine can only slow a round down: keep each scenario's best.
    results = {name: max(runs, key=lambda r: r.rps) for name, runs in rounds.items()}
    busy = max((r.other_cpu_share or 0.0) for r in results.values())
    if busy > BUSY_MACHINE:
        ctx.notes.append(
            f"Other processes on the machine used up to {busy:.0%} of a core during the core "
            'measurements (see the "other load" column): those figures are pessimistic. '
            "Rerun `make bench` on a quiet machine for clean numbers."
        )
    other = "httpx" if ctx.options.client == "raw" else "raw"
    # A client check, not a figure of the gateway: a shorter window is enough.
    opts = ctx.options
    comparison = run_http(
        ctx, FLOOR, client=other, duration=min(opts.duration, 3.0), warmup=min(opts.warmup, 1.0)
    )
    print(comparison.line(), flush=True)
    profiles: list[QueryProfile] = []
    if ctx.options.profile:
        try:
            profiles = profile_queries(
                {item.name: (item.body(), item.validate) for item in (ME, ACCESS30)}
            )
        except Exception as exc:  # the load figures stand without it
            ctx.notes.append(f"The profile failed and is missing: {exc!r}")
            print(f"profile failed: {exc!r}", file=sys.stderr)
        for p in profiles:
            print(
                f"profile {p.scenario:<10} {p.seconds_per_request * 1e6:7.0f} us/request "
                f"in-process, {p.store_calls_per_request:.1f} store calls/request",
                flush=True,
            )
    markdown, figures = render(
        {item.name: item.title for item in CORE},
        results,
        rounds,
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
