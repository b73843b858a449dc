"""Traffic types whose fields resolve lazily, so one failing backend nulls only its fields."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from gateway.context import Info
from gateway.jobs.records import JobRecord
from gateway.traffic.certificates import CertificateInfo
from gateway.traffic.discovery import file_name, object_name, suggest
from gateway.traffic.loaders import (
    CertificatesLoader,
    TraefikCollectionLoader,
    TraefikMetricsLoader,
)
from gateway.traffic.models import Container, Service
from gateway.traffic.service import TrafficService
from schema.mirror import mirror
from schema.permissions import require
from schema.timestamps import ts
from schema.traffic.containers import (
    ContainerNetwork,
    ContainerPort,
    Label,
    RouteSuggestion,
    container_fields,
)
from schema.traffic.types import (
    LoadBalancerStats,
    ObjectCounts,
    ServerState,
    ServiceHealth,
    ServiceTraffic,
    TraefikObject,
)


def traffic(info: Info) -> TrafficService:
    return info.context.services.traffic


async def traefik(info: Info, collection: str) -> Any:
    """One of Traefik's API answers (see TraefikCollectionLoader), fetched once per request."""
    loader = info.context.loaders.get(TraefikCollectionLoader, traffic(info))
    return await loader.load(collection)


async def certificates(info: Info) -> list[CertificateInfo]:
    return await info.context.loaders.get(CertificatesLoader, traffic(info)).load("")


@strawberry.type
class TraefikService(TraefikObject):
    _service: strawberry.Private[Service]

    @strawberry.field(description="From server status: all UP, some, none, or no data.")
    def health(self) -> ServiceHealth:
        return ServiceHealth(self._service.health)

    @strawberry.field
    def servers(self) -> list[ServerState]:
        s = self._service
        urls = list(dict.fromkeys([*s.servers, *s.server_status]))
        return [ServerState(url=u, status=s.server_status.get(u, "UNKNOWN")) for u in urls]

    @strawberry.field
    def load_balancer(self) -> LoadBalancerStats | None:
        s = self._service
        if s.type != "loadbalancer" and not s.servers:
            return None
        states = [v.upper() for v in s.server_status.values()]
        return LoadBalancerStats(
            servers=len(set(s.servers) | set(s.server_status)),
            up=states.count("UP"),
            down=states.count("DOWN"),
            pass_host_header=s.pass_host_header,
            health_check=s.health_check,
        )

    @strawberry.field(description="Requests, errors and latency from Traefik's /metrics.")
    async def traffic(self, info: Info) -> ServiceTraffic | None:
        loader = info.context.loaders.get(TraefikMetricsLoader, traffic(info))
        return ServiceTraffic.build((await loader.load("")).service(self.name))

    @strawberry.field
    def raw(self) -> JSON:
        return self._service.raw

    @classmethod
    def build(cls, s: Service) -> TraefikService:
        return mirror(cls, s, _service=s)


@strawberry.type
class DiscoveredContainer:
    id: strawberry.ID
    name: str
    image: str
    state: str
    status: str
    created: datetime | None
    networks: list[ContainerNetwork]
    ports: list[ContainerPort]
    labels: list[Label]
    _container: strawberry.Private[Container]

    @strawberry.field(description="A router and service for Traefik, with a reason per choice.")
    def suggestion(self) -> RouteSuggestion:
        return RouteSuggestion.build(suggest(self._container))

    @strawberry.field(description="The file applyDiscoveredRoute writes for this container.")
    def file(self) -> str:
        return f"{file_name(self._container)}.yml"

    @strawberry.field(
        description="Traefik routers already serving this container (null if Traefik is down)."
    )
    async def routed_by(self, info: Info) -> list[str] | None:
        routers = await traefik(info, "routers")
        name = object_name(self._container)
        suggestion = suggest(self._container)
        wanted = {f"{name}@file", f"{suggestion.router}@docker", f"{name}@docker"}
        return sorted(r.name for r in routers if r.name in wanted)

    @strawberry.field(description="Whether any Traefik router serves it already.")
    async def routed(self, info: Info) -> bool | None:
        routers = await self.routed_by(info)
        return None if routers is None else bool(routers)

    @classmethod
    def build(cls, c: Container) -> DiscoveredContainer:
        return cls(**container_fields(c), _container=c)  # type: ignore[arg-type]


