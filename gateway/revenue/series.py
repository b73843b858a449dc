"""Monthly series (MRR, invoiced revenue), month-over-month growth and the MRR forecast."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from gateway.revenue.facts import InvoiceFact, SubscriptionFact
from gateway.revenue.figures import currencies, mrr_at
from gateway.revenue.money import add, round_cents
from gateway.revenue.months import add_months, last_months, month_close, month_start

FORECAST_METHOD = (
    "Ordinary least-squares line through the month-end MRR of the last `basisMonths` months "
    "(the current month as of now), per currency, extended `months` ahead; never below zero."
)


@dataclass(frozen=True, slots=True)
class Point:
    """One month of a series: rounded cents per currency, plus a count where one applies."""

    month: date
    amounts: dict[str, int]
    count: int = 0


def filled(
    points: Sequence[Point], months: Sequence[date], extra: Iterable[str] = ()
) -> list[Point]:
    """Exactly ``months``, each with every currency seen (zeros where a month had none)."""
    seen = {c for p in points for c in p.amounts} | set(extra)
    by_month = {p.month: p for p in points}
    out = []
    for month in months:
        p = by_month.get(month)
        amounts = {c: (p.amounts.get(c, 0) if p else 0) for c in sorted(seen)}
        out.append(Point(month, amounts, p.count if p else 0))
    return out


def month_dates(as_of: datetime, n: int) -> list[date]:
    return [m.date() for m in last_months(as_of, n)]


def mrr_series(facts: Sequence[SubscriptionFact], as_of: datetime, n: int) -> list[Point]:
    """Month-end MRR of the last ``n`` months (the current one as of ``as_of``)."""
    every = currencies(facts)
    points = []
    for start in last_months(as_of, n):
        amounts = mrr_at(facts, month_close(start, as_of))
        points.append(Point(start.date(), {c: round_cents(amounts.get(c, 0)) for c in every}))
    return points


def revenue_series(invoices: Iterable[InvoiceFact], as_of: datetime, n: int) -> list[Point]:
    """Invoiced revenue (finalized invoices, net of taxes) by issuing month."""
    months = last_months(as_of, n)
    first, end = months[0].date(), add_months(months[-1], 1).date()
    sums: dict[date, dict[str, Fraction]] = {}
    counts: dict[date, int] = {}
    for inv in invoices:
        if inv.status != "finalized" or not (first <= inv.issuing_date < end):
            continue
        month = inv.issuing_date.replace(day=1)
        add(sums.setdefault(month, {}), inv.currency, inv.net_cents)
        counts[month] = counts.get(month, 0) + inv.count
    points = [Point(m, {c: int(v) for c, v in sums[m].items()}, counts[m]) for m in sorted(sums)]
    return filled(points, [m.date() for m in months])


@dataclass(frozen=True, slots=True)
class Growth:
    month: date
    currency: str
    mrr: int
    previous: int
    change: int
    rate: float | None
    """change / previous; None when the previous month had no MRR."""


def growth(series: Sequence[Point]) -> list[list[Growth]]:
    """Month-over-month change of each month after the first, per currency."""
    out = []
    for before, after in itertools.pairwise(series):
        row = []
        for currency in sorted({*before.amounts, *after.amounts}):
            prev, cur = before.amounts.get(currency, 0), after.amounts.get(currency, 0)
            rate = float(Fraction(cur - prev, prev)) if prev else None
            row.append(Growth(after.month, currency, cur, prev, cur - prev, rate))
        out.append(row)
    return out


@dataclass(frozen=True, slots=True)
class Forecast:
    currency: str
    slope: int
    """Fitted change of MRR per month, in cents."""
    points: list[tuple[date, int]]


def fit(values: Sequence[int]) -> tuple[Fraction, Fraction]:
    """Intercept and slope of the least-squares line through (0, v0), (1, v1), ..."""
    n = len(values)
    if n == 0:
        return Fraction(0), Fraction(0)
    mean_x = Fraction(n - 1, 2)
    mean_y = Fraction(sum(values), n)
    var = sum((x - mean_x) ** 2 for x in range(n))
    cov = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    slope = cov / var if var else Fraction(0)
    return mean_y - slope * mean_x, slope


def forecast(series: Sequence[Point], ahead: int) -> list[Forecast]:
    """See :data:`FORECAST_METHOD`; ``series`` is the basis, oldest first."""
    if not series:
        return []
    out = []
    for currency in sorted({c for p in series for c in p.amounts}):
        values = [p.amounts.get(currency, 0) for p in series]
        intercept, slope = fit(values)
        points = []
        for k in range(1, ahead + 1):
            value = intercept + slope * (len(values) - 1 + k)
            month = add_months(month_start(series[-1].month), k).date()
            points.append((month, max(0, round_cents(value))))
        out.append(Forecast(currency, round_cents(slope), points))
    return out
