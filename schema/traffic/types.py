"""GraphQL types of Traefik: routers, services' traffic, middlewares, metrics; traffic errors.

Containers and certificates have their own modules (containers.py, certificates.py)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from gateway.traffic.models import Middleware, Router, ServiceMetrics
from schema.failure import Failure
from schema.mirror import mirror


@strawberry.enum
class ServiceHealth(Enum):
    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    DOWN = "DOWN"
    UNKNOWN = "UNKNOWN"


@strawberry.enum
class MetricsFormat(Enum):
    JSON = "json"
    CSV = "csv"


@strawberry.type
class ObjectCounts:
    total: int
    warnings: int
    errors: int


@strawberry.type
class TraefikRouter:
    name: str
    provider: str
    rule: str
    service: str
    entry_points: list[str]
    middlewares: list[str]
    status: str
    priority: float | None = strawberry.field(description="Float: Traefik's can exceed Int.")
    tls: JSON | None
    errors: list[str]
    using: list[str]

    @classmethod
    def build(cls, r: Router) -> TraefikRouter:
        return mirror(cls, r, priority=float(r.priority) if r.priority is not None else None)


@strawberry.type
class ServerState:
    url: str
    status: str = strawberry.field(description="UP or DOWN as Traefik's health check sees it.")


@strawberry.type
class LoadBalancerStats:
    servers: int
    up: int
    down: int
    pass_host_header: bool | None
    health_check: JSON | None


@strawberry.type
class CodeCount:
    code: str
    count: int


@strawberry.type
class ServiceTraffic:
    requests: int
    requests_by_code: list[CodeCount]
    errors: int = strawberry.field(description="5xx responses.")
    error_rate: float | None = strawberry.field(description="errors / requests (0-1).")
    mean_latency_seconds: float | None
    p50_latency_seconds: float | None
    p95_latency_seconds: float | None
    p99_latency_seconds: float | None
    retries: int
    request_bytes: float
    response_bytes: float

    @classmethod
    def build(cls, m: ServiceMetrics) -> ServiceTraffic:
        return mirror(
            cls,
            m,
            requests_by_code=[CodeCount(code=c, count=n) for c, n in m.requests_by_code.items()],
            mean_latency_seconds=m.mean_latency,
            p50_latency_seconds=m.p50_latency,
            p95_latency_seconds=m.p95_latency,
            p99_latency_seconds=m.p99_latency,
            request_bytes=float(m.request_bytes),
            response_bytes=float(m.response_bytes),
        )


@strawberry.type
class TraefikObject:
    """The fields a service and a middleware share (a base only: not a type of the schema)."""

    name: str
    provider: str
    type: str
    status: str
    used_by: list[str]
    errors: list[str]


@strawberry.type
class TraefikMiddleware(TraefikObject):
    config: JSON

    @classmethod
    def build(cls, m: Middleware) -> TraefikMiddleware:
        return mirror(cls, m)


@strawberry.type
class MetricsExport:
    format: MetricsFormat
    content_type: str
    samples: int
    generated_at: datetime
    body: str = strawberry.field(description="CSV columns: timestamp, metric, labels, value, unit.")


@strawberry.type
class EntryPoint:
    name: str
    address: str


@strawberry.type
class TraefikVersion:
    version: str
    codename: str
    start_date: str | None


@strawberry.enum
class TrafficErrorCode(Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    UNSUPPORTED = "UNSUPPORTED"
    NOT_CONFIGURED = "NOT_CONFIGURED"
    CONFLICT = "CONFLICT"
    BACKEND_UNAVAILABLE = "BACKEND_UNAVAILABLE"
    BACKEND_TIMEOUT = "BACKEND_TIMEOUT"
    BACKEND_ERROR = "BACKEND_ERROR"


@strawberry.type(description="An expected failure of a traffic mutation.")
class TrafficError(Failure[TrafficErrorCode]):  # type: ignore[valid-type]
    pass
