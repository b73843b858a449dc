"""Building the revenue snapshot from Lago: every subscription, plan and customer, once.

This is the only place that lists whole Lago collections, and it runs in the background
(at start, then every ``LAGO_SNAPSHOT_SECONDS``, on one replica at a time), never for a
request. Invoiced revenue by month is built only when a figure needs it (Lago's analytics
answer for "now" when the Lago plan has them).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime

from gateway.backends.lago.client import LagoClient
from gateway.backends.lago.models import LagoSubscription
from gateway.errors import BackendError
from gateway.revenue.facts import invoice_fact
from gateway.revenue.months import add_months, month_start
from gateway.revenue.snapshot import Analytics, InvoicedMonths, RevenueSnapshot, SubscriptionRecord

log = logging.getLogger(__name__)

ANALYTICS_MONTHS = 60
"""As many months as any figure may ask for (``months`` is at most 60)."""
INVOICE_MONTHS = 61


def record(sub: LagoSubscription) -> SubscriptionRecord:
    return SubscriptionRecord(
        external_id=sub.external_id,
        customer_id=sub.external_customer_id,
        plan_code=sub.plan_code,
        status=sub.status,
        started_at=sub.started_at,
        terminated_at=sub.terminated_at,
        amount_cents=sub.plan_amount_cents,
        currency=sub.plan_amount_currency,
    )


async def build_snapshot(
    lago: LagoClient, *, now: datetime, cursor: int, invoices: bool = False
) -> RevenueSnapshot:
    subs, plans, customers, analytics = await asyncio.gather(
        lago.subscriptions(), lago.plans(), lago.customers(), fetch_analytics(lago)
    )
    invoiced = await build_invoiced(lago, now) if invoices or analytics is None else None
    snapshot = RevenueSnapshot(
        subscriptions={s.external_id: record(s) for s in subs},
        plans={p.code: p for p in plans},
        customers={c.external_id: c for c in customers},
        analytics=analytics,
        invoiced=invoiced,
        built_at=now,
        cursor=cursor,
    )
    log.info("revenue snapshot built: %s", snapshot.size())
    return snapshot


async def fetch_analytics(lago: LagoClient) -> Analytics | None:
    """Lago's analytics rows; None when the Lago plan lacks them (403) or they fail: the
    figures are then computed from the raw objects (and say so: ``source: COMPUTED``)."""
    try:
        mrr, gross = await asyncio.gather(
            lago.mrr(months=ANALYTICS_MONTHS), lago.gross_revenue(months=ANALYTICS_MONTHS)
        )
    except BackendError as exc:
        log.warning("lago analytics unavailable (%s); figures will be computed", exc)
        return None
    return None if mrr is None or gross is None else Analytics(mrr=mrr, gross=gross)


async def build_invoiced(lago: LagoClient, now: datetime) -> InvoicedMonths:
    """Finalized invoices of the last 61 months, summed per month except the last two,
    which stay per invoice so webhooks (a void, a late finalization) can still change them."""
    since = recent_since(now)
    first = add_months(month_start(now), -(INVOICE_MONTHS - 1)).date()
    invoiced = InvoicedMonths(since=since)
    for inv in await lago.invoices(issuing_date_from=first, statuses=["finalized"]):
        invoiced.add(inv.lago_id, invoice_fact(inv))
    return invoiced


def recent_since(now: datetime) -> date:
    return add_months(month_start(now), -1).date()
