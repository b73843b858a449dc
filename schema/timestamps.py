"""Unix seconds, as the stores and backends keep them, to the ``DateTime`` the schema shows."""

from __future__ import annotations

from datetime import UTC, datetime


def ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)
