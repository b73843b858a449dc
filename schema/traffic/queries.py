"""``traffic { ... }``: Traefik (resource services), Docker discovery (containers) and
certificates (certificates), each field guarded by its own resource."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import strawberry

from gateway.backends.traefik.loaders import (
    TraefikCollectionLoader,
    TraefikMetricsLoader,
    TraefikServiceLoader,
)
from gateway.context import Info
from gateway.errors import BadUserInput
from gateway.jobs.records import JobRecord
from gateway.traffic.metrics import CSV_COLUMNS
from gateway.traffic.service import RENEWAL_JOB
from schema.pagination import (
    Connection,
    build_connection,
    check_first,
    decode_cursor,
    encode_cursor,
)
from schema.permissions import require
from schema.traffic.nodes import (
    DiscoveredContainer,
    RenewalJob,
    TraefikService,
    TrafficOverview,
    certificates,
    traffic,
)
from schema.traffic.permissions import require_any
from schema.traffic.types import (
    Certificate,
    EntryPoint,
    MetricsExport,
    MetricsFormat,
    TraefikMiddleware,
    TraefikRouter,
    TraefikVersion,
)

T = TypeVar("T")
S = TypeVar("S")
SERVICES = [require("services", "read")]


def page(
    kind: str, items: Sequence[S], build: Callable[[S], T], first: int, after: str | None
) -> Connection[T]:
    """Offset paging over a list already fetched whole (Traefik pages only by number)."""
    check_first(first)
    raw = decode_cursor(kind, after)
    start = int(raw) + 1 if raw and raw.isdigit() else 0
    if raw is not None and not raw.isdigit():
        raise BadUserInput("invalid cursor", field="after")
    chunk = items[start : start + first]
    return build_connection(
        [build(i) for i in chunk],
        [encode_cursor(kind, start + n) for n in range(len(chunk))],
        has_next=start + first < len(items),
        has_previous=start > 0,
        total=len(items),
    )


def _match(
    name: str, search: str | None, provider: str | None, status: str | None, obj: object
) -> bool:
    return (
        (not search or search.lower() in name.lower())
        and (not provider or getattr(obj, "provider", None) == provider)
        and (not status or getattr(obj, "status", None) == status)
    )


@strawberry.type
class TrafficQuery:
    @strawberry.field(extensions=SERVICES)
    def overview(self) -> TrafficOverview | None:
        return TrafficOverview()

    @strawberry.field(extensions=SERVICES)
    async def version(self, info: Info) -> TraefikVersion | None:
        loader = info.context.loaders.get(TraefikCollectionLoader, traffic(info).traefik)
        v = await loader.load("version")
        return TraefikVersion(
            version=str(v.get("Version", "")),
            codename=str(v.get("Codename", "")),
            start_date=v.get("startDate"),
        )

    @strawberry.field(extensions=SERVICES)
    async def entry_points(self, info: Info) -> list[EntryPoint] | None:
        loader = info.context.loaders.get(TraefikCollectionLoader, traffic(info).traefik)
        return [
            EntryPoint(name=e.name, address=e.address) for e in await loader.load("entrypoints")
        ]

    @strawberry.field(extensions=SERVICES)
    async def routers(
        self,
        info: Info,
        search: str | None = None,
        provider: str | None = None,
        status: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[TraefikRouter] | None:
        loader = info.context.loaders.get(TraefikCollectionLoader, traffic(info).traefik)
        items = [
            r for r in await loader.load("routers") if _match(r.name, search, provider, status, r)
        ]
        return page("router", items, TraefikRouter.build, first, after)

    @strawberry.field(extensions=SERVICES)
    async def services(
        self,
        info: Info,
        search: str | None = None,
        provider: str | None = None,
        status: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[TraefikService] | None:
        loader = info.context.loaders.get(TraefikCollectionLoader, traffic(info).traefik)
        items = [
            s for s in await loader.load("services") if _match(s.name, search, provider, status, s)
        ]
        return page("service", items, TraefikService.build, first, after)

    @strawberry.field(extensions=SERVICES, description='By full name, e.g. "gateway@docker".')
    async def service(self, info: Info, name: str) -> TraefikService | None:
        found = await info.context.loaders.get(TraefikServiceLoader, traffic(info).traefik).load(
            name
        )
        return TraefikService.build(found) if found else None

    @strawberry.field(extensions=SERVICES)
    async def middlewares(
        self,
        info: Info,
        search: str | None = None,
        provider: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[TraefikMiddleware] | None:
        loader = info.context.loaders.get(TraefikCollectionLoader, traffic(info).traefik)
        items = [
            m for m in await loader.load("middlewares") if _match(m.name, search, provider, None, m)
        ]
        return page("middleware", items, TraefikMiddleware.build, first, after)

    @strawberry.field(
        extensions=SERVICES,
        description="Traefik's Prometheus metrics as JSON or CSV ("
        + ", ".join(CSV_COLUMNS)
        + "); `match` keeps metrics whose name contains it.",
    )
    async def metrics(
        self, info: Info, format: MetricsFormat = MetricsFormat.JSON, match: str | None = None
    ) -> MetricsExport | None:
        snapshot = await info.context.loaders.get(TraefikMetricsLoader, traffic(info).traefik).load(
            ""
        )
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
        extensions=[require("containers", "read")],
        description="Containers labelled traefik.enable=true, running or not.",
    )
    async def discovered(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> Connection[DiscoveredContainer] | None:
        containers = await traffic(info).docker.containers()
        containers.sort(key=lambda c: c.name)
        return page("container", containers, DiscoveredContainer.build, first, after)

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
        return page("certificate", certs, Certificate.build, first, after)

    @strawberry.field(extensions=[require("certificates", "read")])
    async def renewal(self, info: Info, job_id: strawberry.ID) -> RenewalJob | None:
        record = await traffic(info).jobs.get(str(job_id))
        return RenewalJob.build(record) if record and record.kind == RENEWAL_JOB else None

    @strawberry.field(extensions=[require("certificates", "read")], description="Newest first.")
    async def renewals(self, info: Info, first: int = 20) -> list[RenewalJob] | None:
        records: list[JobRecord] = await traffic(info).jobs.list(RENEWAL_JOB)
        return [RenewalJob.build(r) for r in records[: check_first(first)]]


@strawberry.type
class Query:
    @strawberry.field(
        extensions=[
            require_any(("services", "read"), ("containers", "read"), ("certificates", "read"))
        ],
        description="Traefik, Docker discovery and certificates; each part needs its resource.",
    )
    def traffic(self) -> TrafficQuery | None:
        return TrafficQuery()
