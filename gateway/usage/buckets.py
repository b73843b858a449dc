"""Time buckets of the usage rollups (UTC hours and days) and query windows over them.

Rollups are kept per hour and per day. A window is cut into the fewest buckets that cover it
exactly: whole days as day buckets, the ragged edges as hour buckets, so a 90-day query reads
about 90 rollup namespaces and never the raw events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from gateway.errors import BadUserInput

HOUR = 3600
DAY = 86400
MAX_DAYS = 400
DEFAULT_DAYS = 7
Kind = Literal["h", "d"]
Dimension = Literal["m", "u"]
"""``m``: per (model, provider); ``u``: per (subject, model)."""


def hour_key(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H")


def day_key(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def namespace(kind: Kind, key: str, dim: Dimension) -> str:
    return f"usage:{kind}:{key}:{dim}"


@dataclass(frozen=True, slots=True)
class Bucket:
    kind: Kind
    start: int
    """Unix seconds at the bucket's start (UTC)."""

    @property
    def end(self) -> int:
        return self.start + (HOUR if self.kind == "h" else DAY)

    @property
    def key(self) -> str:
        return hour_key(self.start) if self.kind == "h" else day_key(self.start)

    @property
    def date(self) -> date:
        """The UTC day the bucket lies in: prices take effect on whole days."""
        return datetime.fromtimestamp(self.start, UTC).date()

    def namespace(self, dim: Dimension) -> str:
        return namespace(self.kind, self.key, dim)


@dataclass(frozen=True, slots=True)
class Window:
    start: int
    """Hour-aligned unix seconds, inclusive."""
    end: int
    """Hour-aligned unix seconds, exclusive."""

    @classmethod
    def last_days(cls, days: int, *, now: float) -> Window:
        """Today (UTC, whole) and the ``days - 1`` days before it."""
        today = int(now // DAY) * DAY
        return cls(start=today - (days - 1) * DAY, end=today + DAY)

    @property
    def from_dt(self) -> datetime:
        return datetime.fromtimestamp(self.start, UTC)

    @property
    def to_dt(self) -> datetime:
        return datetime.fromtimestamp(self.end, UTC)

    def cover(self) -> list[Bucket]:
        """Day buckets for whole days inside the window, hour buckets for the edges."""
        out: list[Bucket] = []
        t = self.start
        while t < self.end:
            if t % DAY == 0 and t + DAY <= self.end:
                out.append(Bucket("d", t))
                t += DAY
            else:
                out.append(Bucket("h", t))
                t += HOUR
        return out

    def hours(self) -> list[Bucket]:
        return [Bucket("h", t) for t in range(self.start, self.end, HOUR)]

    def days(self) -> list[tuple[Bucket, list[Bucket]]]:
        """Each UTC day the window touches, with the buckets covering its part of it."""
        out: list[tuple[Bucket, list[Bucket]]] = []
        t = self.start - self.start % DAY
        while t < self.end:
            part = Window(start=max(t, self.start), end=min(t + DAY, self.end))
            out.append((Bucket("d", t), part.cover()))
            t += DAY
        return out


def resolve_window(
    *, days: int | None, start: datetime | None, end: datetime | None, now: float
) -> Window:
    """A ``days`` window, or a from/to range rounded outwards to whole hours (UTC)."""
    if start is None and end is None:
        days = DEFAULT_DAYS if days is None else days
        if not 1 <= days <= MAX_DAYS:
            raise BadUserInput(f"days must be between 1 and {MAX_DAYS}", field="days")
        return Window.last_days(days, now=now)
    if days is not None:
        raise BadUserInput("give either days or from/to, not both", field="days")
    if start is None:
        raise BadUserInput("to needs from", field="from")
    end_ts = now if end is None else _utc(end).timestamp()
    start_ts = _utc(start).timestamp()
    lo = int(start_ts // HOUR) * HOUR
    hi = -int(-end_ts // HOUR) * HOUR
    if hi <= lo:
        raise BadUserInput("from must be before to", field="from")
    if hi - lo > MAX_DAYS * DAY:
        raise BadUserInput(f"a range spans at most {MAX_DAYS} days", field="to")
    return Window(start=lo, end=hi)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def today(now: float) -> date:
    return datetime.fromtimestamp(now, UTC).date()


def add_days(day: date, n: int) -> date:
    return day + timedelta(days=n)
