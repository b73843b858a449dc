"""Traffic mutations; expected failures come back as ``TrafficError`` data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry
from strawberry.scalars import JSON

from gateway.context import Info
from gateway.errors import (
    BackendError,
    BackendNotFound,
    BackendTimeout,
    BackendUnavailable,
    BadUserInput,
    ConflictError,
    GatewayError,
    NotConfigured,
    NotFound,
)
from gateway.traffic.routes import Unsupported
from schema.permissions import require
from schema.traffic.certificates import AcmeChallenge
from schema.traffic.containers import RouteSuggestion
from schema.traffic.nodes import DiscoveredContainer, RenewalJob, TraefikService, traffic
from schema.traffic.types import TrafficError, TrafficErrorCode

T = TypeVar("T")

# Most specific first.
_CODES: tuple[tuple[type[GatewayError], TrafficErrorCode], ...] = (
    (Unsupported, TrafficErrorCode.UNSUPPORTED),
    (ConflictError, TrafficErrorCode.CONFLICT),
    (BadUserInput, TrafficErrorCode.INVALID),
    (NotFound, TrafficErrorCode.NOT_FOUND),
    (NotConfigured, TrafficErrorCode.NOT_CONFIGURED),
    (BackendNotFound, TrafficErrorCode.NOT_FOUND),
    (BackendTimeout, TrafficErrorCode.BACKEND_TIMEOUT),
    (BackendUnavailable, TrafficErrorCode.BACKEND_UNAVAILABLE),
    (BackendError, TrafficErrorCode.BACKEND_ERROR),
)


def _field_of(exc: GatewayError, default: str) -> str | None:
    if isinstance(exc, BadUserInput) and exc.field:
        return exc.field
    return default


async def _attempt(make: Callable[[], Awaitable[T]], *, field: str) -> T | TrafficError:
    try:
        return await make()
    except GatewayError as exc:
        code = next((c for cls, c in _CODES if isinstance(exc, cls)), None)
        if code is None:
            raise
        return TrafficError(field=_field_of(exc, field), message=exc.message, code=code)


@strawberry.type
class AppliedRoute:
    container: DiscoveredContainer
    file: str
    router: str
    service: str
    rule: str
    url: str
    suggestion: RouteSuggestion
    config: JSON


@strawberry.type
class ReloadedService:
    name: str
    file: str
    reloaded: bool = strawberry.field(description="Traefik's reload counter moved afterwards.")
    service: TraefikService | None = strawberry.field(
        description="The service as Traefik sees it after the rewrite."
    )


ApplyRouteResult = Annotated[AppliedRoute | TrafficError, strawberry.union("ApplyRouteResult")]
ReloadServiceResult = Annotated[
    ReloadedService | TrafficError, strawberry.union("ReloadServiceResult")
]
RenewalResult = Annotated[RenewalJob | TrafficError, strawberry.union("RenewalResult")]


async def _renew(info: Info, domains: list[str], challenge: AcmeChallenge) -> RenewalResult:
    async def run() -> RenewalJob:
        actor = info.context.principal.subject if info.context.principal else None
        record = await traffic(info).start_renewal(
            domains,
            challenge=challenge.value,  # type: ignore[arg-type]
            actor=actor,
        )
        return RenewalJob.build(record)

    return await _attempt(run, field="domains")


@strawberry.type
class TrafficMutation:
    @strawberry.mutation(
        extensions=[require("containers", "write")],
        description="Route a discovered container: writes a file-provider config atomically.",
    )
    async def apply_discovered_route(
        self, info: Info, container_id: str, host: str
    ) -> ApplyRouteResult:
        async def run() -> AppliedRoute:
            applied = await traffic(info).apply_route(container_id, host)
            router = next(iter(applied.config["http"]["routers"]))
            rule = applied.config["http"]["routers"][router]["rule"]
            service = applied.config["http"]["routers"][router]["service"]
            servers = applied.config["http"]["services"][service]["loadBalancer"]["servers"]
            return AppliedRoute(
                container=DiscoveredContainer.build(applied.container),
                file=applied.file,
                router=router,
                service=service,
                rule=rule,
                url=servers[0]["url"],
                suggestion=RouteSuggestion.build(applied.suggestion),
                config=applied.config,
            )

        return await _attempt(run, field="containerId")

    @strawberry.mutation(
        extensions=[require("services", "execute")],
        description="Rewrite a file-provider service's file so Traefik reloads it.",
    )
    async def reload_service(self, info: Info, name: str) -> ReloadServiceResult:
        async def run() -> ReloadedService:
            done = await traffic(info).reload(name)
            return ReloadedService(
                name=done.name,
                file=done.file,
                reloaded=done.confirmed,
                service=TraefikService.build(done.service) if done.service else None,
            )

        return await _attempt(run, field="name")

    @strawberry.mutation(
        extensions=[require("certificates", "execute")],
        description="Start renewing one certificate (ACME); follow it with renewalProgress.",
    )
    async def renew_certificate(
        self, info: Info, domain: str, challenge: AcmeChallenge = AcmeChallenge.HTTP_01
    ) -> RenewalResult:
        return await _renew(info, [domain], challenge)

    @strawberry.mutation(
        extensions=[require("certificates", "execute")],
        description="Renew several certificates in one job, in parallel (bounded, retried).",
    )
    async def renew_certificates(
        self, info: Info, domains: list[str], challenge: AcmeChallenge = AcmeChallenge.HTTP_01
    ) -> RenewalResult:
        return await _renew(info, domains, challenge)
