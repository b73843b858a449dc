"""GraphQL types of the computed revenue figures (per currency, integer cents)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from gateway.revenue import churn as churn_math
from gateway.revenue import figures
from gateway.revenue.money import Money as MoneyValue
from schema.mirror import mirror
from schema.revenue.types import BillingCustomer, BillingPlan, Money


def _money(currency: str, cents: int | None) -> Money | None:
    return None if cents is None else Money(amount_cents=cents, currency=currency)


@strawberry.type(description="Figures of one currency at asOf.")
class RevenueCurrency:
    currency: str
    mrr: Money
    arr: Money = strawberry.field(description="12 * the exact MRR, rounded once.")
    arpu: Money | None = strawberry.field(
        description="MRR / active customers in this currency; null without customers."
    )
    active_subscriptions: int
    active_customers: int

    @classmethod
    def of(cls, row: figures.CurrencyFigures) -> RevenueCurrency:
        c = row.currency
        return cls(
            currency=c,
            mrr=Money(amount_cents=row.mrr, currency=c),
            arr=Money(amount_cents=row.arr, currency=c),
            arpu=_money(c, row.arpu),
            active_subscriptions=row.active_subscriptions,
            active_customers=row.active_customers,
        )


@strawberry.type(description="Headline figures at asOf; amounts per currency, never summed.")
class RevenueOverview:
    as_of: datetime
    active_subscriptions: int
    active_customers: int = strawberry.field(
        description="Customers with at least one active subscription."
    )
    currencies: list[RevenueCurrency]

    @strawberry.field(description="MRR per currency.")
    def mrr(self) -> list[Money]:
        return [c.mrr for c in self.currencies]

    @strawberry.field(description="ARR per currency (12 * MRR).")
    def arr(self) -> list[Money]:
        return [c.arr for c in self.currencies]

    @strawberry.field(description="ARPU per currency (MRR / active customers).")
    def arpu(self) -> list[Money]:
        return [c.arpu for c in self.currencies if c.arpu is not None]

    @classmethod
    def of(cls, o: figures.Overview) -> RevenueOverview:
        return mirror(cls, o, currencies=[RevenueCurrency.of(r) for r in o.by_currency])


@strawberry.type(description="One plan's share of MRR at asOf.")
class RevenuePlan:
    plan_code: str
    mrr: list[Money]
    active_subscriptions: int
    active_customers: int

    plan: BillingPlan | None = strawberry.field(
        default=None, description="Null when Lago no longer knows the plan."
    )

    @classmethod
    def of(cls, row: figures.Breakdown, plan: BillingPlan | None = None) -> RevenuePlan:
        return cls(
            plan_code=row.key,
            mrr=Money.many(row.mrr),
            active_subscriptions=row.active_subscriptions,
            active_customers=row.active_customers,
            plan=plan,
        )


@strawberry.type(description="One customer's MRR at asOf.")
class RevenueCustomer:
    customer_id: str = strawberry.field(description="The customer's external id.")
    mrr: list[Money]
    active_subscriptions: int

    customer: BillingCustomer | None = strawberry.field(
        default=None, description="Null when Lago no longer knows the customer."
    )

    @classmethod
    def of(cls, row: figures.Breakdown, customer: BillingCustomer | None = None) -> RevenueCustomer:
        return cls(
            customer_id=row.key,
            mrr=Money.many(row.mrr),
            active_subscriptions=row.active_subscriptions,
            customer=customer,
        )


@strawberry.type
class RevenueChurnMonth:
    month: date
    active_at_start: int = strawberry.field(description="Subscriptions active on the 1st.")
    churned: int = strawberry.field(description="Of those, terminated within the month.")
    rate: float | None = strawberry.field(description="churned / activeAtStart.")
    mrr_at_start: list[Money]
    churned_mrr: list[Money]

    @classmethod
    def of(cls, m: churn_math.ChurnMonth) -> RevenueChurnMonth:
        return mirror(
            cls, m, mrr_at_start=Money.many(m.mrr_at_start), churned_mrr=Money.many(m.churned_mrr)
        )


@strawberry.type
class RevenueChurn:
    months: list[RevenueChurnMonth]
    churned: int = strawberry.field(description="Churned subscriptions over the months.")
    rate: float | None = strawberry.field(
        description="Pooled over the months: Σ churned / Σ activeAtStart."
    )
    churned_mrr: list[Money]

    @classmethod
    def of(cls, months: list[churn_math.ChurnMonth]) -> RevenueChurn:
        churned = sum(m.churned for m in months)
        at_start = sum(m.active_at_start for m in months)
        lost: dict[str, int] = {}
        for m in months:
            for money in m.churned_mrr:
                lost[money.currency] = lost.get(money.currency, 0) + money.amount_cents
        return cls(
            months=[RevenueChurnMonth.of(m) for m in months],
            churned=churned,
            rate=churned / at_start if at_start else None,
            churned_mrr=Money.many([MoneyValue(c, v) for c, v in sorted(lost.items())]),
        )


@strawberry.type
class RevenueLifetimeValue:
    currency: str
    value: Money | None = strawberry.field(description=churn_math.LTV_FORMULA)
    arpu: Money | None
    churn_rate: float | None = strawberry.field(
        description="Monthly subscription churn, pooled over basisMonths complete months."
    )
    active_customers: int
    basis_months: int

    @classmethod
    def of(cls, v: churn_math.LifetimeValue, basis: int) -> RevenueLifetimeValue:
        return mirror(
            cls,
            v,
            value=_money(v.currency, v.value),
            arpu=_money(v.currency, v.arpu),
            basis_months=basis,
        )
