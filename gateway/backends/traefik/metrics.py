"""Traefik's Prometheus metrics, parsed with prometheus_client's own parser (no regexes).

:func:`parse` turns exposition text into flat samples; :class:`MetricsSnapshot` answers what
the schema asks: per-service requests, error rate, latency (mean and histogram quantiles),
server health and byte counts, plus JSON and CSV exports.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway.errors import BackendError

CSV_COLUMNS = ("timestamp", "metric", "labels", "value", "unit")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""What makes a spreadsheet read a CSV cell as a formula (OWASP's list, plus a line feed and
the full-width forms some spreadsheets accept too)."""
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e[-+][0-9]+)?")
"""A number as this module writes it: a spreadsheet reads it as a number, never a formula."""


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float
    type: str
    unit: str
    timestamp: float | None


def unit_of(name: str, declared: str = "") -> str:
    if declared:
        return declared
    for suffix, unit in (("_seconds", "seconds"), ("_bytes", "bytes"), ("_ratio", "ratio")):
        if name.removesuffix("_total").removesuffix("_sum").endswith(suffix):
            return unit
    if name.endswith(("_bucket", "_count")) or name.endswith("_total"):
        return "count"
    return ""


def parse(text: str, *, backend: str = "traefik") -> list[Sample]:
    try:
        families = list(text_string_to_metric_families(text))
    except (ValueError, TypeError, IndexError) as exc:
        raise BackendError(f"unparsable metrics from {backend}: {exc}", backend=backend) from None
    return [
        Sample(
            name=s.name,
            labels=dict(s.labels),
            value=float(s.value),
            type=family.type,
            unit=unit_of(s.name, family.unit),
            timestamp=float(s.timestamp) if s.timestamp is not None else None,
        )
        for family in families
        for s in family.samples
    ]


@dataclass(frozen=True, slots=True)
class ServiceMetrics:
    requests: int
    requests_by_code: dict[str, int]
    errors: int
    """Responses with a 5xx code."""
    error_rate: float | None
    mean_latency: float | None
    p50_latency: float | None
    p95_latency: float | None
    p99_latency: float | None
    retries: int
    request_bytes: int
    response_bytes: int
    servers_up: dict[str, bool]


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile: linear interpolation inside the bucket."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # beyond the last finite bucket: its bound is all we know
            span = count - lower_count
            return lower_bound + (bound - lower_bound) * (
                (rank - lower_count) / span if span else 0
            )
        lower_bound, lower_count = bound, count
    return lower_bound


class MetricsSnapshot:
    def __init__(self, samples: list[Sample]) -> None:
        self.samples = samples

    @classmethod
    def from_text(cls, text: str) -> MetricsSnapshot:
        return cls(parse(text))

    def service(self, name: str) -> ServiceMetrics:
        by_code: dict[str, int] = defaultdict(int)
        buckets: dict[float, float] = defaultdict(float)
        duration_sum = duration_count = 0.0
        retries = req_bytes = resp_bytes = 0.0
        servers: dict[str, bool] = {}
        for s in self.samples:
            if s.labels.get("service") != name or not s.name.startswith("traefik_service_"):
                continue
            family = s.name.removeprefix("traefik_service_")
            if family == "requests_total":
                by_code[s.labels.get("code", "")] += int(s.value)
            elif family == "request_duration_seconds_bucket":
                buckets[float(s.labels["le"])] += s.value
            elif family == "request_duration_seconds_sum":
                duration_sum += s.value
            elif family == "request_duration_seconds_count":
                duration_count += s.value
            elif family == "retries_total":
                retries += s.value
            elif family == "requests_bytes_total":
                req_bytes += s.value
            elif family == "responses_bytes_total":
                resp_bytes += s.value
            elif family == "server_up" and "url" in s.labels:
                servers[s.labels["url"]] = s.value >= 1
        total = sum(by_code.values())
        errors = sum(v for code, v in by_code.items() if code.startswith("5"))
        pairs = list(buckets.items())
        return ServiceMetrics(
            requests=total,
            requests_by_code=dict(sorted(by_code.items())),
            errors=errors,
            error_rate=errors / total if total else None,
            mean_latency=duration_sum / duration_count if duration_count else None,
            p50_latency=quantile(0.5, pairs),
            p95_latency=quantile(0.95, pairs),
            p99_latency=quantile(0.99, pairs),
            retries=int(retries),
            request_bytes=int(req_bytes),
            response_bytes=int(resp_bytes),
            servers_up=servers,
        )

    def value(self, name: str, **labels: str) -> float | None:
        for s in self.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        return None

    def select(self, match: str | None = None) -> list[Sample]:
        """Samples whose metric name contains ``match`` (all when None)."""
        return [s for s in self.samples if not match or match in s.name]

    def to_json(self, samples: list[Sample], *, now: float) -> str:
        rows = [
            {
                "timestamp": s.timestamp if s.timestamp is not None else now,
                "metric": s.name,
                "labels": s.labels,
                "value": _finite(s.value),
                "unit": s.unit,
            }
            for s in samples
        ]
        return json.dumps(rows, separators=(",", ":"))

    def to_csv(self, samples: list[Sample], *, now: float) -> str:
        out = io.StringIO()
        # CRLF as RFC 4180 has it; the writer then also quotes any cell holding a bare CR,
        # which a spreadsheet would otherwise read as the start of a new row.
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for s in samples:
            labels = ";".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            stamp = s.timestamp if s.timestamp is not None else now
            row = [f"{stamp:.3f}", s.name, labels, _number(s.value), s.unit]
            writer.writerow([_cell(cell, numeric=i in (0, 3)) for i, cell in enumerate(row)])
        return out.getvalue()


def _cell(text: str, *, numeric: bool = False) -> str:
    """A CSV cell no spreadsheet will run: text starting like a formula gets a leading single
    quote (OWASP's advice), which spreadsheets show as text and do not evaluate. Metric names,
    label names and values come from Traefik, and through it from whoever names routers and
    services (container labels), hence are not trusted.

    The numeric columns (timestamp, value) are written by this module from a float, so a
    negative number there (``-5``, ``-0.25``, ``-1e-05``) is left as it is: it matches
    :data:`NUMBER`, a spreadsheet reads it as a number, and quoting it would turn every
    negative gauge into text. Only the non-finite ``-inf`` is quoted there."""
    if numeric and NUMBER.fullmatch(text):
        return text
    return f"'{text}" if text.startswith(FORMULA_START) else text


def _finite(value: float) -> Any:
    return value if math.isfinite(value) else str(value)


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
