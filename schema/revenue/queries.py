"""``revenue { ... }``: billing figures and Lago's objects (DESIGN §5).

Every field is nullable: a failing Lago nulls the fields that needed it, with the error's
BACKEND_* code, and leaves the rest of the query alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TypeVar

import strawberry

from gateway.context import Info
from gateway.errors import BadUserInput
from gateway.revenue import churn as churn_math
from gateway.revenue import series as series_math
from gateway.revenue.facts import MRR_NORMALISATION
from gateway.revenue.months import utc
from gateway.revenue.report import Report
from gateway.revenue.service import Page, RevenueService
from schema.cache_control import cache_control
from schema.cost import BACKEND
from schema.pagination import (
    Connection,
    by_offset,
    check_first,
    decode_index,
    key_connection,
    key_window,
)
from schema.permissions import require
from schema.revenue.figures import (
    RevenueChurn,
    RevenueCustomer,
    RevenueLifetimeValue,
    RevenueOverview,
    RevenuePlan,
)
from schema.revenue.series import RevenueForecast, RevenueGrowth, RevenueSource, RevenueTrends
from schema.revenue.types import (
    BillingCustomer,
    BillingInvoice,
    BillingPlan,
    BillingSubscription,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
    nested,
)

MAX_MONTHS = 60
T = TypeVar("T")
N = TypeVar("N")


def _months(value: int, name: str = "months") -> int:
    if not 1 <= value <= MAX_MONTHS:
        raise BadUserInput(f"{name} must be between 1 and {MAX_MONTHS}", field=name)
    return value


def _service(info: Info) -> RevenueService:
    return info.context.services.revenue


def _window(kind: str, first: int, after: str | None) -> tuple[int, int]:
    """(offset, limit) of a connection over a list Lago pages: cursors hold the offset."""
    return decode_index(kind, after) or 0, check_first(first)


def _lago_list(
    kind: str,
    list_of: Callable[[RevenueService], Callable[..., Awaitable[Page[T]]]],
    node: Callable[[T], N],
    node_type: type[N],
) -> Callable[..., Awaitable[Connection[N] | None]]:
    """The resolver of a Lago list with no filters (customers, plans): a page of ``first``
    after the cursor's offset, one Lago call. Strawberry reads its signature, so the return
    type is set here."""

    async def resolve(
        info: Info, first: int = 50, after: str | None = None
    ) -> Connection[N] | None:
        offset, limit = _window(kind, first, after)
        page = await list_of(_service(info))(offset=offset, limit=limit)
        return by_offset(page.items, kind=kind, node=node, offset=offset, total=page.total)

    resolve.__annotations__["return"] = Connection[node_type] | None  # type: ignore[valid-type]
    return resolve


@strawberry.type(description=f"Revenue from Lago. {MRR_NORMALISATION}")
class RevenueQuery:
    as_of_input: strawberry.Private[datetime | None]

    async def _report(self, info: Info, *, invoices: bool = False) -> Report:
        return await _service(info).report(self.as_of_input, invoices=invoices)

    @strawberry.field(
        description="The instant the figures are taken at: `asOf` when given, else the age "
        "of the revenue snapshot (its last rebuild from Lago, or the newest webhook applied)."
    )
    async def as_of(self, info: Info) -> datetime:
        if self.as_of_input is not None:
            return self.as_of_input
        return (await _service(info).snapshot()).as_of

    @strawberry.field(description=f"MRR, ARR, ARPU and counts at asOf. {MRR_NORMALISATION}")
    async def overview(self, info: Info) -> RevenueOverview | None:
        return RevenueOverview.of((await self._report(info)).overview())

    @strawberry.field(
        description="Month-end MRR and invoiced revenue of the last `months` months (the "
        "current one to date), per currency, from Lago's analytics when it offers them for "
        "now, else computed (see `source`)."
    )
    async def trends(self, info: Info, months: int = 12) -> RevenueTrends | None:
        n = _months(months)
        source, mrr, revenue = (await self._report(info, invoices=True)).series(n, revenue=True)
        return RevenueTrends.of(RevenueSource(source), mrr, revenue)

    @strawberry.field(description="MRR by plan at asOf, highest first (every plan listed).")
    async def by_plan(self, info: Info) -> list[RevenuePlan] | None:
        rows = (await self._report(info)).by_plan()
        _, plans = await nested(info, (), (r.key for r in rows))
        return [RevenuePlan.of(r, plans.get(r.key)) for r in rows]

    @strawberry.field(
        description="Customers with active subscriptions at asOf, ordered by MRR, highest "
        "first. Currencies are not converted: pass `currency` to rank within one; without it "
        "a customer ranks by their largest per-currency MRR."
    )
    async def by_customer(
        self, info: Info, first: int = 50, after: str | None = None, currency: str | None = None
    ) -> Connection[RevenueCustomer] | None:
        report = await self._report(info)
        rows = report.by_customer(currency)
        positions = report.by_customer_positions(currency)
        start, page = key_window(rows, kind="bycustomer", key=lambda r: r.key, first=first,
                                 after=after, position=positions.get)  # fmt: skip
        customers, _ = await nested(info, (r.key for r in page), ())
        return key_connection(
            rows,
            start,
            page,
            kind="bycustomer",
            key=lambda r: r.key,
            node=lambda r: RevenueCustomer.of(r, customers.get(r.key)),
        )

    @strawberry.field(description=churn_math.CHURN_DEFINITION)
    async def churn(self, info: Info, months: int = 12) -> RevenueChurn | None:
        return RevenueChurn.of((await self._report(info)).churn(_months(months)))

    @strawberry.field(description=churn_math.LTV_FORMULA)
    async def lifetime_value(
        self, info: Info, months: int = 6
    ) -> list[RevenueLifetimeValue] | None:
        n = _months(months)
        return [RevenueLifetimeValue.of(v, n) for v in (await self._report(info)).lifetime_value(n)]

    @strawberry.field(
        description="Month-over-month MRR growth of the last `months` months, per currency."
    )
    async def growth(self, info: Info, months: int = 12) -> RevenueGrowth | None:
        source, mrr, _ = (await self._report(info)).series(_months(months) + 1)
        return RevenueGrowth.of(RevenueSource(source), series_math.growth(mrr))

    @strawberry.field(description=f"MRR forecast. {series_math.FORECAST_METHOD}")
    async def forecast(
        self, info: Info, months: int = 3, basis_months: int = 6
    ) -> RevenueForecast | None:
        ahead, basis = _months(months), _months(basis_months, "basisMonths")
        source, mrr, _ = (await self._report(info)).series(basis)
        return RevenueForecast.of(RevenueSource(source), basis, series_math.forecast(mrr, ahead))

    @strawberry.field(
        metadata=BACKEND,
        description="Subscriptions in Lago's order (newest first), paged by Lago itself (a "
        "page of up to 100 costs one call); all states unless `status` narrows them.",
    )
    async def subscriptions(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        status: list[SubscriptionStatus] | None = None,
        customer_id: str | None = None,
        plan_code: str | None = None,
    ) -> Connection[BillingSubscription] | None:
        offset, limit = _window("subscription", first, after)
        page = await _service(info).subscriptions(
            offset=offset,
            limit=limit,
            statuses=[s.value for s in status] if status else None,
            customer_id=customer_id,
            plan_code=plan_code,
        )
        customers, plans = await nested(
            info, (s.external_customer_id for s in page.items), (s.plan_code for s in page.items)
        )
        return by_offset(
            page.items,
            kind="subscription",
            node=lambda s: BillingSubscription.of(
                s, customers.get(s.external_customer_id), plans.get(s.plan_code)
            ),
            offset=offset,
            total=page.total,
        )

    customers = strawberry.field(
        resolver=_lago_list("customer", lambda s: s.customers, BillingCustomer.of, BillingCustomer),
        metadata=BACKEND,
        description="Customers in Lago's order (newest first), paged by Lago.",
    )
    plans = strawberry.field(
        resolver=_lago_list("plan", lambda s: s.plans, BillingPlan.of, BillingPlan),
        metadata=BACKEND,
        description="Plans in Lago's order (newest first), paged by Lago.",
    )

    @strawberry.field(
        metadata=BACKEND,
        description="Invoices in Lago's order (newest first), paged by Lago itself: a page "
        "costs one or two Lago calls. `issuedFrom`/`issuedTo` are inclusive.",
    )
    async def invoices(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        customer_id: str | None = None,
        status: list[InvoiceStatus] | None = None,
        payment_status: list[PaymentStatus] | None = None,
        issued_from: date | None = None,
        issued_to: date | None = None,
        currency: str | None = None,
    ) -> Connection[BillingInvoice] | None:
        offset, limit = _window("invoice", first, after)
        page = await _service(info).invoices(
            offset=offset,
            limit=limit,
            external_customer_id=customer_id,
            issuing_date_from=issued_from,
            issuing_date_to=issued_to,
            statuses=[s.value for s in status or ()],
            payment_statuses=[s.value for s in payment_status or ()],
            currency=currency,
        )
        return by_offset(page.items, kind="invoice", node=BillingInvoice.of, offset=offset,
                         total=page.total)  # fmt: skip


@strawberry.type
class Query:
    @strawberry.field(
        extensions=[require("revenue", "read")],
        directives=[cache_control(30, domain="revenue")],
        description="Billing figures from Lago. `asOf` (default: now) takes the figures at "
        "another instant; Lago's analytics are used only for now.",
    )
    def revenue(self, info: Info, as_of: datetime | None = None) -> RevenueQuery | None:
        _service(info).check_configured()
        return RevenueQuery(as_of_input=utc(as_of) if as_of is not None else None)