@strawberry.type
class TrafficOverview:
    @strawberry.field
    async def version(self, info: Info) -> str | None:
        return str((await traefik(info, "version")).get("Version", ""))

    async def _counts(self, info: Info, kind: str) -> ObjectCounts:
        counts = ((await traefik(info, "overview")).get("http") or {}).get(kind) or {}
        return ObjectCounts(
            total=int(counts.get("total", 0)),
            warnings=int(counts.get("warnings", 0)),
            errors=int(counts.get("errors", 0)),
        )

    @strawberry.field
    async def routers(self, info: Info) -> ObjectCounts | None:
        return await self._counts(info, "routers")

    @strawberry.field
    async def services(self, info: Info) -> ObjectCounts | None:
        return await self._counts(info, "services")

    @strawberry.field
    async def middlewares(self, info: Info) -> ObjectCounts | None:
        return await self._counts(info, "middlewares")

    @strawberry.field
    async def providers(self, info: Info) -> list[str] | None:
        return [str(p) for p in (await traefik(info, "overview")).get("providers") or []]

    @strawberry.field
    async def features(self, info: Info) -> JSON | None:
        return (await traefik(info, "overview")).get("features") or {}

    @strawberry.field(description="Services by health (from server status), at most 5 seconds old.")
    async def service_health(self, info: Info) -> list[HealthCount] | None:
        services = await traffic(info).census()
        counts = {h: 0 for h in ServiceHealth}
        for s in services:
            counts[ServiceHealth(s.health)] += 1
        return [HealthCount(health=h, count=n) for h, n in counts.items()]

    @strawberry.field(extensions=[require("certificates", "read")])
    async def certificates(self, info: Info) -> int | None:
        return len(await certificates(info))

    @strawberry.field(
        extensions=[require("certificates", "read")],
        description="Certificates with fewer than `days` days left.",
    )
    async def expiring_certificates(self, info: Info, days: int = 30) -> int | None:
        certs = await certificates(info)
        now = time.time()
        return sum(1 for c in certs if c.days_left(now) < days)


@strawberry.type
class HealthCount:
    health: ServiceHealth
    count: int


@strawberry.type
class DomainRenewal:
    domain: str
    state: str = strawberry.field(description="pending, running, retrying, renewed or failed.")
    attempt: int
    error: str | None
    code: str | None
    not_after: datetime | None
    serial: str | None
    issuer: str | None
    written_to: str | None
    backup: str | None


@strawberry.type
class JobFailure:
    message: str
    code: str


@strawberry.type
class RenewalJob:
    id: strawberry.ID
    state: str = strawberry.field(
        description="queued, running, succeeded, failed, cancelled or interrupted."
    )
    domains: list[str]
    challenge: str
    total: int
    done: int
    failed: int
    progress: list[DomainRenewal]
    error: JobFailure | None
    actor: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def build(cls, r: JobRecord) -> RenewalJob:
        domains = list(r.params.get("domains") or [])
        per = (r.progress or {}).get("domains") or {}
        rows = []
        for d in domains:
            p = per.get(d) or {"state": "pending", "attempt": 0}
            after = p.get("notAfter")
            rows.append(
                DomainRenewal(
                    domain=d,
                    state=str(p.get("state")),
                    attempt=int(p.get("attempt") or 0),
                    error=p.get("error"),
                    code=p.get("code"),
                    not_after=datetime.fromisoformat(after) if after else None,
                    serial=p.get("serial"),
                    issuer=p.get("issuer"),
                    written_to=p.get("writtenTo"),
                    backup=p.get("backup"),
                )
            )
        return cls(
            id=strawberry.ID(r.id),
            state=r.state.value,
            domains=domains,
            challenge=str(r.params.get("challenge") or "http-01"),
            total=len(domains),
            done=sum(1 for x in rows if x.state == "renewed"),
            failed=sum(1 for x in rows if x.state == "failed"),
            progress=rows,
            error=JobFailure(message=r.error.message, code=r.error.code) if r.error else None,
            actor=r.actor,
            created_at=ts(r.created_at),  # type: ignore[arg-type]
            started_at=ts(r.started_at),
            finished_at=ts(r.finished_at),
        )
