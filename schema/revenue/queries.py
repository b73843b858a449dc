"""``revenue { ... }``: billing figures and Lago's objects (DESIGN §5).

Every field is nullable: a failing Lago nulls the fields that needed it, with the error's
BACKEND_* code, and leaves the rest of the query alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import strawberry

from gateway.context import Info
from gateway.errors import BadUserInput, NotConfigured
from gateway.revenue import churn as churn_math
from gateway.revenue import series as series_math
from gateway.revenue import snapshot
from gateway.revenue.facts import MRR_NORMALISATION
from gateway.revenue.months import utc
from schema.pagination import Connection, check_first, decode_index
from schema.permissions import require
from schema.revenue.connections import by_key, by_offset
from schema.revenue.data import RevenueData
from schema.revenue.figures import (
    RevenueChurn,
    RevenueCustomer,
    RevenueLifetimeValue,
    RevenueOverview,
    RevenuePlan,
)
from schema.revenue.series import RevenueForecast, RevenueGrowth, RevenueTrends
from schema.revenue.types import (
    BillingCustomer,
    BillingInvoice,
    BillingPlan,
    BillingSubscription,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
    lago_lists,
)

MAX_MONTHS = 60


def _months(value: int, name: str = "months") -> int:
    if not 1 <= value <= MAX_MONTHS:
        raise BadUserInput(f"{name} must be between 1 and {MAX_MONTHS}", field=name)
    return value


def _data(info: Info) -> RevenueData:
    return info.context.loaders.get(
        RevenueData, info.context.services.backends.lago, lago_lists(info)
    )


@strawberry.type(description=f"Revenue from Lago. {MRR_NORMALISATION}")
class RevenueQuery:
    as_of_input: strawberry.Private[datetime | None]
    now: strawberry.Private[datetime]

    @property
    def at(self) -> datetime:
        return self.as_of_input or self.now

    @strawberry.field(description="The instant the figures are taken at.")
    def as_of(self) -> datetime:
        return self.at

    @strawberry.field(description=f"MRR, ARR, ARPU and counts at asOf. {MRR_NORMALISATION}")
    async def overview(self, info: Info) -> RevenueOverview | None:
        return RevenueOverview.of(snapshot.overview(await _data(info).facts(), self.at))

    @strawberry.field(
        description="Month-end MRR and invoiced revenue of the last `months` months (the "
        "current one to date), per currency, from Lago's analytics when it offers them for "
        "now, else computed (see `source`)."
    )
    async def trends(self, info: Info, months: int = 12) -> RevenueTrends | None:
        n = _months(months)
        source, mrr, revenue = await _data(info).series(
            self.at, n, analytics=self.as_of_input is None, revenue=True
        )
        return RevenueTrends.of(source, mrr, revenue)

    @strawberry.field(description="MRR by plan at asOf, highest first (every plan listed).")
    async def by_plan(self, info: Info) -> list[RevenuePlan] | None:
        data = _data(info)
        rows = snapshot.by_plan(await data.facts(), self.at, await data.plan_codes())
        return [RevenuePlan.of(r) for r in rows]

    @strawberry.field(
        description="Customers with active subscriptions at asOf, ordered by MRR, highest "
        "first. Currencies are not converted: pass `currency` to rank within one; without it "
        "a customer ranks by their largest per-currency MRR."
    )
    async def by_customer(
        self, info: Info, first: int = 50, after: str | None = None, currency: str | None = None
    ) -> Connection[RevenueCustomer] | None:
        rows = snapshot.by_customer(await _data(info).facts(), self.at, currency)
        return by_key(rows, kind="bycustomer", key=lambda r: r.key, node=RevenueCustomer.of,
                      first=first, after=after)  # fmt: skip

    @strawberry.field(description=churn_math.CHURN_DEFINITION)
    async def churn(self, info: Info, months: int = 12) -> RevenueChurn | None:
        n = _months(months)
        return RevenueChurn.of(churn_math.churn_by_month(await _data(info).facts(), self.at, n))

    @strawberry.field(description=churn_math.LTV_FORMULA)
    async def lifetime_value(
        self, info: Info, months: int = 6
    ) -> list[RevenueLifetimeValue] | None:
        n = _months(months)
        values = churn_math.lifetime_value(await _data(info).facts(), self.at, n)
        return [RevenueLifetimeValue.of(v, n) for v in values]

    @strawberry.field(
        description="Month-over-month MRR growth of the last `months` months, per currency."
    )
    async def growth(self, info: Info, months: int = 12) -> RevenueGrowth | None:
        n = _months(months)
        source, mrr, _ = await _data(info).series(
            self.at, n + 1, analytics=self.as_of_input is None
        )
        return RevenueGrowth.of(source, series_math.growth(mrr))

    @strawberry.field(description=f"MRR forecast. {series_math.FORECAST_METHOD}")
    async def forecast(
        self, info: Info, months: int = 3, basis_months: int = 6
    ) -> RevenueForecast | None:
        ahead, basis = _months(months), _months(basis_months, "basisMonths")
        source, mrr, _ = await _data(info).series(
            self.at, basis, analytics=self.as_of_input is None
        )
        return RevenueForecast.of(source, basis, series_math.forecast(mrr, ahead))

    @strawberry.field(description="Subscriptions in Lago's order (newest first); all states "
                      "unless `status` narrows them.")  # fmt: skip
    async def subscriptions(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        status: list[SubscriptionStatus] | None = None,
        customer_id: str | None = None,
        plan_code: str | None = None,
    ) -> Connection[BillingSubscription] | None:
        wanted = {s.value for s in status} if status else None
        items = [
            s
            for s in await lago_lists(info).subscriptions()
            if (wanted is None or s.status in wanted)
            and customer_id in (None, s.external_customer_id)
            and plan_code in (None, s.plan_code)
        ]
        return by_key(items, kind="subscription", key=lambda s: s.external_id,
                      node=BillingSubscription.of, first=first, after=after)  # fmt: skip

    @strawberry.field(description="Customers in Lago's order (newest first).")
    async def customers(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[BillingCustomer] | None:
        items = await lago_lists(info).customers()
        return by_key(items, kind="customer", key=lambda c: c.external_id,
                      node=BillingCustomer.of, first=first, after=after)  # fmt: skip

    @strawberry.field(description="Plans in Lago's order (newest first).")
    async def plans(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[BillingPlan] | None:
        items = await lago_lists(info).plans()
        return by_key(items, kind="plan", key=lambda p: p.code, node=BillingPlan.of,
                      first=first, after=after)  # fmt: skip

    @strawberry.field(
        description="Invoices in Lago's order (newest first), paged by Lago itself: a page "
        "costs one or two Lago calls. `issuedFrom`/`issuedTo` are inclusive."
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
        limit = check_first(first)
        offset = decode_index("invoice", after) or 0  # the cursor holds the next offset
        page, total = await info.context.services.backends.lago.invoice_window(
            offset,
            limit,
            external_customer_id=customer_id,
            issuing_date_from=issued_from,
            issuing_date_to=issued_to,
            statuses=[s.value for s in status or ()],
            payment_statuses=[s.value for s in payment_status or ()],
            currency=currency,
        )
        return by_offset(page, kind="invoice", node=BillingInvoice.of, offset=offset, total=total)


@strawberry.type
class Query:
    @strawberry.field(
        extensions=[require("revenue", "read")],
        description="Billing figures from Lago. `asOf` (default: now) takes the figures at "
        "another instant; Lago's analytics are used only for now.",
    )
    def revenue(self, info: Info, as_of: datetime | None = None) -> RevenueQuery | None:
        client = info.context.services.backends.lago
        if not client.configured:
            raise NotConfigured(client.name, client.config_var)
        return RevenueQuery(
            as_of_input=utc(as_of) if as_of is not None else None, now=datetime.now(UTC)
        )
