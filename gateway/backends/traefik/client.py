"""TraefikClient: typed calls to Traefik's API and its Prometheus endpoint."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

from gateway.backends.base import BackendClient, CallObserver
from gateway.backends.traefik.metrics import MetricsSnapshot
from gateway.backends.traefik.models import EntryPoint, Middleware, Router, Service, TraefikQuery
from gateway.backends.windows import plan_window
from gateway.errors import BackendError, BackendNotFound
from gateway.settings import Settings

PER_PAGE = 100
MAX_PAGES = 200  # 20,000 objects: beyond that the header is lying, not the config


class TraefikClient(BackendClient):
    health_path = "/api/version"
    per_page = PER_PAGE
    metrics_max_age = 1.0
    census_max_age = 5.0
    _metrics_cache: tuple[float, MetricsSnapshot] | None = None
    _metrics_lock: asyncio.Lock | None = None
    _census_cache: tuple[float, list[Service]] | None = None
    _census_lock: asyncio.Lock | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, observer: CallObserver | None = None
    ) -> TraefikClient:
        return cls(
            name="traefik",
            base_url=settings.traefik_api_url,
            config_var="TRAEFIK_API_URL",
            timeout=settings.backend_timeout,
            observer=observer,
        )

    async def overview(self) -> dict[str, Any]:
        return await self._object("/api/overview")

    async def version(self) -> dict[str, Any]:
        return await self._object("/api/version")

    async def entrypoints(self) -> list[EntryPoint]:
        return [EntryPoint.from_api(r) for r in await self._paged("/api/entrypoints")]

    async def routers(self) -> list[Router]:
        return [Router.from_api(r) for r in await self._paged("/api/http/routers")]

    async def services(self) -> list[Service]:
        return [Service.from_api(r) for r in await self._paged("/api/http/services")]

    async def middlewares(self) -> list[Middleware]:
        return [Middleware.from_api(r) for r in await self._paged("/api/http/middlewares")]

    async def window(
        self, query: TraefikQuery, *, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Items ``offset .. offset + limit`` of a list in Traefik's order (by name), filtered
        by Traefik itself, and whether more follow: the fewest pages that cover the window,
        whatever the size of the configuration."""
        size, first, count = plan_window(offset, limit, self.per_page)
        params: dict[str, Any] = {**query.params, "per_page": size}
        # The first page says whether others follow: no calls past the end of a short list.
        pages = [await self._page(query.path, {**params, "page": first})]
        if count > 1 and pages[0][1]:
            pages += await asyncio.gather(
                *(
                    self._page(query.path, {**params, "page": p})
                    for p in range(first + 1, first + count)
                )
            )
        items = [item for body, _ in pages for item in body]
        start = offset - (first - 1) * size
        window = items[start : start + limit]
        more = pages[-1][1] or len(items) > start + limit
        return window, more

    async def list(self, query: TraefikQuery) -> list[dict[str, Any]]:
        """Every item of a filtered list (for what Traefik cannot filter itself)."""
        return await self._paged(query.path, query.params)

    async def count(self, query: TraefikQuery) -> int:
        """How many items a filtered list holds (every page: asked only for ``totalCount``)."""
        return len(await self.list(query))

    async def totals(self) -> dict[str, int]:
        """Routers, services and middlewares Traefik holds (``/api/overview``): one call."""
        http = (await self.overview()).get("http") or {}
        return {
            kind: int((http.get(kind) or {}).get("total") or 0)
            for kind in ("routers", "services", "middlewares")
        }

    async def service(self, name: str) -> Service | None:
        raw = await self._one("/api/http/services", name)
        return None if raw is None else Service.from_api(raw)

    async def router(self, name: str) -> Router | None:
        raw = await self._one("/api/http/routers", name)
        return None if raw is None else Router.from_api(raw)

    async def metrics(self, *, max_age: float | None = None) -> MetricsSnapshot:
        """/metrics parsed, shared for ``max_age`` seconds (default :attr:`metrics_max_age`).

        Parsing Traefik's exposition text costs tens of milliseconds; a dashboard's concurrent
        queries share one fetch and parse instead (one in flight at a time).
        """
        max_age = self.metrics_max_age if max_age is None else max_age
        if self._metrics_lock is None:
            self._metrics_lock = asyncio.Lock()
        async with self._metrics_lock:
            cached = self._metrics_cache
            if cached is not None and time.monotonic() - cached[0] < max_age:
                return cached[1]
            text = await self.metrics_text()
            snapshot = await asyncio.to_thread(MetricsSnapshot.from_text, text)
            self._metrics_cache = (time.monotonic(), snapshot)
            return snapshot

    async def census(self) -> list[Service]:
        """Every service, listed at most once per :attr:`census_max_age` seconds per process
        and shared by every request (one listing in flight at a time): what aggregates such
        as the overview's health counts need, at a cost that does not follow the traffic."""
        if self._census_lock is None:
            self._census_lock = asyncio.Lock()
        async with self._census_lock:
            cached = self._census_cache
            if cached is not None and time.monotonic() - cached[0] < self.census_max_age:
                return cached[1]
            services = await self.services()
            self._census_cache = (time.monotonic(), services)
            return services

    async def metrics_text(self) -> str:
        """The Prometheus exposition text Traefik serves at /metrics."""
        response = await self.request("GET", "/metrics", headers={"Accept": "text/plain"})
        return response.text

    # -- helpers ---------------------------------------------------------------------------
    async def _object(self, path: str) -> dict[str, Any]:
        body = await self.get_json(path)
        if not isinstance(body, dict):
            raise BackendError(f"unexpected answer from traefik on {path}", backend=self.name)
        return body

    async def _one(self, collection: str, name: str) -> dict[str, Any] | None:
        try:
            return await self._object(f"{collection}/{quote(name, safe='@')}")
        except BackendNotFound:
            return None

    async def _page(self, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """One page and whether another follows (Traefik answers 400 past the last page)."""
        response = await self.request("GET", path, params=params, accept=(400,))
        if response.status_code == 400:
            return [], False
        body = self._decode(response)
        if not isinstance(body, list):
            raise BackendError(f"unexpected answer from traefik on {path}", backend=self.name)
        following = response.headers.get("X-Next-Page", "1")
        more = following.isdigit() and int(following) > int(params["page"])
        return [item for item in body if isinstance(item, dict)], more

    async def _paged(
        self, path: str, filters: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every page: Traefik's ``X-Next-Page`` names the next page, and is 1 on the last."""
        items: list[dict[str, Any]] = []
        page = 1
        for _ in range(MAX_PAGES):
            params = {**(filters or {}), "page": page, "per_page": self.per_page}
            response = await self.request("GET", path, params=params)
            body = self._decode(response)
            if not isinstance(body, list):
                raise BackendError(f"unexpected answer from traefik on {path}", backend=self.name)
            items.extend(item for item in body if isinstance(item, dict))
            following = response.headers.get("X-Next-Page", "1")
            if not following.isdigit() or int(following) <= page:
                return items
            page = int(following)
        raise BackendError(f"traefik kept paging on {path}", backend=self.name)
