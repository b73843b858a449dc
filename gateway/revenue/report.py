"""Revenue figures of one snapshot at one instant, each computed once per snapshot version.

Monthly MRR and revenue series come from Lago's analytics when they can answer (figures
"now", and the Lago plan has analytics), else they are computed from the snapshot's facts
and invoiced months; the series says which (``source``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from gateway.backends.lago.models import LagoMonthlyAmount
from gateway.revenue import churn, figures, series
from gateway.revenue.snapshot import RevenueSnapshot

T = TypeVar("T")
ANALYTICS = "analytics"
COMPUTED = "computed"


class Report:
    def __init__(self, snapshot: RevenueSnapshot, at: datetime, *, now: bool) -> None:
        self.snapshot = snapshot
        self.at = at
        self.now = now
        """Figures "now" (no asOf given): Lago's analytics may answer the series."""

    def _memo(self, name: str, compute: Callable[[], T], *args: Any) -> T:
        return self.snapshot.memo((name, self.at, *args), compute)

    def overview(self) -> figures.Overview:
        return self._memo("overview", lambda: figures.overview(self.snapshot.facts(), self.at))

    def by_plan(self) -> list[figures.Breakdown]:
        facts, codes = self.snapshot.facts(), self.snapshot.plan_codes()
        return self._memo("by_plan", lambda: figures.by_plan(facts, self.at, codes))

    def by_customer(self, currency: str | None) -> list[figures.Breakdown]:
        facts = self.snapshot.facts()
        return self._memo(
            "by_customer", lambda: figures.by_customer(facts, self.at, currency), currency
        )

    def by_customer_positions(self, currency: str | None) -> dict[str, int]:
        """Customer id -> index in :meth:`by_customer` (a cursor found at once)."""
        rows = self.by_customer(currency)
        return self._memo(
            "by_customer_positions", lambda: {r.key: i for i, r in enumerate(rows)}, currency
        )

    def churn(self, months: int) -> list[churn.ChurnMonth]:
        facts = self.snapshot.facts()
        return self._memo("churn", lambda: churn.churn_by_month(facts, self.at, months), months)

    def lifetime_value(self, months: int) -> list[churn.LifetimeValue]:
        facts = self.snapshot.facts()
        return self._memo("ltv", lambda: churn.lifetime_value(facts, self.at, months), months)

    def needs_invoices(self, revenue: bool) -> bool:
        """Whether :meth:`series` with ``revenue`` must sum invoices (not in the snapshot yet)."""
        analytics = self.now and self.snapshot.analytics is not None
        return revenue and not analytics and self.snapshot.invoiced is None

    def series(
        self, months: int, *, revenue: bool = False
    ) -> tuple[str, list[series.Point], list[series.Point]]:
        """(source, MRR series, revenue series or []) for the ``months`` ending at ``at``."""
        return self._memo("series", lambda: self._series(months, revenue), months, revenue)

    def _series(
        self, months: int, revenue: bool
    ) -> tuple[str, list[series.Point], list[series.Point]]:
        dates = series.month_dates(self.at, months)
        analytics = self.snapshot.analytics
        if self.now and analytics is not None:
            return (
                ANALYTICS,
                series.filled(_points(analytics.mrr), dates),
                series.filled(_points(analytics.gross), dates) if revenue else [],
            )
        facts = self.snapshot.facts()
        mrr = series.mrr_series(facts, self.at, months)
        if not revenue:
            return COMPUTED, mrr, []
        invoiced = self.snapshot.invoiced
        rows = invoiced.facts() if invoiced is not None else []
        computed = series.revenue_series(rows, self.at, months)
        return COMPUTED, mrr, series.filled(computed, dates, figures.currencies(facts))


def warm(snapshot: RevenueSnapshot) -> None:
    """Compute what a dashboard asks first, at the snapshot's own instant: run in a worker
    thread on a :meth:`~RevenueSnapshot.frozen_copy`, so requests find it ready."""
    report = Report(snapshot, snapshot.as_of, now=True)
    report.overview()
    report.by_plan()
    report.by_customer(None)
    report.churn(12)
    report.series(12, revenue=not report.needs_invoices(True))
    report.series(13)
    report.series(6)
    report.lifetime_value(6)


def _points(rows: list[LagoMonthlyAmount]) -> list[series.Point]:
    """Analytics rows (one per month and currency) as one point per month."""
    amounts: dict[date, dict[str, int]] = {}
    counts: dict[date, int] = {}
    for row in rows:
        month = amounts.setdefault(row.month, {})
        month[row.currency] = month.get(row.currency, 0) + row.amount_cents
        counts[row.month] = counts.get(row.month, 0) + (row.invoices_count or 0)
    return [series.Point(m, amounts[m], counts[m]) for m in sorted(amounts)]
