"""The Markdown of the "core" section, built from the run's figures (so it never goes stale)."""

from __future__ import annotations

from typing import Any

from bench.profiling import FunctionCost, QueryProfile
from bench.stats import LoadResult

NOTES_FLOOR = 19_000
"""Bare Starlette req/s on this machine per /work/shared/LIBRARY-NOTES.md."""
BUSY = 0.9
"""A process using this share of a core or more over the window is saturated."""


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def _pct(share: float | None) -> str:
    return "?" if share is None else f"{share:.0%}"


def _us(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds * 1e6:,.0f}"


def results_table(rows: list[tuple[str, LoadResult]], floor: LoadResult) -> list[str]:
    lines = [
        "| scenario | client | req/s | p50 ms | p90 ms | p99 ms | errors | requests "
        "| server CPU | client CPU | server CPU µs/req | vs floor |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for title, r in rows:
        lines.append(
            f"| {title} | {r.client} | {r.rps:,.0f} | {_ms(r.p(50))} | {_ms(r.p(90))} "
            f"| {_ms(r.p(99))} | {r.errors} | {r.requests:,} | {_pct(r.server_cpu_share)} "
            f"| {_pct(r.client_cpu_share)} | {_us(r.server_cpu_per_request)} "
            f"| {r.rps / floor.rps:.1%} |"
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


def _bound(r: LoadResult) -> str:
    server, client = r.server_cpu_share, r.client_cpu_share
    if server is not None and server >= BUSY and client < BUSY:
        return f"server-bound (server {server:.0%} of a core, client {client:.0%})"
    if client >= BUSY:
        return f"**client-bound** (client {client:.0%} of a core, server {_pct(server)})"
    return f"neither process saturated (server {_pct(server)}, client {client:.0%})"


def _cost_rows(costs: list[FunctionCost]) -> list[str]:
    lines = ["| function | calls/req | own | cumulative |", "|---|---:|---:|---:|"]
    for c in costs:
        lines.append(
            f"| `{c.name}` | {c.calls_per_request:,.1f} | {c.own:.1%} | {c.cumulative:.1%} |"
        )
    return lines


def render(
    results: dict[str, LoadResult],
    comparison: LoadResult,
    profiles: list[QueryProfile],
    *,
    query: str,
    leaves: list[tuple[str, ...]],
    values: tuple[int, int],
) -> tuple[str, dict[str, Any]]:
    floor, me, access = results["floor"], results["me"], results["access30"]
    titles = {
        "floor": "bare Starlette (floor)",
        "me": "`{ me { subject } }`",
        "access30": f"`access`, {len(leaves)} leaf fields",
    }
    rows = [(titles[name], r) for name, r in results.items()]
    raw = floor if floor.client == "raw" else comparison
    other = comparison if raw is floor else floor
    out: list[str] = []
    out += results_table(rows, floor)
    out += [
        "",
        "Latency is per request, measured by the client (closed loop: each connection sends "
        "its next request when the previous answer arrives). \"server CPU\" is the server "
        "process's CPU time over the window (100% = one core busy throughout); \"server CPU "
        "µs/req\" divides it by the requests answered.",
        "",
        f"**Relative to the floor:** `me` runs at **{me.rps / floor.rps:.0%}** of the "
        f"floor's throughput, the {len(leaves)}-field `access` query at "
        f"**{access.rps / floor.rps:.1%}**. In server CPU per request: floor "
        f"{_us(floor.server_cpu_per_request)} µs, `me` {_us(me.server_cpu_per_request)} µs, "
        f"`access` {_us(access.server_cpu_per_request)} µs.",
        "",
        "### Errors",
        "",
        *_errors([*rows, ("floor with the other client", comparison)]),
        "",
        "### The client: raw asyncio, and why",
        "",
        f"The floor again with the other client, same connections and window: "
        f"{other.client} {other.rps:,.0f} req/s ({_bound(other)}) against raw "
        f"{raw.rps:,.0f} req/s ({_bound(raw)}).",
        "",
        *results_table([("floor, raw client", raw), (f"floor, {other.client}", other)], floor),
        "",
        "httpx spends its CPU in httpcore's connection-pool bookkeeping (see LIBRARY-NOTES, "
        "encode/httpx#3215), so with httpx in the client process the figures would describe "
        "the client. The raw client (`bench/load.py`, `asyncio.Protocol` on uvloop, one "
        "pre-built request, Content-Length framing) needs a fraction of that CPU per "
        "request: the server's core is the one that saturates, so it is the server that is "
        "measured. One client process is enough (`--clients N` splits the connections over "
        "N processes; on 2 cores more client processes would only take CPU from the server).",
        "",
    ]
    if raw.rps < NOTES_FLOOR * 0.8:
        out += [
            f"**Note:** the floor measured {raw.rps:,.0f} req/s, well below the ~"
            f"{NOTES_FLOOR:,} req/s in LIBRARY-NOTES; {_bound(raw)}. Compare the gateway "
            "figures with this run's floor, not with the notes.",
            "",
        ]
    else:
        out += [
            f"The floor, {raw.rps:,.0f} req/s, agrees with the ~{NOTES_FLOOR:,} req/s in "
            "LIBRARY-NOTES.",
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
    out += _profile_section(profiles, me, access)
    figures = {name: r.summary() for name, r in results.items()}
    figures[f"floor/{comparison.client}"] = comparison.summary()
    return "\n".join(out), figures


def _profile_section(
    profiles: list[QueryProfile], me: LoadResult, access: LoadResult
) -> list[str]:
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
        "\"store calls\" are statements handed to the SQLite store's single worker thread "
        "(`SQLiteStore._run`): each is a thread hop and a wake-up of the event loop.",
        "",
    ]
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
