"""Usage forecast: an ordinary least-squares linear trend over recent daily totals.

Only completed UTC days are used (today is partial), starting at the first day with usage in
the look-back window, so a gateway installed last week is not dragged down by weeks of
"zero" before it existed. Days without usage after that are real zeros. Projections are
clamped at zero. With fewer than two days of data the method degrades to the mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: date
    requests: int
    tokens: int
    cost: int
    """Femto-units."""


@dataclass(frozen=True, slots=True)
class Forecast:
    method: str
    basis_days: int
    """Completed days the trend was fitted on."""
    points: list[DayFigures]
    requests_per_day_trend: float
    """Slope: change in daily requests per day."""


def _fit(ys: Sequence[float]) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line through (i, ys[i])."""
    n = len(ys)
    if n == 1:
        return ys[0], 0.0
    mean_x = (n - 1) / 2
    mean_y = sum(ys) / n
    sxx = sum((i - mean_x) ** 2 for i in range(n))
    sxy = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(ys))
    slope = sxy / sxx
    return mean_y - slope * mean_x, slope


def linear_forecast(history: Sequence[DayFigures], *, today: date, horizon: int) -> Forecast:
    """``history``: completed days, oldest first, ending yesterday."""
    first = next((i for i, d in enumerate(history) if d.requests), None)
    basis = list(history[first:]) if first is not None else []
    future = [today + timedelta(days=i) for i in range(horizon)]
    if not basis:
        points = [DayFigures(d, 0, 0, 0) for d in future]
        return Forecast("no usage in the look-back window: zero", 0, points, 0.0)
    n = len(basis)
    if n < 2:
        method = "mean of 1 completed day (too little data for a trend)"
    else:
        method = f"least-squares linear trend over the last {n} completed days (UTC)"
    fits = [
        _fit([float(getattr(d, name)) for d in basis]) for name in ("requests", "tokens", "cost")
    ]

    def at(fit: tuple[float, float], x: int) -> int:
        return max(0, round(fit[0] + fit[1] * x))

    points = [
        DayFigures(day, *(at(f, n + i) for f in fits))  # type: ignore[arg-type]
        for i, day in enumerate(future)
    ]
    return Forecast(method, n, points, fits[0][1])
