"""Figures at one instant: overview, by plan and by customer (pure functions over facts)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from gateway.revenue.facts import TWELFTHS, SubscriptionFact
from gateway.revenue.money import Amounts, Money, round_cents, round_twelfths


def active(facts: Iterable[SubscriptionFact], t: datetime) -> list[SubscriptionFact]:
    return [f for f in facts if f.active_at(t)]


def monthly_twelfths(facts: Iterable[SubscriptionFact]) -> dict[str, int]:
    """The exact sum of these subscriptions' monthly amounts, per currency, in twelfths of a
    cent (integers: this runs over every subscription of a large Lago)."""
    sums: dict[str, int] = {}
    for fact in facts:
        sums[fact.currency] = (
            sums.get(fact.currency, 0) + fact.amount_cents * TWELFTHS[fact.interval]
        )
    return sums


def monthly_amounts(facts: Iterable[SubscriptionFact]) -> Amounts:
    """The exact sum of these subscriptions' monthly amounts, per currency."""
    return {c: Fraction(v, 12) for c, v in monthly_twelfths(facts).items()}


def mrr_at(facts: Iterable[SubscriptionFact], t: datetime) -> Amounts:
    """Exact MRR per currency at instant ``t``."""
    return monthly_amounts(active(facts, t))


def currencies(facts: Iterable[SubscriptionFact]) -> set[str]:
    """Every currency a subscription is billed in (so zero rows are reported too)."""
    return {f.currency for f in facts}


@dataclass(frozen=True, slots=True)
class CurrencyFigures:
    currency: str
    mrr: int
    arr: int
    arpu: int | None
    active_subscriptions: int
    active_customers: int


@dataclass(frozen=True, slots=True)
class Overview:
    as_of: datetime
    active_subscriptions: int
    active_customers: int
    by_currency: list[CurrencyFigures]


def overview(facts: Sequence[SubscriptionFact], as_of: datetime) -> Overview:
    """MRR, ARR (12 * the exact MRR), ARPU (MRR / active customers) per currency."""
    running = active(facts, as_of)
    mrr = monthly_amounts(running)
    rows = []
    for currency in sorted(currencies(facts)):
        subs = [f for f in running if f.currency == currency]
        customers = len({f.customer_id for f in subs})
        exact = mrr.get(currency, Fraction(0))
        rows.append(
            CurrencyFigures(
                currency=currency,
                mrr=round_cents(exact),
                arr=round_cents(exact * 12),
                arpu=round_cents(exact / customers) if customers else None,
                active_subscriptions=len(subs),
                active_customers=customers,
            )
        )
    return Overview(
        as_of=as_of,
        active_subscriptions=len(running),
        active_customers=len({f.customer_id for f in running}),
        by_currency=rows,
    )


@dataclass(slots=True)
class Breakdown:
    """MRR of one plan or one customer at an instant."""

    key: str
    mrr: list[Money] = field(default_factory=list)
    active_subscriptions: int = 0
    active_customers: int = 0

    @property
    def rank(self) -> int:
        """The largest per-currency MRR: amounts in different currencies are not added."""
        return max((m.amount_cents for m in self.mrr), default=0)


def _breakdown(
    facts: Sequence[SubscriptionFact], as_of: datetime, key: str, keys: Iterable[str] = ()
) -> list[Breakdown]:
    groups: dict[str, list[SubscriptionFact]] = {k: [] for k in keys}
    for fact in active(facts, as_of):
        groups.setdefault(getattr(fact, key), []).append(fact)
    rows = []
    for name, subs in groups.items():
        sums = monthly_twelfths(subs)
        rows.append(
            Breakdown(
                key=name,
                mrr=[Money(c, round_twelfths(sums[c])) for c in sorted(sums)],
                active_subscriptions=len(subs),
                active_customers=len({f.customer_id for f in subs}),
            )
        )
    return rows


def ranked(rows: list[Breakdown], currency: str | None = None) -> list[Breakdown]:
    """Highest MRR first (ties by key); with ``currency``, only that currency's amounts."""
    if currency is not None:
        rows = [
            Breakdown(r.key, [m for m in r.mrr if m.currency == currency], r.active_subscriptions,
                      r.active_customers)
            for r in rows
            if any(m.currency == currency for m in r.mrr)
        ]  # fmt: skip
    return sorted(rows, key=lambda r: (-r.rank, r.key))


def by_plan(
    facts: Sequence[SubscriptionFact], as_of: datetime, plan_codes: Iterable[str] = ()
) -> list[Breakdown]:
    """Every plan in ``plan_codes`` (zero rows included) and every plan with active
    subscriptions, highest MRR first."""
    return ranked(_breakdown(facts, as_of, "plan_code", plan_codes))


def by_customer(
    facts: Sequence[SubscriptionFact], as_of: datetime, currency: str | None = None
) -> list[Breakdown]:
    """Customers with at least one active subscription, highest MRR first."""
    return ranked(_breakdown(facts, as_of, "customer_id"), currency)
