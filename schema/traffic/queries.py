"""``traffic { ... }``: Traefik (resource services), Docker discovery (containers) and
certificates (certificates), each field guarded by its own resource."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import strawberry

from gateway.context import Info
from gateway.traffic.loaders import TraefikMetricsLoader, TraefikServiceLoader
from gateway.traffic.models import CSV_COLUMNS, Middleware, Router, Service
from schema.cache_control import cache_control
from schema.cost import BACKEND
from schema.pagination import Connection, check_first, list_connection
from schema.permissions import require, require_any
from schema.traffic.certificates import Certificate
from schema.traffic.lists import filtered_list, provider_of, traefik_connection
from schema.traffic.nodes import (
    DiscoveredContainer,
    RenewalJob,
    TraefikService,
    TrafficOverview,
    certificates,
    traefik,
    traffic,
)
from schema.traffic.types import (
    EntryPoint,
    MetricsExport,
    MetricsFormat,
    TraefikMiddleware,
    TraefikRouter,
    TraefikVersion,
)

SERVICES = [require("services", "read")]


@strawberry.type
class TrafficQuery:
    @strawberry.field(extensions=SERVICES)
    def overview(self) -> TrafficOverview | None:
        return TrafficOverview()

    @strawberry.field(metadata=BACKEND, extensions=SERVICES)
    async def version(self, info: Info) -> TraefikVersion | None:
        v = await traefik(info, "version")
        return TraefikVersion(
            version=str(v.get("Version", "")),
            codename=str(v.get("Codename", "")),
            start_date=v.get("startDate"),
        )

    @strawberry.field(metadata=BACKEND, extensions=SERVICES)
    async def entry_points(self, info: Info) -> list[EntryPoint] | None:
        return [
            EntryPoint(name=e.name, address=e.address) for e in await traefik(info, "entrypoints")
        ]

    routers = strawberry.field(
        resolver=filtered_list("routers", Router.from_api, TraefikRouter),
        metadata=BACKEND, extensions=SERVICES,
    )  # fmt: skip
    services = strawberry.field(
        resolver=filtered_list("services", Service.from_api, TraefikService),
        metadata=BACKEND, extensions=SERVICES,
    )  # fmt: skip

    @strawberry.field(
        metadata=BACKEND, extensions=SERVICES, description='By full name, e.g. "gateway@docker".'
    )
    async def service(self, info: Info, name: str) -> TraefikService | None:
        found = await info.context.loaders.get(TraefikServiceLoader, traffic(info)).load(name)
        return TraefikService.build(found) if found else None

    @strawberry.field(metadata=BACKEND, extensions=SERVICES)
    async def middlewares(
        self,
        info: Info,
        search: str | None = None,
        provider: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[TraefikMiddleware] | None:
        return await traefik_connection(
            info, "middlewares", parse=Middleware.from_api, build=TraefikMiddleware.build,
            provider_of=provider_of, first=first, after=after, search=search, provider=provider,
        )  # fmt: skip

    @strawberry.field(
        metadata=BACKEND,
        extensions=SERVICES,
        description="Traefik's Prometheus metrics as JSON or CSV ("
        + ", ".join(CSV_COLUMNS)
        + "); `match` keeps metrics whose name contains it.",
    )
    async def metrics(
        self, info: Info, format: MetricsFormat = MetricsFormat.JSON, match: str | None = None
    ) -> MetricsExport | None:
        snapshot = await info.context.loaders.get(TraefikMetricsLoader, traffic(info)).load("")
        samples = snapshot.select(match)
        now = time.time()
        csv = format is MetricsFormat.CSV
        return MetricsExport(
            format=format,
            content_type="text/csv" if csv else "application/json",
            samples=len(samples),
            generated_at=datetime.fromtimestamp(now, tz=UTC),
            body=snapshot.to_csv(samples, now=now) if csv else snapshot.to_json(samples, now=now),
        )

    @strawberry.field(
        metadata=BACKEND,
        extensions=[require("containers", "read")],
        description="Containers labelled traefik.enable=true, running or not.",
    )
    async def discovered(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> Connection[DiscoveredContainer] | None:
        containers = await traffic(info).containers()
        containers.sort(key=lambda c: c.name)
        return list_connection("container", containers, DiscoveredContainer.build, first, after)

    @strawberry.field(
        extensions=[require("certificates", "read")],
        description="From acme.json and the dynamic directory, soonest expiry first.",
    )
    async def certificates(
        self,
        info: Info,
        expiring_within_days: int | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[Certificate] | None:
        certs = await certificates(info)
        now = time.time()
        if expiring_within_days is not None:
            certs = [c for c in certs if c.days_left(now) < expiring_within_days]
        certs.sort(key=lambda c: (c.not_after, c.main))
        return list_connection("certificate", certs, Certificate.build, first, after)

    @strawberry.field(extensions=[require("certificates", "read")])
    async def renewal(self, info: Info, job_id: strawberry.ID) -> RenewalJob | None:
        record = await traffic(info).renewal(str(job_id))
        return RenewalJob.build(record) if record else None

    @strawberry.field(extensions=[require("certificates", "read")], description="Newest first.")
    async def renewals(self, info: Info, first: int = 20) -> list[RenewalJob] | None:
        records = await traffic(info).renewals()
        return [RenewalJob.build(r) for r in records[: check_first(first)]]


@strawberry.type
class Query:
    @strawberry.field(
        extensions=[
            require_any(("services", "read"), ("containers", "read"), ("certificates", "read"))
        ],
        directives=[cache_control(10, domain="traffic")],
        description="Traefik, Docker discovery and certificates; each part needs its resource.",
    )
    def traffic(self) -> TrafficQuery | None:
        return TrafficQuery()
