"""What the traffic domain hands the schema from its backends: Traefik's routers, services
and middlewares (and the query that lists them), its parsed metrics (and their CSV
columns), and Docker's containers."""

from __future__ import annotations

from gateway.backends.docker.client import Container
from gateway.backends.traefik.metrics import CSV_COLUMNS, MetricsSnapshot, ServiceMetrics
from gateway.backends.traefik.models import Middleware, Router, Service, TraefikQuery

__all__ = [
    "CSV_COLUMNS",
    "Container",
    "MetricsSnapshot",
    "Middleware",
    "Router",
    "Service",
    "ServiceMetrics",
    "TraefikQuery",
]
