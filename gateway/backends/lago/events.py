"""Usage events for Lago (``POST /events/batch``) and what a refused batch becomes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import BackendRejected

MAX_BATCH_EVENTS = 100  # Lago's limit for POST /events/batch
PropertyValue = str | int | float


@dataclass(frozen=True, slots=True)
class LagoEvent:
    """A usage event for ``POST /events/batch``; ``transaction_id`` is the idempotency key.

    ``timestamp`` is Unix seconds (fractions allowed); None lets Lago use the reception time.
    """

    transaction_id: str
    external_subscription_id: str
    code: str
    timestamp: float | None = None
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)
    precise_total_amount_cents: str | None = None

    def __post_init__(self) -> None:
        for name in ("transaction_id", "external_subscription_id", "code"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"LagoEvent.{name} must be a non-empty string")
        if self.timestamp is not None and (
            isinstance(self.timestamp, bool) or not math.isfinite(self.timestamp)
        ):
            raise ValueError("LagoEvent.timestamp must be finite Unix seconds")
        for key, value in self.properties.items():
            if (
                not isinstance(key, str)
                or isinstance(value, bool)
                or not isinstance(value, str | int | float)
            ):
                raise ValueError(f"LagoEvent.properties[{key!r}] must be a string or a number")

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "transaction_id": self.transaction_id,
            "external_subscription_id": self.external_subscription_id,
            "code": self.code,
            "properties": dict(self.properties),
        }
        if self.timestamp is not None:
            # Whole seconds as an integer; fractions as a string keeps their precision.
            ts = self.timestamp
            body["timestamp"] = int(ts) if float(ts).is_integer() else f"{ts:.6f}".rstrip("0")
        if self.precise_total_amount_cents is not None:
            body["precise_total_amount_cents"] = self.precise_total_amount_cents
        return body


def rejected(body: Any, *, first: int = 0) -> BackendRejected:
    """A 422 from the events API: ``error_details`` keyed by the event's index in the
    batch are re-keyed by its index in the whole call (``first`` is the batch's offset)."""
    details = body.get("error_details") if isinstance(body, dict) else None
    details = details if isinstance(details, dict) else {}
    if first:
        details = {(str(int(k) + first) if k.isdigit() else k): v for k, v in details.items()}
    fields = ", ".join(sorted(details)[:5]) or "no details"
    return BackendRejected(f"lago rejected the events ({fields})", backend="lago", details=details)
