"""Pure parts: event validation, window cover, forecast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.errors import BadUserInput
from gateway.usage.buckets import DAY, HOUR, Window, resolve_window
from gateway.usage.events import InvalidBatch, parse_batch
from gateway.usage.forecast import DayFigures, linear_forecast
from tests.usage.helpers import event

NOW = datetime(2025, 3, 10, 15, 30, tzinfo=UTC).timestamp()


def test_valid_event_forms_are_normalised() -> None:
    camel = {
        "id": "a", "timestamp": "2025-03-10T12:00:00", "subject": "u", "model": "m",
        "provider": "p", "promptTokens": 10, "completionTokens": 5.0, "cachedTokens": 2,
        "latencyMs": 12.6, "status": "SUCCESS", "cost": 0.1,
    }  # fmt: skip
    events, rejected = parse_batch([camel, event("b", timestamp=NOW - 5, cost=None)], now=NOW)
    assert rejected == []
    a, b = events
    assert a.timestamp == datetime(2025, 3, 10, 12, tzinfo=UTC).timestamp()  # naive is UTC
    assert (a.completion_tokens, a.latency_ms, a.status) == (5, 13, "success")
    assert a.reported_cost_nanos == 100_000_000  # 0.1 exactly, not 0.1000000000000000055...
    assert b.reported_cost_nanos is None and b.total_tokens == 1200


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"prompt_tokens": True}, "prompt_tokens"),
        ({"prompt_tokens": 1.5}, "prompt_tokens"),
        ({"completion_tokens": 10**10}, "completion_tokens"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": float("inf")}, "latency_ms"),
        ({"timestamp": "1999-12-31T23:00:00Z"}, "timestamp"),
        ({"timestamp": NOW + 3600}, "timestamp"),
        ({"timestamp": [1]}, "timestamp"),
        ({"cost": "-0.01"}, "cost"),
        ({"cost": "lots"}, "cost"),
        ({"cost": True}, "cost"),
        ({"id": ""}, "id"),
        ({"id": "x" * 201}, "id"),
        ({"model": 42}, "model"),
        ({"provider": "p\n"}, "provider"),
        ({"status": 200}, "status"),
    ],
)
def test_each_invalid_field_is_named(overrides: dict[str, object], field: str) -> None:
    events, rejected = parse_batch([event(1, **{"timestamp": NOW - 5, **overrides})], now=NOW)
    assert events == [] and len(rejected) == 1
    assert rejected[0].field == field and rejected[0].index == 0 and rejected[0].reason


def test_unusable_batches() -> None:
    for batch in ({"id": 1}, "[]", [], [event(i) for i in range(1001)]):
        with pytest.raises(InvalidBatch):
            parse_batch(batch, now=NOW)


def test_window_cover_uses_days_inside_and_hours_at_the_edges() -> None:
    start = datetime(2025, 3, 1, 22, tzinfo=UTC).timestamp()
    end = datetime(2025, 3, 4, 2, tzinfo=UTC).timestamp()
    cover = Window(start=int(start), end=int(end)).cover()
    assert [(b.kind, b.key) for b in cover] == [
        ("h", "2025-03-01T22"), ("h", "2025-03-01T23"), ("d", "2025-03-02"), ("d", "2025-03-03"),
        ("h", "2025-03-04T00"), ("h", "2025-03-04T01"),
    ]  # fmt: skip
    assert sum(b.end - b.start for b in cover) == end - start
    ninety = Window.last_days(90, now=NOW)
    assert len(ninety.cover()) == 90 and all(b.kind == "d" for b in ninety.cover())


def test_resolve_window() -> None:
    w = resolve_window(days=None, start=None, end=None, now=NOW)
    assert (w.end - w.start) // DAY == 7 and w.end % DAY == 0
    f = datetime(2025, 3, 1, 10, 45, tzinfo=UTC)
    r = resolve_window(days=None, start=f, end=f + timedelta(hours=2), now=NOW)
    assert (r.start % HOUR, r.end - r.start) == (0, 3 * HOUR)  # rounded outwards
    for kwargs in (
        {"days": 0, "start": None, "end": None},
        {"days": 401, "start": None, "end": None},
        {"days": 3, "start": f, "end": None},
        {"days": None, "start": None, "end": f},
        {"days": None, "start": f, "end": f - timedelta(hours=1)},
        {"days": None, "start": f - timedelta(days=500), "end": f},
    ):
        with pytest.raises(BadUserInput):
            resolve_window(now=NOW, **kwargs)  # type: ignore[arg-type]


def _history(values: list[int]) -> list[DayFigures]:
    start = date(2025, 3, 1)
    return [DayFigures(start + timedelta(days=i), v, v * 10, v * 100) for i, v in enumerate(values)]


def test_linear_forecast() -> None:
    # No usage yet for 3 days, then a clean line: 10, 12, 14, 16.
    result = linear_forecast(_history([0, 0, 0, 10, 12, 14, 16]), today=date(2025, 3, 8), horizon=3)
    assert result.basis_days == 4 and "least-squares" in result.method
    assert [(p.day.day, p.requests) for p in result.points] == [(8, 18), (9, 20), (10, 22)]
    assert [p.cost for p in result.points] == [1800, 2000, 2200]
    assert result.requests_per_day_trend == pytest.approx(2.0)
    falling = linear_forecast(_history([30, 20, 10]), today=date(2025, 3, 4), horizon=3)
    assert [p.requests for p in falling.points] == [0, 0, 0]  # clamped, never negative
    empty = linear_forecast(_history([0, 0]), today=date(2025, 3, 3), horizon=2)
    assert empty.basis_days == 0 and [p.requests for p in empty.points] == [0, 0]
    single = linear_forecast(_history([0, 7]), today=date(2025, 3, 3), horizon=2)
    assert "mean" in single.method and [p.requests for p in single.points] == [7, 7]
