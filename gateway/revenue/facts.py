"""Billing facts: what the figures need from subscriptions, plans and invoices.

:class:`~gateway.revenue.snapshot.RevenueSnapshot` turns Lago's subscriptions and plans into
these small records; the rest of the package only sees them, so it can be tested without Lago.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.backends.lago.models import LagoInvoice


class Interval(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    YEARLY = "yearly"


MONTHLY_FACTOR: dict[Interval, Fraction] = {
    Interval.WEEKLY: Fraction(52, 12),  # 52 weeks a year over 12 months: ~4.33 weeks a month
    Interval.MONTHLY: Fraction(1),
    Interval.QUARTERLY: Fraction(1, 3),
    Interval.SEMIANNUAL: Fraction(1, 6),
    Interval.YEARLY: Fraction(1, 12),
}
TWELFTHS: dict[Interval, int] = {
    interval: int(factor * 12) for interval, factor in MONTHLY_FACTOR.items()
}
"""Every factor is a whole number of twelfths (52/12, 12/12, 4/12, 2/12, 1/12): monthly
amounts are summed exactly as integers of twelfths of a cent, with no fraction per item."""
MRR_NORMALISATION = (
    "MRR normalises each subscription's price to one month: weekly * 52 / 12, monthly * 1, "
    "quarterly / 3, semiannual / 6, yearly / 12; the exact amounts are summed per currency "
    "and rounded once to the nearest cent. A subscription counts while it is active: from "
    "started_at until terminated_at (pending and canceled ones never count); its price is "
    "the subscription's plan_amount_cents (overrides included), else the plan's amount."
)
# Subscriptions in these states have (or had) a start; pending/canceled never ran.
RAN = frozenset({"active", "terminated"})


def monthly_amount(amount_cents: int, interval: Interval) -> Fraction:
    return amount_cents * MONTHLY_FACTOR[interval]


@dataclass(frozen=True, slots=True)
class SubscriptionTerms:
    """What Lago says of a subscription that the figures take as it is."""

    external_id: str
    customer_id: str
    plan_code: str
    status: str
    started_at: datetime | None
    terminated_at: datetime | None


@dataclass(frozen=True, slots=True)
class SubscriptionFact(SubscriptionTerms):
    """A subscription with its price resolved against its plan."""

    interval: Interval
    amount_cents: int
    currency: str

    @property
    def monthly(self) -> Fraction:
        return monthly_amount(self.amount_cents, self.interval)

    def active_at(self, t: datetime) -> bool:
        """Active at instant ``t``: started at or before it, not terminated by then."""
        if self.status not in RAN or self.started_at is None or self.started_at > t:
            return False
        return self.terminated_at is None or self.terminated_at > t


@dataclass(frozen=True, slots=True)
class InvoiceFact:
    issuing_date: date
    status: str
    currency: str
    net_cents: int
    """Total minus taxes: after discounts, before taxes (Lago's gross revenue)."""
    count: int = 1
    """Invoices this fact stands for (a month's sum in the snapshot stands for many)."""


def invoice_fact(inv: LagoInvoice) -> InvoiceFact:
    return InvoiceFact(
        issuing_date=inv.issuing_date,
        status=inv.status,
        currency=inv.currency,
        net_cents=inv.total_amount_cents - inv.taxes_amount_cents,
    )
