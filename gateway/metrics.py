"""Prometheus metrics, one registry per app (no process globals, so test apps stay apart)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from gateway.requestlog import current_request

_OPERATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Operation names come from clients; cap the label set so a client cannot explode cardinality.
_MAX_OPERATION_NAMES = 200
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""Histogram buckets of the duration metrics."""


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "gateway_http_requests",
            "HTTP requests by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.operations = Counter(
            "gateway_graphql_operations",
            "GraphQL operations by name, type and outcome (ok or error).",
            ["operation", "type", "outcome"],
            registry=self.registry,
        )
        self.operation_seconds = Histogram(
            "gateway_graphql_operation_duration_seconds",
            "GraphQL operation duration.",
            ["operation", "type"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.backend_calls = Counter(
            "gateway_backend_calls",
            "Calls to backends by backend, method and outcome.",
            ["backend", "method", "outcome"],
            registry=self.registry,
        )
        self.backend_seconds = Histogram(
            "gateway_backend_call_duration_seconds",
            "Backend call duration.",
            ["backend"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.websockets = Gauge(
            "gateway_websocket_connections",
            "Open websocket connections.",
            registry=self.registry,
        )
        self.usage_events = Counter(
            "gateway_usage_events",
            "Usage events received, by outcome (accepted, duplicate, rejected).",
            ["outcome"],
            registry=self.registry,
        )
        self.usage_backlog = Gauge(
            "gateway_usage_billing_backlog",
            "Accepted usage events not yet delivered to Lago.",
            registry=self.registry,
        )
        self.field_requests = Counter(
            "gateway_graphql_field_requests",
            "Executions of documents selecting a field, by type and field (schema usage: who "
            "still asks for a field before it is removed).",
            ["type", "field"],
            registry=self.registry,
        )
        self._operation_names: set[str] = set()

    def field_counters(self, fields: Iterable[tuple[str, str]]) -> list[Any]:
        """The counters of these (type, field) pairs, resolved once per document."""
        return [self.field_requests.labels(t, f) for t, f in fields]

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not _OPERATION.match(name):
            return "invalid"
        if name not in self._operation_names:
            if len(self._operation_names) >= _MAX_OPERATION_NAMES:
                return "other"
            self._operation_names.add(name)
        return name

    def observe_operation(self, *, name: str | None, type: str, ok: bool, seconds: float) -> None:
        label = self.operation_label(name)
        outcome = "ok" if ok else "error"
        self.operations.labels(label, type, outcome).inc()
        self.operation_seconds.labels(label, type).observe(seconds)

    # CallObserver protocol of gateway.backends.base
    def on_call(self, *, backend: str, method: str, outcome: str, seconds: float) -> None:
        self.backend_calls.labels(backend, method, outcome).inc()
        if (request := current_request.get()) is not None:  # for the request's log line
            request.backend_calls += 1
        self.backend_seconds.labels(backend).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
