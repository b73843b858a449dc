"""Where a query's time goes: the gateway app driven in-process over ASGI (no sockets, no
uvicorn), one request at a time, timed, then again under :mod:`cProfile`.

cProfile sees the event loop's thread only: the SQLite store runs its statements in a worker
thread, so time spent there shows up as the loop waiting (``epoll.poll``). Its overhead also
inflates Python-heavy code relative to C, so read the shares as a ranking, not as timings.
"""

from __future__ import annotations

import asyncio
import cProfile
import functools
import pstats
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import ROOT

Validate = Callable[[Any], None]


@dataclass(slots=True)
class FunctionCost:
    name: str
    calls_per_request: float
    own: float
    """Share of all profiled time spent in the function itself."""
    cumulative: float
    """Share of all profiled time spent in it or below (coroutines: while running)."""


@dataclass(slots=True)
class QueryProfile:
    scenario: str
    requests: int
    seconds_per_request: float
    """Wall time per request in-process, one at a time, without the profiler."""
    store_calls_per_request: float
    """Statements handed to the SQLite store's thread per request."""
    response_bytes: int
    store_call_sites: list[tuple[str, float]] = field(default_factory=list)
    """Who asks the store (first caller outside gateway/store/), calls per request."""
    areas: list[tuple[str, float]] = field(default_factory=list)
    top_own: list[FunctionCost] = field(default_factory=list)
    top_project: list[FunctionCost] = field(default_factory=list)
    """The gateway's own functions (gateway/, schema/) by cumulative share."""


