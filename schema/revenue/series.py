"""GraphQL types of the monthly revenue series: trends, growth and the MRR forecast."""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry

from gateway.revenue import series
from schema.revenue.types import Money


@strawberry.enum(description="Where a monthly series came from.")
class RevenueSource(Enum):
    ANALYTICS = "analytics"
    """Lago's analytics endpoints."""
    COMPUTED = "computed"
    """Computed by the gateway from subscriptions, plans and invoices (Lago's analytics are
    a premium feature, and cannot answer for a past asOf)."""


def _amounts(point: series.Point) -> list[Money]:
    return [Money(amount_cents=v, currency=c) for c, v in sorted(point.amounts.items())]


@strawberry.type
class RevenueTrendMonth:
    month: date = strawberry.field(description="The month's first day.")
    mrr: list[Money] = strawberry.field(description="Month-end MRR per currency.")
    revenue: list[Money] = strawberry.field(
        description="Finalized invoices issued in the month, total minus taxes, per currency."
    )
    invoices: int = strawberry.field(description="How many finalized invoices that was.")


@strawberry.type
class RevenueTrends:
    source: RevenueSource
    months: list[RevenueTrendMonth]

    @classmethod
    def of(
        cls, source: RevenueSource, mrr: list[series.Point], revenue: list[series.Point]
    ) -> RevenueTrends:
        return cls(
            source=source,
            months=[
                RevenueTrendMonth(
                    month=m.month, mrr=_amounts(m), revenue=_amounts(r), invoices=r.count
                )
                for m, r in zip(mrr, revenue, strict=True)
            ],
        )


@strawberry.type
class RevenueCurrencyGrowth:
    currency: str
    mrr: Money
    previous: Money = strawberry.field(description="The previous month's MRR.")
    change: Money = strawberry.field(description="mrr - previous (may be negative).")
    rate: float | None = strawberry.field(description="change / previous; null from zero.")


@strawberry.type
class RevenueGrowthMonth:
    month: date
    currencies: list[RevenueCurrencyGrowth]


@strawberry.type
class RevenueGrowth:
    source: RevenueSource
    months: list[RevenueGrowthMonth]

    @classmethod
    def of(cls, source: RevenueSource, rows: list[list[series.Growth]]) -> RevenueGrowth:
        def m(c: str, v: int) -> Money:
            return Money(amount_cents=v, currency=c)

        months = [
            RevenueGrowthMonth(
                month=row[0].month,
                currencies=[
                    RevenueCurrencyGrowth(
                        currency=g.currency,
                        mrr=m(g.currency, g.mrr),
                        previous=m(g.currency, g.previous),
                        change=m(g.currency, g.change),
                        rate=g.rate,
                    )
                    for g in row
                ],
            )
            for row in rows
            if row
        ]
        return cls(source=source, months=months)


@strawberry.type
class RevenueForecastPoint:
    month: date
    mrr: Money


@strawberry.type
class RevenueCurrencyForecast:
    currency: str
    slope: Money = strawberry.field(description="Fitted change of MRR per month.")
    points: list[RevenueForecastPoint]


@strawberry.type(description=series.FORECAST_METHOD)
class RevenueForecast:
    method: str
    source: RevenueSource
    basis_months: int
    currencies: list[RevenueCurrencyForecast]

    @classmethod
    def of(cls, source: RevenueSource, basis: int, fc: list[series.Forecast]) -> RevenueForecast:
        return cls(
            method=series.FORECAST_METHOD,
            source=source,
            basis_months=basis,
            currencies=[
                RevenueCurrencyForecast(
                    currency=f.currency,
                    slope=Money(amount_cents=f.slope, currency=f.currency),
                    points=[
                        RevenueForecastPoint(
                            month=month, mrr=Money(amount_cents=v, currency=f.currency)
                        )
                        for month, v in f.points
                    ],
                )
                for f in fc
            ],
        )
