"""Usage events received by the Lago sandbox: validation as Lago answers it, idempotent
storage by ``transaction_id`` (a repeated id is accepted and stored once)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

MAX_BATCH = 100
Errors = dict[str, list[str]]


def validate(event: Any) -> Errors:
    """Lago's ``error_details`` for one event (empty when it is valid)."""
    if not isinstance(event, dict):
        return {"event": ["invalid_format"]}
    errors: Errors = {}
    for name in ("transaction_id", "external_subscription_id", "code"):
        value = event.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = ["value_is_mandatory"]
    if _timestamp(event.get("timestamp")) is False:
        errors["timestamp"] = ["invalid_format"]
    props = event.get("properties")
    if props is not None and not isinstance(props, dict):
        errors["properties"] = ["invalid_format"]
    return errors


def _timestamp(raw: Any) -> float | bool | None:
    """Unix seconds, None when absent, False when unusable."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return False
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return False
    return value if value == value and abs(value) < 1e11 else False


class EventStore:
    """Events in arrival order; the first event with a ``transaction_id`` wins. Every
    receipt is counted too, so a test can tell a re-sent event from one sent once."""

    def __init__(self, subscriptions: dict[str, dict[str, Any]]) -> None:
        self._subscriptions = subscriptions
        self._events: dict[str, dict[str, Any]] = {}
        self._receipts: Counter[str] = Counter()
        self._lock = threading.Lock()  # the CLI reads from another thread than the server's

    def add(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Store (unless already seen) and return the event as Lago echoes it."""
        with self._lock:
            self._receipts[raw["transaction_id"]] += 1
            stored = self._events.get(raw["transaction_id"])
            if stored is None:
                stored = self._events[raw["transaction_id"]] = self._wire(raw)
        return {**stored, "lago_customer_id": None}  # Lago fills it in asynchronously

    def _wire(self, raw: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        ts = _timestamp(raw.get("timestamp"))
        when = datetime.fromtimestamp(ts, UTC) if isinstance(ts, float) else now
        sub = self._subscriptions.get(raw["external_subscription_id"])
        return {
            "lago_id": str(uuid.uuid4()),
            "transaction_id": raw["transaction_id"],
            "lago_customer_id": sub["lago_customer_id"] if sub else None,
            "code": raw["code"],
            "timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "precise_total_amount_cents": raw.get("precise_total_amount_cents"),
            "properties": dict(raw.get("properties") or {}),
            "lago_subscription_id": sub["lago_id"] if sub else None,
            "external_subscription_id": raw["external_subscription_id"],
            "created_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._events.values()]

    def get(self, transaction_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._events.get(transaction_id)
            return dict(found) if found else None

    def receipts(self) -> dict[str, int]:
        """How many times each ``transaction_id`` arrived (re-sends included)."""
        with self._lock:
            return dict(self._receipts)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self._receipts.clear()
