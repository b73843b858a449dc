"""GraphQL types of the revenue domain: money, and Lago's customers, plans, subscriptions and
invoices (nested ``customer`` and ``plan`` come through the request's loaders)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum

import strawberry

from gateway.context import Info
from gateway.revenue.facts import Interval
from gateway.revenue.loaders import CustomerLoader, PlanLoader
from gateway.revenue.models import LagoCustomer, LagoInvoice, LagoPlan, LagoSubscription
from gateway.revenue.money import Money as MoneyValue
from gateway.revenue.service import RevenueService
from schema.mirror import mirror
from schema.scalars import Cents
from schema.selection import selects


@strawberry.type(description="An amount of money: integer minor units of an ISO 4217 currency.")
class Money:
    amount_cents: Cents
    currency: str

    @classmethod
    def of(cls, value: MoneyValue) -> Money:
        return cls(amount_cents=value.amount_cents, currency=value.currency)

    @classmethod
    def many(cls, values: list[MoneyValue]) -> list[Money]:
        return [cls.of(v) for v in values]


@strawberry.enum(description="Lago subscription states.")
class SubscriptionStatus(Enum):
    ACTIVE = "active"
    PENDING = "pending"
    TERMINATED = "terminated"
    CANCELED = "canceled"


PlanInterval = strawberry.enum(Interval, name="PlanInterval", description="How often a plan bills.")


@strawberry.enum
class InvoiceStatus(Enum):
    DRAFT = "draft"
    FINALIZED = "finalized"
    VOIDED = "voided"
    FAILED = "failed"
    PENDING = "pending"


@strawberry.enum
class PaymentStatus(Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def _enum(cls: type[Enum], value: str) -> Enum | None:
    try:
        return cls(value)
    except ValueError:  # a state newer than this gateway: report it as unknown, not fail
        return None


@strawberry.type(name="BillingCustomer", description="A Lago customer.")
class BillingCustomer:
    external_id: str = strawberry.field(description="The id the platform gave the customer.")
    lago_id: str
    name: str | None
    email: str | None
    currency: str | None
    country: str | None
    legal_name: str | None
    created_at: datetime | None

    @classmethod
    def of(cls, c: LagoCustomer) -> BillingCustomer:
        return mirror(cls, c)


@strawberry.type(name="BillingPlan", description="A Lago plan.")
class BillingPlan:
    code: str
    name: str
    interval: PlanInterval
    amount: Money
    description: str | None
    created_at: datetime | None

    @classmethod
    def of(cls, p: LagoPlan) -> BillingPlan:
        return mirror(
            cls,
            p,
            interval=PlanInterval(p.interval),
            amount=Money(amount_cents=p.amount_cents, currency=p.amount_currency),
        )


def _customers(service: RevenueService) -> CustomerLoader:
    return service.customer_loader()


def _plans(service: RevenueService) -> PlanLoader:
    return service.plan_loader()


def customer_loader(info: Info) -> CustomerLoader:
    """One per request (batches and de-duplicates the request's keys)."""
    return info.context.loaders.get(_customers, info.context.services.revenue)


def plan_loader(info: Info) -> PlanLoader:
    return info.context.loaders.get(_plans, info.context.services.revenue)


async def nested(
    info: Info, customer_ids: Iterable[str], plan_codes: Iterable[str]
) -> tuple[dict[str, BillingCustomer], dict[str, BillingPlan]]:
    """The customers and plans a page's rows refer to, when the query selects them."""
    service = info.context.services.revenue
    customers: dict[str, BillingCustomer] = {}
    plans: dict[str, BillingPlan] = {}
    if selects(info, "customer"):
        found = await service.customers_by_id(customer_ids, customer_loader(info))
        customers = {k: BillingCustomer.of(c) for k, c in found.items()}
    if selects(info, "plan"):
        got = await service.plans_by_code(plan_codes, plan_loader(info))
        plans = {k: BillingPlan.of(p) for k, p in got.items()}
    return customers, plans


@strawberry.type(name="BillingSubscription", description="A Lago subscription.")
class BillingSubscription:
    external_id: str
    lago_id: str
    name: str | None
    status: SubscriptionStatus | None = strawberry.field(
        description="Null for a state this gateway does not know."
    )
    external_customer_id: str
    plan_code: str
    price: Money | None = strawberry.field(
        description="The subscription's own price (plan overrides included), when Lago sends it."
    )
    billing_time: str | None
    created_at: datetime | None
    started_at: datetime | None
    subscription_at: datetime | None
    terminated_at: datetime | None
    canceled_at: datetime | None
    previous_plan_code: str | None
    next_plan_code: str | None

    customer: BillingCustomer | None = strawberry.field(
        default=None, description="Null when Lago no longer knows the customer."
    )
    plan: BillingPlan | None = strawberry.field(
        default=None, description="Null when Lago no longer knows the plan."
    )

    @classmethod
    def of(
        cls,
        s: LagoSubscription,
        customer: BillingCustomer | None = None,
        plan: BillingPlan | None = None,
    ) -> BillingSubscription:
        """``customer`` and ``plan`` are filled by the list's resolver when the query selects
        them (plain attributes then: no resolver, no future per row)."""
        price = None
        if s.plan_amount_cents is not None and s.plan_amount_currency:
            price = Money(amount_cents=s.plan_amount_cents, currency=s.plan_amount_currency)
        return mirror(
            cls,
            s,
            status=_enum(SubscriptionStatus, s.status),
            price=price,
            customer=customer,
            plan=plan,
        )


@strawberry.type(name="BillingInvoice", description="A Lago invoice; amounts in its currency.")
class BillingInvoice:
    lago_id: str
    number: str
    issuing_date: date
    invoice_type: str
    status: InvoiceStatus | None
    payment_status: PaymentStatus | None
    fees: Money
    taxes: Money
    total: Money
    payment_due_date: date | None
    payment_overdue: bool
    customer: BillingCustomer | None = strawberry.field(
        description="As Lago embeds it in the invoice (no extra call)."
    )

    @classmethod
    def of(cls, i: LagoInvoice) -> BillingInvoice:
        def money(cents: int) -> Money:
            return Money(amount_cents=cents, currency=i.currency)

        return mirror(
            cls,
            i,
            status=_enum(InvoiceStatus, i.status),
            payment_status=_enum(PaymentStatus, i.payment_status),
            fees=money(i.fees_amount_cents),
            taxes=money(i.taxes_amount_cents),
            total=money(i.total_amount_cents),
            payment_overdue=bool(i.payment_overdue),
            customer=BillingCustomer.of(i.customer) if i.customer else None,
        )
