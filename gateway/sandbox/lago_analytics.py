"""The Lago sandbox's analytics (``/analytics/mrr``, ``/analytics/gross_revenue``).

Written on its own, from the seeded wire objects: tests compare the gateway's computed
figures with these, so they must not share code with :mod:`gateway.revenue`. MRR here is the
month-end MRR of running subscriptions (Lago's own is invoice-based; the sandbox keeps one
definition so both of the gateway's sources agree): weekly * 52/12, monthly, quarterly / 3,
semiannual / 6, yearly / 12, summed exactly per currency, rounded once (halves up).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from gateway.sandbox.lago_seed import LagoData, add_months

PER_MONTH = {
    "weekly": Fraction(52, 12),
    "monthly": Fraction(1),
    "quarterly": Fraction(1, 3),
    "semiannual": Fraction(1, 6),
    "yearly": Fraction(1, 12),
}


def _when(raw: str | None) -> datetime | None:
    return None if raw is None else datetime.fromisoformat(raw)


def month_starts(now: datetime, months: int) -> list[datetime]:
    current = datetime(now.year, now.month, 1, tzinfo=UTC)
    return [add_months(current, -k) for k in range(months - 1, -1, -1)]


def _stamp(month: datetime) -> str:
    return month.strftime("%Y-%m-%dT00:00:00.000Z")


def subscription_currency(data: LagoData, sub: dict[str, Any]) -> str:
    return sub.get("plan_amount_currency") or data.by_plan[sub["plan_code"]]["amount_currency"]


def mrr_rows(data: LagoData, months: int, currency: str | None) -> list[dict[str, Any]]:
    running = []
    for sub in data.subscriptions:
        plan = data.by_plan[sub["plan_code"]]
        started, ended = _when(sub["started_at"]), _when(sub["terminated_at"])
        if sub["status"] in ("active", "terminated") and started is not None:
            amount = sub.get("plan_amount_cents")
            amount = plan["amount_cents"] if amount is None else amount
            monthly = amount * PER_MONTH[plan["interval"]]
            running.append((started, ended, subscription_currency(data, sub), monthly))
    currencies = sorted({subscription_currency(data, s) for s in data.subscriptions})
    rows = []
    for start in month_starts(data.now, months):
        at = min(add_months(start, 1) - timedelta(seconds=1), data.now)
        sums = dict.fromkeys(currencies, Fraction(0))
        for started, ended, cur, monthly in running:
            if started <= at and (ended is None or ended > at):
                sums[cur] += monthly
        for cur in currencies:
            if currency in (None, cur):
                amount = math.floor(sums[cur] + Fraction(1, 2))
                rows.append({"month": _stamp(start), "amount_cents": amount, "currency": cur})
    return rows


def gross_revenue_rows(
    data: LagoData, months: int, currency: str | None, customer: str | None
) -> list[dict[str, Any]]:
    """Finalized invoices by issuing month: total minus taxes, and how many."""
    starts = month_starts(data.now, months)
    keys = {s.strftime("%Y-%m"): s for s in starts}
    currencies = sorted(
        {subscription_currency(data, s) for s in data.subscriptions}
        | {i["currency"] for i in data.invoices}
    )
    sums = {(k, c): [0, 0] for k in keys for c in currencies}
    for inv in data.invoices:
        key = (inv["issuing_date"][:7], inv["currency"])
        if inv["status"] != "finalized" or key not in sums:
            continue
        if customer is not None and inv["customer"]["external_id"] != customer:
            continue
        sums[key][0] += inv["total_amount_cents"] - inv["taxes_amount_cents"]
        sums[key][1] += 1
    return [
        {"month": _stamp(start), "amount_cents": sums[(k, c)][0], "currency": c,
         "invoices_count": sums[(k, c)][1]}
        for k, start in keys.items()
        for c in currencies
        if currency in (None, c)
    ]  # fmt: skip
