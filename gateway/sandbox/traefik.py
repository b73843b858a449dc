"""A fake Traefik (v3) speaking its API and /metrics (contracts: Traefik API).

``create_app()`` needs no arguments (seeded, deterministic) for ``serve --sandbox``;
``create_app(dynamic_dir=...)`` makes it watch a file-provider directory the way Traefik does,
so what the gateway writes there shows up as ``@file`` routers and services.
Paging (``page``/``per_page``, ``X-Next-Page``, 1 on the last page, 400 out of range),
``search``/``status`` filters and text/plain ``{"message": ...}`` errors are Traefik's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.sandbox.base import Sandbox
from gateway.sandbox.traefik_metrics import metrics_registry
from gateway.sandbox.traefik_state import START_DATE, TraefikState

VERSION = {"Version": "3.1.6", "Codename": "comte", "startDate": START_DATE}
ENTRYPOINTS = [
    {
        "address": ":80",
        "transport": {"respondingTimeouts": {"idleTimeout": "3m0s"}},
        "http": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https"}}},
        "name": "web",
    },
    {
        "address": ":443",
        "transport": {"respondingTimeouts": {"idleTimeout": "3m0s"}},
        "http": {"tls": {"certResolver": "letsencrypt"}},
        "name": "websecure",
    },
    {"address": ":8080", "name": "traefik"},
]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, media_type="application/json")


def _error(status: int, message: str) -> Response:
    # Traefik writes its JSON error bodies with a text/plain content type.
    return Response(json.dumps({"message": message}) + "\n", status, media_type="text/plain")


class TraefikSandbox(Sandbox):
    def __init__(self, *, dynamic_dir: Path | None = None, latency: float = 0.0) -> None:
        self.state = TraefikState(dynamic_dir=dynamic_dir)
        self._registry = metrics_registry(self.state)
        routes = [
            Route("/api/overview", self._overview),
            Route("/api/version", lambda r: _json(VERSION)),
            Route("/api/entrypoints", self._entrypoints),
            Route("/api/entrypoints/{name}", self._entrypoint),
            Route("/api/rawdata", self._rawdata),
            Route("/api/{proto:str}/{kind:str}", self._list),
            Route("/api/{proto:str}/{kind:str}/{name:str}", self._one),
            Route("/metrics", self._metrics),
        ]
        super().__init__(Starlette(routes=routes), latency=latency)

    def _collections(self) -> dict[str, dict[str, Any]]:
        routers, services, middlewares = self.state.snapshot()
        return {"routers": routers, "services": services, "middlewares": middlewares}

    async def _overview(self, request: Request) -> Response:
        http = {}
        for kind, objects in self._collections().items():
            http[kind] = {
                "total": len(objects),
                "warnings": sum(1 for o in objects.values() if o.get("status") == "warning"),
                "errors": sum(1 for o in objects.values() if o.get("error")),
            }
        empty = {"total": 0, "warnings": 0, "errors": 0}
        return _json(
            {
                "http": http,
                "tcp": {"routers": empty, "services": empty, "middlewares": empty},
                "udp": {"routers": empty, "services": empty},
                "features": {"tracing": "", "metrics": "Prometheus", "accessLog": True},
                "providers": ["Docker", "File"],
            }
        )

    async def _entrypoints(self, request: Request) -> Response:
        return _page(request, ENTRYPOINTS)

    async def _entrypoint(self, request: Request) -> Response:
        name = request.path_params["name"]
        found = next((e for e in ENTRYPOINTS if e["name"] == name), None)
        return _json(found) if found else _error(404, f"entry point not found: {name}")

    async def _rawdata(self, request: Request) -> Response:
        return _json(self._collections())

    async def _list(self, request: Request) -> Response:
        proto, kind = request.path_params["proto"], request.path_params["kind"]
        if proto in ("tcp", "udp") and kind in ("routers", "services", "middlewares"):
            return _page(request, [])
        objects = self._collections().get(kind) if proto == "http" else None
        if objects is None:
            return _error(404, "404 page not found")
        items = sorted(objects.values(), key=lambda o: o["name"])
        search, status = request.query_params.get("search"), request.query_params.get("status")
        if search:  # Traefik's: the name (and a router's rule), case-insensitive
            wanted = search.lower()
            items = [
                o for o in items
                if wanted in o["name"].lower() or wanted in str(o.get("rule", "")).lower()
            ]  # fmt: skip
        if status:
            items = [o for o in items if o.get("status") == status]
        return _page(request, items)

    async def _one(self, request: Request) -> Response:
        proto, kind = request.path_params["proto"], request.path_params["kind"]
        name = request.path_params["name"]
        objects = self._collections().get(kind) if proto == "http" else None
        if objects is None:
            return _error(404, "404 page not found")
        if name not in objects:
            return _error(404, f"{kind.rstrip('s')} not found: {name}")
        return _json(objects[name])

    async def _metrics(self, request: Request) -> Response:
        body = generate_latest(self._registry)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def _page(request: Request, items: list[Any]) -> Response:
    try:
        page = int(request.query_params.get("page", "1"))
        per_page = int(request.query_params.get("per_page", "100"))
    except ValueError:
        return _error(400, "invalid request: page and per_page must be integers")
    start = (page - 1) * per_page
    if page < 1 or per_page < 1 or (start >= len(items) and page != 1):
        return _error(400, f"invalid request: page: {page}, per_page: {per_page}")
    end = start + per_page
    following = page + 1 if end < len(items) else 1
    return _json(items[start:end], headers={"X-Next-Page": str(following)})


def create_app(*, dynamic_dir: Path | str | None = None, latency: float = 0.0) -> TraefikSandbox:
    """The fake Traefik, seeded; watching ``dynamic_dir`` for file-provider configs if given."""
    return TraefikSandbox(dynamic_dir=Path(dynamic_dir) if dynamic_dir else None, latency=latency)
