"""Usage events: what an LLM proxy reports per call, and the validation of a batch of them.

Every event of a batch is checked before anything is stored, and every problem is reported
(index, id, field, reason) rather than stopping at the first; the valid events are then
appended in one atomic step (see :mod:`gateway.usage.ingest`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from gateway.usage.prices import plain

STATUSES: tuple[str, ...] = ("success", "error", "timeout", "rate_limited", "cancelled")
MAX_BATCH = 1000
MAX_TOKENS = 1_000_000_000
MAX_LATENCY_MS = 86_400_000
MAX_REPORTED_COST = Decimal(1_000_000)
NANOS = Decimal(1_000_000_000)
FUTURE_TOLERANCE = 300.0  # seconds of clock skew we accept from proxies
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
_TEXT_LIMITS = {"id": 200, "subject": 256, "model": 256, "provider": 64}
_REQUIRED = ("id", "timestamp", "subject", "model", "provider")
_REQUIRED += ("prompt_tokens", "completion_tokens")
_ALIASES = {
    "promptTokens": "prompt_tokens",
    "completionTokens": "completion_tokens",
    "cachedTokens": "cached_tokens",
    "latencyMs": "latency_ms",
}
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_KNOWN = frozenset((*_REQUIRED, "cached_tokens", "latency_ms", "status", "cost"))


class InvalidEvent(ValueError):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class InvalidBatch(ValueError):
    """The batch as a whole is unusable (not a list, empty, too large)."""


_COUNTED = ("subject", "model", "provider", "prompt_tokens", "completion_tokens")
_COUNTED += ("cached_tokens", "latency_ms")


def event_dict(source: Any, *, timestamp: object, status: str) -> dict[str, Any]:
    """An event as a dict, keys in this order: the usage log's record
    (:meth:`UsageEvent.to_record`) and an event reported through GraphQL (before
    :func:`parse_event` checks it) both are one."""
    return {
        "id": source.id,
        "timestamp": timestamp,
        **{name: getattr(source, name) for name in _COUNTED},
        "status": status,
    }


@dataclass(frozen=True, slots=True)
class UsageEvent:
    id: str
    timestamp: float
    """Unix seconds, UTC."""
    subject: str
    model: str
    provider: str
    prompt_tokens: int
    """Including ``cached_tokens`` (OpenAI's convention): the uncached part is the difference."""
    completion_tokens: int
    cached_tokens: int = 0
    latency_ms: int = 0
    status: str = "success"
    reported_cost_nanos: int | None = None
    """The cost the proxy reported, in 1e-9 units of the currency; ``None`` if it sent none."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def to_record(self) -> dict[str, Any]:
        """The JSON stored in the usage log (integers only: no float rounding of money)."""
        record = event_dict(self, timestamp=self.timestamp, status=self.status)
        if self.reported_cost_nanos is not None:
            record["reported_cost_nanos"] = self.reported_cost_nanos
        return record

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> UsageEvent:
        return cls(
            id=data["id"],
            timestamp=data["timestamp"],
            subject=data["subject"],
            model=data["model"],
            provider=data["provider"],
            prompt_tokens=data["prompt_tokens"],
            completion_tokens=data["completion_tokens"],
            cached_tokens=data.get("cached_tokens", 0),
            latency_ms=data.get("latency_ms", 0),
            status=data.get("status", "success"),
            reported_cost_nanos=data.get("reported_cost_nanos"),
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    id: str | None
    field: str | None
    reason: str


def parse_batch(
    items: Any, *, now: float, oldest: float | None = None
) -> tuple[list[UsageEvent], list[Rejection]]:
    """Validate every item; return the valid events (in order) and every rejection.
    ``oldest``: events from before it are refused (see :func:`parse_event`)."""
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise InvalidBatch("expected a JSON list of usage events")
    if not items:
        raise InvalidBatch("the batch is empty")
    if len(items) > MAX_BATCH:
        raise InvalidBatch(f"at most {MAX_BATCH} events per batch, got {len(items)}")
    events: list[UsageEvent] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        raw_id = item.get("id") if isinstance(item, Mapping) else None
        try:
            events.append(parse_event(item, now=now, oldest=oldest))
        except InvalidEvent as exc:
            shown = raw_id if isinstance(raw_id, str) and len(raw_id) <= 200 else None
            rejected.append(Rejection(index, shown, exc.field, exc.reason))
    return events, rejected


def parse_event(item: Any, *, now: float, oldest: float | None = None) -> UsageEvent:
    """One validated event. An event older than ``oldest`` (the idempotency window) is
    refused: the store no longer remembers ids that old, so a repeat of it could not be told
    from a new event, and counting it twice would be worse than refusing it."""
    if not isinstance(item, Mapping):
        raise InvalidEvent(None, "an event must be a JSON object")
    data = {_ALIASES.get(k, k): v for k, v in item.items() if v is not None}
    unknown = sorted(str(k) for k in data if k not in _KNOWN)
    if unknown:
        raise InvalidEvent(unknown[0], f"unknown field {unknown[0]!r}")
    for name in _REQUIRED:
        if name not in data:
            raise InvalidEvent(name, "required")
    prompt = _tokens(data, "prompt_tokens")
    cached = _tokens(data, "cached_tokens")
    if cached > prompt:
        raise InvalidEvent("cached_tokens", "cannot exceed prompt_tokens (they are part of it)")
    status = data.get("status", "success")
    if not isinstance(status, str) or status.lower() not in STATUSES:
        raise InvalidEvent("status", f"must be one of {', '.join(STATUSES)}")
    return UsageEvent(
        id=_text(data, "id"),
        timestamp=_timestamp(data["timestamp"], now=now, oldest=oldest),
        subject=_text(data, "subject"),
        model=_text(data, "model"),
        provider=_text(data, "provider"),
        prompt_tokens=prompt,
        completion_tokens=_tokens(data, "completion_tokens"),
        cached_tokens=cached,
        latency_ms=_latency(data.get("latency_ms", 0)),
        status=status.lower(),
        reported_cost_nanos=None if "cost" not in data else _cost(data["cost"]),
    )


def _text(data: Mapping[str, Any], name: str) -> str:
    return check_text(name, data[name])


def check_text(name: str, value: Any) -> str:
    """An id, subject, model or provider name; raise :class:`InvalidEvent` if unusable."""
    limit = _TEXT_LIMITS[name]
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(name, "must be a non-empty string")
    if len(value) > limit:
        raise InvalidEvent(name, f"longer than {limit} characters")
    # Control characters never belong in names, and \x1f separates rollup key parts.
    if _CONTROL.search(value):
        raise InvalidEvent(name, "contains control characters")
    return value


def _tokens(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEvent(name, "must be an integer")
    if not 0 <= value <= MAX_TOKENS:
        raise InvalidEvent(name, f"must be between 0 and {MAX_TOKENS}")
    return value


def _latency(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidEvent("latency_ms", "must be a number of milliseconds")
    if not 0 <= value <= MAX_LATENCY_MS:
        raise InvalidEvent("latency_ms", f"must be between 0 and {MAX_LATENCY_MS}")
    return round(value)


def _timestamp(value: Any, *, now: float, oldest: float | None = None) -> float:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        seconds = moment.timestamp()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidEvent("timestamp", "not an ISO 8601 date-time") from None
        seconds = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    else:
        raise InvalidEvent("timestamp", "must be ISO 8601 or unix seconds")
    if not math.isfinite(seconds) or seconds < EARLIEST:
        raise InvalidEvent("timestamp", "before 2000-01-01")
    if seconds > now + FUTURE_TOLERANCE:
        raise InvalidEvent("timestamp", "in the future (unix seconds expected, not milliseconds)")
    if oldest is not None and seconds < oldest:
        days = round((now - oldest) / 86400)
        raise InvalidEvent(
            "timestamp", f"older than the {days}-day idempotency window (GATEWAY_IDEMPOTENCY_DAYS)"
        )
    return round(seconds, 6)


def _cost(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidEvent("cost", "must be a decimal number")
    try:
        # A float goes through its shortest repr (0.1 -> "0.1"), not its binary expansion.
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise InvalidEvent("cost", "must be a decimal number") from None
    if not amount.is_finite() or not 0 <= amount <= MAX_REPORTED_COST:
        raise InvalidEvent("cost", f"must be between 0 and {MAX_REPORTED_COST}")
    return int((amount * NANOS).to_integral_value(rounding=ROUND_HALF_EVEN))


def nanos_to_decimal(nanos: int) -> Decimal:
    return plain(Decimal(nanos).scaleb(-9))
