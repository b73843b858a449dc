"""What one request knows about revenue: facts and monthly series, each fetched once.

Monthly MRR and revenue series come from Lago's analytics endpoints when they can answer
(figures "now", and the Lago plan has analytics), else they are computed from the raw
subscriptions, plans and invoices; the series says which (:class:`RevenueSource`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, TypeVar

from gateway.backends.lago.client import LagoClient
from gateway.backends.lago.loaders import LagoLists
from gateway.backends.lago.models import LagoMonthlyAmount
from gateway.revenue import facts as facts_mod
from gateway.revenue import series
from gateway.revenue.facts import SubscriptionFact
from gateway.revenue.snapshot import currencies
from schema.revenue.series import RevenueSource

T = TypeVar("T")
ANALYTICS_WINDOW = 24
"""Months asked of Lago's analytics at once, so trends, growth and forecast share one call."""


class RevenueData:
    def __init__(self, client: LagoClient, lists: LagoLists) -> None:
        self.client = client
        self.lists = lists
        self._tasks: dict[Any, asyncio.Future[Any]] = {}

    async def _once(self, key: Any, make: Callable[[], Awaitable[T]]) -> T:
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = asyncio.ensure_future(make())
        return await asyncio.shield(task)

    async def facts(self) -> list[SubscriptionFact]:
        async def build() -> list[SubscriptionFact]:
            subs, plans = await asyncio.gather(
                self.lists.subscriptions(), self.lists.plans_by_code()
            )
            return facts_mod.subscription_facts(subs, plans)

        return await self._once("facts", build)

    async def plan_codes(self) -> list[str]:
        return [p.code for p in await self.lists.plans()]

    # -- monthly series -------------------------------------------------------------------------
    async def series(
        self, as_of: datetime, months: int, *, analytics: bool, revenue: bool = False
    ) -> tuple[RevenueSource, list[series.Point], list[series.Point]]:
        """(source, MRR series, revenue series or []) for the ``months`` ending at ``as_of``."""
        dates = series.month_dates(as_of, months)
        if analytics:
            found = await self._analytics(max(months, ANALYTICS_WINDOW), revenue)
            if found is not None:
                mrr_rows, revenue_rows = found
                return (
                    RevenueSource.ANALYTICS,
                    series.filled(_points(mrr_rows), dates),
                    series.filled(_points(revenue_rows), dates) if revenue else [],
                )
        facts = await self.facts()
        mrr = series.mrr_series(facts, as_of, months)
        if not revenue:
            return RevenueSource.COMPUTED, mrr, []
        invoices = await self._invoices(dates[0])
        computed = series.revenue_series(facts_mod.invoice_facts(invoices), as_of, months)
        return RevenueSource.COMPUTED, mrr, series.filled(computed, dates, currencies(facts))

    async def _analytics(
        self, months: int, revenue: bool
    ) -> tuple[list[LagoMonthlyAmount], list[LagoMonthlyAmount]] | None:
        """Lago's rows, or None when any needed endpoint is unavailable (403)."""
        mrr_call = self._once(("mrr", months), lambda: self.client.mrr(months=months))
        if not revenue:
            rows = await mrr_call
            return None if rows is None else (rows, [])
        gross_call = self._once(("gross", months), lambda: self.client.gross_revenue(months=months))
        mrr_rows, gross_rows = await asyncio.gather(mrr_call, gross_call)
        if mrr_rows is None or gross_rows is None:
            return None
        return mrr_rows, gross_rows

    async def _invoices(self, since: date) -> list[Any]:
        return await self._once(
            ("invoices", since),
            lambda: self.client.invoices(issuing_date_from=since, statuses=["finalized"]),
        )


def _points(rows: list[LagoMonthlyAmount]) -> list[series.Point]:
    """Analytics rows (one per month and currency) as one point per month."""
    amounts: dict[date, dict[str, int]] = {}
    counts: dict[date, int] = {}
    for row in rows:
        month = amounts.setdefault(row.month, {})
        month[row.currency] = month.get(row.currency, 0) + row.amount_cents
        counts[row.month] = counts.get(row.month, 0) + (row.invoices_count or 0)
    return [series.Point(m, amounts[m], counts[m]) for m in sorted(amounts)]