class InProcessGateway:
    """A gateway app with its lifespan running, called directly through ASGI."""

    def __init__(self, tmp: Path, overrides: dict[str, Any] | None = None) -> None:
        from cryptography.fernet import Fernet

        from gateway.app import create_app
        from gateway.settings import Limits, Settings

        self.settings = Settings(
            store_url=f"sqlite:///{tmp / 'gateway.db'}",
            data_dir=tmp,
            secret_keys=(Fernet.generate_key().decode(),),
            limits=Limits(rate_per_second=1e9, rate_burst=10**9),
        ).replace(**(overrides or {}))
        self.app = create_app(self.settings)
        self.token = ""
        self.store_calls = 0
        self.record_sites = False
        self.store_sites: Counter[str] = Counter()
        self._lifespan: Any = None

    async def __aenter__(self) -> InProcessGateway:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        services = self.app.state.services
        self.token, _ = await services.tokens.create(
            subject="bench", roles=["admin"], expires_in=3600
        )
        store = services.store
        run = getattr(store, "_run", None)
        if run is not None:  # count round trips to the SQLite thread

            @functools.wraps(run)
            async def counted(fn: Any) -> Any:
                self.store_calls += 1
                if self.record_sites:
                    self.store_sites[_caller_outside_store()] += 1
                return await run(fn)

            store._run = counted
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._lifespan.__aexit__(None, None, None)

    async def post(self, body: bytes) -> tuple[int, bytes]:
        headers = [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {self.token}".encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        delivered = False
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await never
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        never.cancel()
        return status, b"".join(chunks)


def _caller_outside_store(depth: int = 3) -> str:
    """The nearest ``depth`` project functions outside gateway/store/, innermost first."""
    ours = (str(ROOT / "gateway"), str(ROOT / "schema"))
    store_dir = str(ROOT / "gateway" / "store")
    names: list[str] = []
    frame = sys._getframe(2)
    while frame is not None and len(names) < depth:
        filename = frame.f_code.co_filename
        if filename.startswith(ours) and not filename.startswith(store_dir):
            names.append(frame.f_code.co_qualname)
        frame = frame.f_back
    return " ← ".join(names) or "?"


async def _profile(
    queries: dict[str, tuple[str, Validate]],
    requests: int,
    top: int,
    overrides: dict[str, Any] | None = None,
    prepare: str | None = None,
) -> list[QueryProfile]:
    results: list[QueryProfile] = []
    with tempfile.TemporaryDirectory(prefix="ogw-bench-profile-") as tmp:
        async with InProcessGateway(Path(tmp), overrides) as gateway:
            if prepare is not None:  # e.g. wait for a snapshot the queries read
                await gateway.post(prepare.encode())
            for name, (body, validate) in queries.items():
                raw = body.encode()
                status, answer = await gateway.post(raw)
                if status != 200:
                    raise RuntimeError(f"profile {name}: status {status}: {answer[:300]!r}")
                import orjson

                validate(orjson.loads(answer))

                async def many(n: int, raw: bytes = raw) -> None:
                    for _ in range(n):
                        await gateway.post(raw)

                await many(max(20, requests // 5))  # warm caches
                gateway.store_sites.clear()
                gateway.record_sites = True
                await many(10)
                gateway.record_sites = False
                sites = [(site, n / 10) for site, n in gateway.store_sites.most_common()]
                calls_before = gateway.store_calls
                started = time.perf_counter()
                await many(requests)
                elapsed = time.perf_counter() - started
                store_calls = (gateway.store_calls - calls_before) / requests
                stats = await _profiled(many(requests))
                profile = QueryProfile(
                    scenario=name,
                    requests=requests,
                    seconds_per_request=elapsed / requests,
                    store_calls_per_request=store_calls,
                    response_bytes=len(answer),
                    store_call_sites=sites,
                )
                _summarise(stats, profile, top)
                results.append(profile)
    return results


async def _profiled(work: Awaitable[None]) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        await work
    finally:
        profiler.disable()
    return pstats.Stats(profiler)


def profile_queries(
    queries: dict[str, tuple[str, Validate]],
    *,
    requests: int = 300,
    top: int = 12,
    overrides: dict[str, Any] | None = None,
    prepare: str | None = None,
) -> list[QueryProfile]:
    """Profile each ``name -> (request body, validator)`` on one in-process gateway
    (``overrides``: its settings; ``prepare``: a request body sent once first)."""
    return asyncio.run(_profile(queries, requests, top, overrides, prepare))


# -- summarising -------------------------------------------------------------------------

_AREAS: tuple[tuple[str, str], ...] = (
    ("/graphql/", "graphql-core (parse/validate/execute)"),
    ("/strawberry/", "strawberry (view, resolvers, types)"),
    ("/starlette/", "starlette"),
    ("/prometheus_client/", "prometheus_client"),
    ("/asyncio/", "asyncio"),
    ("/concurrent/", "thread pool hand-off"),
    ("/threading.py", "thread pool hand-off"),
)


def _area(filename: str, function: str) -> str:
    if filename == "~":
        if "epoll" in function or "select" in function:
            return "event loop idle (waiting, e.g. for the SQLite thread)"
        return "C builtins (orjson, dict/list ops, ...)"
    if filename.startswith(str(ROOT / "gateway")):
        return "gateway/ (view, auth, RBAC, store, metrics)"
    if filename.startswith(str(ROOT / "schema")):
        return "schema/ (resolvers, extensions, limits)"
    for marker, area in _AREAS:
        if marker in filename:
            return area
    return "other Python (stdlib, enum, dataclasses, ...)"


def _label(filename: str, line: int, function: str) -> str:
    if filename == "~":
        return function
    parts = Path(filename).parts
    if "site-packages" in parts:
        short = "/".join(parts[parts.index("site-packages") + 1 :])
    elif filename.startswith(str(ROOT)):
        short = str(Path(filename).relative_to(ROOT))
    else:  # the standard library, or code without a file (<string>)
        short = "/".join(parts[-2:]) if parts[-2:-1] == ("asyncio",) else parts[-1]
    return f"{short}:{line}({function})"


def _summarise(stats: pstats.Stats, profile: QueryProfile, top: int) -> None:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    areas: dict[str, float] = {}
    costs: list[tuple[FunctionCost, bool]] = []
    for (filename, line, function), (_cc, ncalls, own, cumulative, _callers) in raw.items():
        area = _area(filename, function)
        areas[area] = areas.get(area, 0.0) + own
        ours = filename.startswith((str(ROOT / "gateway"), str(ROOT / "schema")))
        costs.append(
            (
                FunctionCost(
                    name=_label(filename, line, function),
                    calls_per_request=ncalls / profile.requests,
                    own=own / total,
                    cumulative=cumulative / total,
                ),
                ours,
            )
        )
    profile.areas = sorted(((a, t / total) for a, t in areas.items()), key=lambda x: -x[1])
    profile.top_own = [c for c, _ in sorted(costs, key=lambda x: -x[0].own)[:top]]
    project = sorted((c for c, ours in costs if ours), key=lambda c: -c.cumulative)
    profile.top_project = project[:top]
