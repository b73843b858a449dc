"""The fake Traefik's /metrics: Prometheus text of Traefik v3's families, made deterministic.

Counts derive from a hash of each name (stable across runs), plus whatever tests ``record``.
Rendered by prometheus_client itself, so the exposition format is exactly the real one.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from gateway.sandbox.traefik_state import TraefikState

BUCKETS = ("0.1", "0.3", "1.2", "5.0")
CODES = (("200", 0.86), ("304", 0.06), ("404", 0.05), ("500", 0.03))
START = 1736150400.0  # 2025-01-06T08:00:00Z, the fake process start
CERT_NOT_AFTER = 1767225600.0  # 2026-01-01


def _base(name: str) -> int:
    """A stable request volume for ``name``: 1,000 to 50,000."""
    return 1000 + zlib.crc32(name.encode()) % 49_000


def _histogram(name: str, labels: list[str], values: list[str], total: int) -> Iterator[Any]:
    """Cumulative buckets with a stable shape: most requests fast, a tail of slow ones."""
    shares = (0.62, 0.88, 0.97, 0.995)
    buckets = [(le, round(total * s)) for le, s in zip(BUCKETS, shares, strict=True)]
    buckets.append(("+Inf", total))
    total_seconds = round(total * (0.08 + (zlib.crc32(name.encode()) % 50) / 1000), 3)
    return iter([(values, buckets, total_seconds)])


class _TraefikCollector(Collector):
    def __init__(self, state: TraefikState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        routers, services, _ = self.state.snapshot()
        lb = {n: s for n, s in services.items() if "loadBalancer" in s}
        yield from self._requests("service", "service", lb)
        yield from self._requests("router", "router", routers, extra_labels=("service",))
        yield from self._requests("entrypoint", "entrypoint", {"web": {}, "websecure": {}})
        up = GaugeMetricFamily(
            "traefik_service_server_up", "service server is up", labels=["service", "url"]
        )
        for name, s in lb.items():
            for url, status in s.get("serverStatus", {}).items():
                up.add_metric([name, url], 1.0 if status == "UP" else 0.0)
        yield up
        retries = CounterMetricFamily(
            "traefik_service_retries", "service request retries", labels=["service"]
        )
        for name in lb:
            retries.add_metric([name], float(_base(name) % 17))
        yield retries
        conns = GaugeMetricFamily(
            "traefik_open_connections", "open connections", labels=["entrypoint", "protocol"]
        )
        for ep in ("web", "websecure", "traefik"):
            conns.add_metric([ep, "TCP"], float(_base(ep) % 40))
        yield conns
        reloads = CounterMetricFamily("traefik_config_reloads", "config reloads")
        reloads.add_metric([], float(self.state.reloads))
        yield reloads
        ok = GaugeMetricFamily("traefik_config_last_reload_success", "last reload succeeded")
        ok.add_metric([], 1.0 if self.state.last_reload_ok else 0.0)
        yield ok
        started = GaugeMetricFamily("process_start_time_seconds", "process start time")
        started.add_metric([], START)
        yield started
        certs = GaugeMetricFamily(
            "traefik_tls_certs_not_after", "certificate expiry", labels=["cn", "serial", "sans"]
        )
        certs.add_metric(["ops.example.com", "4a1f2c", "ops.example.com"], CERT_NOT_AFTER)
        yield certs

    def _requests(
        self,
        prefix: str,
        label: str,
        objects: dict[str, Any],
        extra_labels: tuple[str, ...] = (),
    ) -> Iterator[Metric]:
        names = ["code", "method", "protocol", label, *extra_labels]
        requests = CounterMetricFamily(
            f"traefik_{prefix}_requests", f"{prefix} requests", labels=names
        )
        durations = HistogramMetricFamily(
            f"traefik_{prefix}_request_duration_seconds",
            f"{prefix} request durations",
            labels=["code", "method", "protocol", label, *extra_labels],
        )
        req_bytes = CounterMetricFamily(
            f"traefik_{prefix}_requests_bytes", "request bytes", labels=[label]
        )
        resp_bytes = CounterMetricFamily(
            f"traefik_{prefix}_responses_bytes", "response bytes", labels=[label]
        )
        for name, obj in sorted(objects.items()):
            base = _base(name)
            extras = [str(obj.get(x, "")) for x in extra_labels]
            total = 0
            for code, share in CODES:
                count = round(base * share) + self.state.extra_requests.get((name, code), 0)
                total += count
                requests.add_metric([code, "GET", "http", name, *extras], float(count))
                for values, buckets, seconds in _histogram(
                    name, names, [code, "GET", "http", name, *extras], count
                ):
                    durations.add_metric(values, buckets, seconds)
            req_bytes.add_metric([name], float(total * 420))
            resp_bytes.add_metric([name], float(total * 3100))
        yield requests
        yield durations
        yield req_bytes
        yield resp_bytes


def metrics_registry(state: TraefikState) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_TraefikCollector(state))
    return registry
