"""Calendar months in UTC: boundaries and the instant a month's figures are taken at."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

SECOND = timedelta(seconds=1)


def utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def month_start(value: datetime | date) -> datetime:
    return datetime(value.year, value.month, 1, tzinfo=UTC)


def add_months(start: datetime, n: int) -> datetime:
    index = start.year * 12 + start.month - 1 + n
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def last_months(as_of: datetime, n: int) -> list[datetime]:
    """The starts of the ``n`` months ending with ``as_of``'s month, oldest first."""
    current = month_start(utc(as_of))
    return [add_months(current, -i) for i in range(n - 1, -1, -1)]


def month_close(start: datetime, as_of: datetime) -> datetime:
    """The instant a month's figures are taken at: its last second, or ``as_of`` if earlier."""
    return min(add_months(start, 1) - SECOND, utc(as_of))
