"""Request-scoped loaders of the traffic domain: each Traefik answer, /metrics and the
certificate list (acme.json + dynamic dir) are read at most once per request."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiodataloader import DataLoader

from gateway.traffic.certificates import CertificateInfo
from gateway.traffic.models import MetricsSnapshot, Service

if TYPE_CHECKING:
    from gateway.traffic.service import TrafficService

COLLECTIONS = ("overview", "version", "entrypoints", "routers", "services", "middlewares")


class TraefikCollectionLoader(DataLoader[str, Any]):
    """Key: a name from :data:`COLLECTIONS`; value: that endpoint's (all pages) answer.

    ``overview`` and ``services`` in one query share one ``GET /api/http/services``.
    """

    def __init__(self, traffic: TrafficService) -> None:
        super().__init__()
        self.client = traffic.traefik

    async def batch_load_fn(self, keys: list[str]) -> list[Any]:
        calls = {
            "overview": self.client.overview,
            "version": self.client.version,
            "entrypoints": self.client.entrypoints,
            "routers": self.client.routers,
            "services": self.client.services,
            "middlewares": self.client.middlewares,
        }
        results = await asyncio.gather(*(calls[k]() for k in keys), return_exceptions=True)
        return list(results)  # exceptions reject only their own key


class TraefikServiceLoader(DataLoader[str, Service | None]):
    """Key: a service name (``api@internal``); one GET for one name, the list for several."""

    def __init__(self, traffic: TrafficService) -> None:
        super().__init__()
        self.client = traffic.traefik

    async def batch_load_fn(self, keys: list[str]) -> list[Service | None]:
        if len(keys) == 1:
            return [await self.client.service(keys[0])]
        by_name = {s.name: s for s in await self.client.services()}
        return [by_name.get(k) for k in keys]


class TraefikMetricsLoader(DataLoader[str, MetricsSnapshot]):
    """Key: always ``""``; /metrics fetched and parsed once per request."""

    def __init__(self, traffic: TrafficService) -> None:
        super().__init__()
        self.client = traffic.traefik

    async def batch_load_fn(self, keys: list[str]) -> list[MetricsSnapshot]:
        snapshot = await self.client.metrics()
        return [snapshot for _ in keys]


class CertificatesLoader(DataLoader[str, list[CertificateInfo]]):
    """Key: always ``""``; overview counts and the certificates field share one read."""

    def __init__(self, traffic: TrafficService) -> None:
        super().__init__()
        self.traffic = traffic

    async def batch_load_fn(self, keys: list[str]) -> list[list[CertificateInfo]]:
        certs, _problems = await self.traffic.certificates()
        return [list(certs) for _ in keys]
