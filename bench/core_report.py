"""The Markdown of the "core" section, built from the run's figures (so it never goes stale)."""

from __future__ import annotations

from typing import Any

from bench.profiling import FunctionCost, QueryProfile
from bench.stats import LoadResult

NOTES_FLOOR = 19_000
"""Bare Starlette req/s on this machine per /work/shared/LIBRARY-NOTES.md."""
BUSY = 0.9
CONTENDED = 0.25
"""Other processes using this share of a core or more compete with server and client."""
"""A process using this share of a core or more over the window is saturated."""


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def _pct(share: float | None) -> str:
    return "?" if share is None else f"{share:.0%}"


def _us(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds * 1e6:,.0f}"


def results_table(
    rows: list[tuple[str, LoadResult]],
    floor: LoadResult,
    rounds: dict[str, list[LoadResult]] | None = None,
) -> list[str]:
    lines = [
        "| scenario | req/s | p50 ms | p90 ms | p99 ms | errors | requests | server CPU "
        "| client CPU | other load | server CPU µs/req | vs floor | req/s, every round |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for title, r in rows:
        every = (rounds or {}).get(r.scenario, [r])
        lines.append(
            f"| {title} | **{r.rps:,.0f}** | {_ms(r.p(50))} | {_ms(r.p(90))} "
            f"| {_ms(r.p(99))} | {r.errors} | {r.requests:,} | {_pct(r.server_cpu_share)} "
            f"| {_pct(r.client_cpu_share)} | {_pct(r.other_cpu_share)} "
            f"| {_us(r.server_cpu_per_request)} | {r.rps / floor.rps:.1%} "
            f"| {', '.join(f'{x.rps:,.0f}' for x in every)} |"
        )
    return lines


def _errors(rows: list[tuple[str, LoadResult]]) -> list[str]:
    lines: list[str] = []
    for title, r in rows:
        if r.errors:
            kinds = ", ".join(f"{k}: {n}" for k, n in sorted(r.error_kinds.items()))
            lines.append(f"- **{title}: {r.errors} errors** ({kinds})")
            lines += [f"  - `{sample}`" for sample in r.error_samples]
    return lines or ["No errors: every response had status 200 and the validated body."]


def _rounds_note(n: int) -> str:
    if n == 1:
        return "One round per scenario (`--rounds 1`)."
    return (
        f"Each row is the best of {n} interleaved rounds by req/s (other work on the machine "
        "can only slow a round down); the last column has every round."
    )


def _server_bound(r: LoadResult) -> bool:
    server = r.server_cpu_share
    return server is not None and server >= BUSY and r.client_cpu_share < BUSY


def _bound(r: LoadResult) -> str:
    server, client, other = r.server_cpu_share, r.client_cpu_share, r.other_cpu_share
    if server is not None and server >= BUSY and client < BUSY:
        return f"server-bound (server {server:.0%} of a core, client {client:.0%})"
    if client >= BUSY:
        return f"**client-bound** (client {client:.0%} of a core, server {_pct(server)})"
    if other is not None and other >= CONTENDED:
        return (
            f"**contended**: other processes took {other:.0%} of a core "
            f"(server {_pct(server)}, client {client:.0%})"
        )
    return f"neither process saturated (server {_pct(server)}, client {client:.0%})"


def _cost_rows(costs: list[FunctionCost]) -> list[str]:
    lines = ["| function | calls/req | own | cumulative |", "|---|---:|---:|---:|"]
    for c in costs:
        lines.append(
            f"| `{c.name}` | {c.calls_per_request:,.1f} | {c.own:.1%} | {c.cumulative:.1%} |"
        )
    return lines


def render(
    titles: dict[str, str],
    results: dict[str, LoadResult],
    rounds: dict[str, list[LoadResult]],
    comparison: LoadResult,
    profiles: list[QueryProfile],
    *,
    query: str,
    leaves: list[tuple[str, ...]],
    values: tuple[int, int],
) -> tuple[str, dict[str, Any]]:
    floor, me, access = results["floor"], results["me"], results["access30"]
    engine = results.get("strawberry")
    rows = [(titles[name], r) for name, r in results.items()]
    every = [r for runs in rounds.values() for r in runs]
    raw = floor if floor.client == "raw" else comparison
    other = comparison if raw is floor else floor
    out: list[str] = [
        "Targets: **floor** is one Starlette route answering `JSONResponse` with the same "
        "JSON as the gateway's `me` (no middleware, no GraphQL); **bare Strawberry** "
        "(`bench/strawberry_target.py`) is `strawberry.asgi.GraphQL` on a one-type schema "
        "with `ParserCache` and `ValidationCache`, as a reference for the GraphQL engine "
        "alone; **gateway** is the real app (middlewares, API-token authentication, rate "
        "limiter, RBAC, query limits, error codes, metrics).",
        "",
    ]
    out += results_table(rows, floor, rounds)
    out += [
        "",
        _rounds_note(len(rounds["floor"]))
        + " Latency is per request, measured by the client (closed loop: each connection sends "
        'its next request when the previous answer arrives). "server CPU" is the server '
        "process's CPU time over the window (100% = one core busy throughout), \"client "
        'CPU" the load generator\'s, "other load" what every other process on the machine '
        "used meanwhile (other engineers' test runs share these 2 cores); \"server CPU "
        "µs/req\" divides the server's CPU time by the requests answered.",
        "",
        f"**Relative to the floor:** the gateway's `me` runs at **{me.rps / floor.rps:.0%}** "
        f"of the floor's throughput, the {len(leaves)}-field `access` query at "
        f"**{access.rps / floor.rps:.1%}**"
        + (f" (bare Strawberry's `me`: {engine.rps / floor.rps:.0%})" if engine else "")
        + f". Server CPU per request: floor {_us(floor.server_cpu_per_request)} µs, "
        + (f"bare Strawberry {_us(engine.server_cpu_per_request)} µs, " if engine else "")
        + f"gateway `me` {_us(me.server_cpu_per_request)} µs, `access` "
        f"{_us(access.server_cpu_per_request)} µs.",
        "",
        "### Errors",
        "",
        *_errors([*((r.scenario, r) for r in every), ("floor, other client", comparison)]),
        "",
        "### The client: raw asyncio, and why",
        "",
        f"The floor again with the other client, same connections, a "
        f"{other.window:g} s window: "
        f"{other.client} {other.rps:,.0f} req/s ({_bound(other)}) against raw "
        f"{raw.rps:,.0f} req/s ({_bound(raw)}).",
        "",
        *results_table([("floor, raw client", raw), (f"floor, {other.client}", other)], floor),
        "",
        "httpx spends its CPU in httpcore's connection-pool bookkeeping (LIBRARY-NOTES, "
        "encode/httpx#3215): with httpx in the client process the figures would describe "
        "the client. The raw client (`bench/load.py`: `asyncio.Protocol` on uvloop, one "
        "pre-built request, responses framed by Content-Length) costs "
        f"{raw.client_cpu / max(raw.requests, 1) * 1e6:.0f} µs of client CPU per request "
        f"against {other.client_cpu / max(other.requests, 1) * 1e6:.0f} µs for httpx. "
        "`--clients N` splits the connections over N client processes; on 2 cores more "
        "client processes would only take CPU from the server.",
        "",
    ]
    if _server_bound(raw):
        out += [
            "With the raw client the server's core saturates before the client's: it is the "
            "server that is measured, and the default client.",
            "",
        ]
    else:
        out += [
            f"**Warning:** even with the raw client the floor is not server-bound "
            f"({_bound(raw)}); the floor figure is a lower bound of the server's capacity.",
            "",
        ]
    ratio = raw.rps / NOTES_FLOOR
    if ratio < 0.8:
        out += [
            f"**Note:** the floor measured {raw.rps:,.0f} req/s, far below the ~"
            f"{NOTES_FLOOR:,} req/s in LIBRARY-NOTES ({_bound(raw)}): compare the gateway "
            "with this run's floor, not with the notes.",
            "",
        ]
    else:
        out += [
            f"The floor, {raw.rps:,.0f} req/s, is {ratio:.0%} of the ~{NOTES_FLOOR:,} req/s "
            "in LIBRARY-NOTES.",
            "",
        ]
    scalars, size = values
    out += [
        f"### The {len(leaves)}-field `access` query",
        "",
        "```graphql",
        query,
        "```",
        "",
        f"{len(leaves)} selected leaf fields: "
        + ", ".join(f"`{'.'.join(p[1:])}`" for p in leaves)
        + f". Lists multiply them: one response carries {scalars:,} scalar values "
        f"({size:,} bytes) for the 5 built-in roles.",
        "",
    ]
    out += _profile_section(profiles)
    out += _interpretation(results, profiles, len(leaves), scalars)
    figures = {name: r.summary() for name, r in results.items()}
    figures[f"floor/{comparison.client}"] = comparison.summary()
    return "\n".join(out), figures


def _profile_section(profiles: list[QueryProfile]) -> list[str]:
    if not profiles:
        return ["(Profile skipped: `--no-profile`.)", ""]
    by_name = {p.scenario: p for p in profiles}
    out = [
        "### Where the time goes",
        "",
        "The same queries through the app in-process (ASGI called directly: no sockets, no "
        "uvicorn), one request at a time:",
        "",
        "| query | µs/request in-process | store calls/request | response bytes |",
        "|---|---:|---:|---:|",
    ]
    for p in profiles:
        out.append(
            f"| {p.scenario} | {p.seconds_per_request * 1e6:,.0f} "
            f"| {p.store_calls_per_request:.1f} | {p.response_bytes:,} |"
        )
    out += [
        "",
        '"store calls" are statements handed to the SQLite store\'s single worker thread '
        "(`SQLiteStore._run`): each is a thread hop and a wake-up of the event loop. "
        "Who makes them (calls per request):",
        "",
        "| query | caller | store calls/request |",
        "|---|---|---:|",
    ]
    for p in profiles:
        out += [f"| {p.scenario} | `{site}` | {n:g} |" for site, n in p.store_call_sites]
    out.append("")
    for name in ("access30", "me"):
        p = by_name.get(name)
        if p is None:
            continue
        out += [
            f"cProfile of `{name}` ({p.requests} requests), share of profiled time by area:",
            "",
            "| area | share |",
            "|---|---:|",
            *(f"| {area} | {share:.1%} |" for area, share in p.areas),
            "",
        ]
        if name == "access30":
            out += [
                "Top functions by own time:",
                "",
                *_cost_rows(p.top_own),
                "",
                "The gateway's own code (gateway/, schema/) by cumulative time:",
                "",
                *_cost_rows(p.top_project),
                "",
            ]
    out += [
        "cProfile inflates Python-heavy code against C code and counts coroutine time only "
        "while it runs: read the shares as a ranking.",
        "",
    ]
    return out


def _share(profile: QueryProfile, *areas: str) -> float:
    return sum(share for area, share in profile.areas if area.startswith(areas))


def _interpretation(
    results: dict[str, LoadResult],
    profiles: list[QueryProfile],
    fields: int,
    scalars: int,
) -> list[str]:
    floor, me, access = results["floor"], results["me"], results["access30"]
    engine = results.get("strawberry")
    out = ["### Interpretation", ""]
    bounds = "; ".join(f"{name}: {_bound(r)}" for name, r in results.items())
    out.append(
        f"- **What is measured.** {bounds}. A server-bound row is the capacity of one "
        "worker on one core."
    )
    floor_us, me_us = floor.server_cpu_per_request, me.server_cpu_per_request
    engine_us = engine.server_cpu_per_request if engine else None
    access_us = access.server_cpu_per_request
    by_name = {p.scenario: p for p in profiles}
    p_me, p_access = by_name.get("me"), by_name.get("access30")
    if floor_us and me_us:
        line = (
            f"- **`me`** costs {_us(me_us)} µs of server CPU per request against "
            f"{_us(floor_us)} µs for bare Starlette"
        )
        if engine_us:
            line += (
                f" and {_us(engine_us)} µs for bare Strawberry: HTTP and Starlette are "
                f"{floor_us / me_us:.0%} of it, the GraphQL engine (cached parse and "
                f"validation, execution, response) {(engine_us - floor_us) / me_us:.0%}, and "
                f"the gateway's own work {(me_us - engine_us) / me_us:.0%} "
                f"(~{_us(me_us - engine_us)} µs: middlewares, authentication, rate limiter, "
                "role resolution, query limits, extensions, metrics)."
            )
        else:
            line += "."
        if p_me:
            sites = ", ".join(f"`{s.split(' ← ')[0]}`" for s, _ in p_me.store_call_sites)
            waiting = _share(p_me, "event loop", "thread pool", "asyncio")
            line += (
                f" Each request makes {p_me.store_calls_per_request:g} store calls ({sites}), "
                "each a hop to the SQLite thread and back: in the one-at-a-time profile the "
                f"event loop, its waits and the thread hand-offs are {waiting:.0%} of the "
                "time (under load other requests fill the waits, but every hop still costs "
                "CPU in both threads and a loop wake-up)."
            )
        out.append(line)
    if access_us and scalars:
        line = (
            f"- **`access`**: {fields} selected fields resolve to {scalars:,} scalar values "
            "(lists multiply them: every role's permissions and effective permissions, "
            f"matrix rows x cells), so it costs {_us(access_us)} µs of server CPU, "
            f"~{access_us / scalars * 1e6:.1f} µs per value."
        )
        if p_access:
            engine_share = _share(p_access, "graphql-core", "strawberry")
            top = ", ".join(f"`{c.name.rsplit('/', 1)[-1]}`" for c in p_access.top_own[:3])
            line += (
                f" graphql-core and Strawberry execution are {engine_share:.0%} of its "
                f"profile (top own time: {top}): the cost follows the number of values "
                "resolved, not the number of fields selected; the gateway's own code is a "
                "small part of it."
            )
        out.append(line)
    out += _hot_spots(p_me, p_access)
    out.append("")
    return out


def _hot_spots(p_me: QueryProfile | None, p_access: QueryProfile | None) -> list[str]:
    if p_access is None:
        return []
    out: list[str] = []
    graph_calls = sum(n for site, n in p_access.store_call_sites if "RBAC.graph" in site)
    total = p_access.store_calls_per_request
    if graph_calls > 1:
        from_roles = sum(
            n
            for site, n in p_access.store_call_sites
            if "RBAC.graph" in site and "Role.effective_permissions" in site
        )
        per_role = (
            f", {from_roles:g} of them from `Role.effective_permissions`, once per role"
            if from_roles
            else ""
        )
        me_graph = (
            sum(n for site, n in p_me.store_call_sites if "RBAC.graph" in site) if p_me else 0
        )
        out.append(
            f"- **Hot spot: `RBAC.graph` (gateway/auth/rbac.py)** reads the role-graph "
            f"generation counter from the store on every call: {graph_calls:g} of the "
            f"{total:.0f} store calls of an `access` request ({me_graph:g} of "
            f"{p_me.store_calls_per_request if p_me else 0:.0f} for `me`){per_role}. Checking "
            "the generation once per request (the graph memoised on the request's Context) "
            "would leave one."
        )
    builders = [
        c
        for c in p_access.top_project
        if c.name.startswith("schema/access/types.py") and c.name.endswith("(permissions)")
    ]
    if builders:
        top = max(builders, key=lambda c: c.cumulative)
        out.append(
            "- **Hot spot in the gateway's code: building permission lists.** `permissions()` "
            "in schema/access/types.py "
            f"({top.calls_per_request:g} calls per `access` request, from `Role.permissions` "
            "and `Role.effective_permissions`) re-validates and re-sorts every role's keys "
            "(`normalise` → `parse_permission`, `_matrix_order`) and makes new `Permission` "
            f"objects each time: {top.cumulative:.0%} of the profile. The role graph is an "
            "immutable snapshot, so the lists can be built once per snapshot."
        )
    return out
