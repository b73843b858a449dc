"""Subscription churn by month and the customer lifetime value derived from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from gateway.revenue.facts import SubscriptionFact
from gateway.revenue.figures import currencies, monthly_amounts, mrr_at, overview
from gateway.revenue.money import Money, round_cents, rounded
from gateway.revenue.months import add_months, last_months, month_start, utc

CHURN_DEFINITION = (
    "A month's churn counts the subscriptions active at the month's first instant that are "
    "no longer active at the next month's first instant (or at asOf, in the current month); "
    "rate = churned / active at start (null when none were active); churned MRR is their "
    "normalised MRR."
)
LTV_FORMULA = (
    "Lifetime value = ARPU / monthly churn rate, per currency. ARPU = MRR / active customers "
    "at asOf; the churn rate is pooled over the last `months` complete months: subscriptions "
    "churned / subscriptions active at the months' starts (both summed over the months), in "
    "that currency. Null when nothing churned (an unbounded lifetime)."
)


@dataclass(frozen=True, slots=True)
class ChurnMonth:
    month: date
    active_at_start: int
    churned: int
    mrr_at_start: list[Money]
    churned_mrr: list[Money]

    @property
    def rate(self) -> float | None:
        return self.churned / self.active_at_start if self.active_at_start else None


def _month_churn(
    facts: Sequence[SubscriptionFact], start: datetime, end: datetime
) -> tuple[list[SubscriptionFact], list[SubscriptionFact]]:
    """(active at ``start``, those of them no longer active at ``end``)."""
    at_start = [f for f in facts if f.active_at(start)]
    return at_start, [f for f in at_start if not f.active_at(end)]


def churn_by_month(facts: Sequence[SubscriptionFact], as_of: datetime, n: int) -> list[ChurnMonth]:
    """The last ``n`` months, the current one up to ``as_of``; oldest first."""
    as_of = utc(as_of)
    every = currencies(facts)
    out = []
    for start in last_months(as_of, n):
        end = min(add_months(start, 1), as_of)
        at_start, churned = _month_churn(facts, start, end)
        out.append(
            ChurnMonth(
                month=start.date(),
                active_at_start=len(at_start),
                churned=len(churned),
                mrr_at_start=rounded(monthly_amounts(at_start), every),
                churned_mrr=rounded(monthly_amounts(churned), every),
            )
        )
    return out


def pooled_churn_rate(
    facts: Sequence[SubscriptionFact], as_of: datetime, months: int, currency: str | None = None
) -> Fraction | None:
    """Σ churned / Σ active at start over the ``months`` complete months before ``as_of``'s."""
    if currency is not None:
        facts = [f for f in facts if f.currency == currency]
    current = month_start(utc(as_of))
    churned = at_start = 0
    for k in range(months, 0, -1):
        start = add_months(current, -k)
        running, lost = _month_churn(facts, start, add_months(start, 1))
        at_start += len(running)
        churned += len(lost)
    return Fraction(churned, at_start) if at_start else None


@dataclass(frozen=True, slots=True)
class LifetimeValue:
    currency: str
    arpu: int | None
    churn_rate: float | None
    value: int | None
    active_customers: int


def lifetime_value(
    facts: Sequence[SubscriptionFact], as_of: datetime, months: int
) -> list[LifetimeValue]:
    """See :data:`LTV_FORMULA`."""
    out = []
    exact = mrr_at(facts, utc(as_of))
    for row in overview(facts, as_of).by_currency:
        rate = pooled_churn_rate(facts, as_of, months, row.currency)
        value = None
        if rate and row.active_customers:
            # From the exact ARPU, not the rounded one: one rounding per figure.
            value = round_cents(exact[row.currency] / row.active_customers / rate)
        out.append(
            LifetimeValue(
                currency=row.currency,
                arpu=row.arpu,
                churn_rate=float(rate) if rate is not None else None,
                value=value,
                active_customers=row.active_customers,
            )
        )
    return out
