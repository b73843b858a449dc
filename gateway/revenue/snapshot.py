"""The revenue snapshot: what every revenue figure needs, built once and shared (issue 11).

It holds every subscription (the few fields the figures use), the plans, the customers (for
nested ``customer`` fields), Lago's analytics rows when Lago offers them, and invoiced revenue
by month. It is built in the background (:mod:`gateway.revenue.builder`), kept fresh by Lago's
webhooks (:meth:`RevenueSnapshot.apply`) and rebuilt on an interval; requests only read it.

Figures derived from it are memoised per version (:meth:`RevenueSnapshot.memo`), so a
dashboard's figures cost one computation per change of the data, not one per request. A
snapshot is changed only by the event loop's one writer (the service), and readers compute
without awaiting, so nobody sees half an update.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from gateway.backends.lago.models import LagoCustomer, LagoMonthlyAmount, LagoPlan
from gateway.revenue.facts import Interval, InvoiceFact, SubscriptionFact, SubscriptionTerms

T = TypeVar("T")
MEMO_LIMIT = 256
_MISSING = object()


@dataclass(frozen=True, slots=True)
class SubscriptionRecord(SubscriptionTerms):
    """A subscription as the snapshot keeps it; its price is resolved against the plans."""

    amount_cents: int | None
    """The subscription's own price (plan overrides), else the plan's."""
    currency: str | None


@dataclass(slots=True)
class Analytics:
    """Lago's own monthly rows (None in the snapshot when Lago answers 403)."""

    mrr: list[LagoMonthlyAmount]
    gross: list[LagoMonthlyAmount]


@dataclass(slots=True)
class InvoicedMonths:
    """Finalized invoices' net revenue: frozen sums for older months, one entry per invoice
    for recent ones (``since`` on), which webhooks can still change."""

    since: date
    sums: dict[date, dict[str, tuple[int, int]]] = field(default_factory=dict)
    """month -> currency -> (net cents, invoice count), months before ``since``."""
    recent: dict[str, InvoiceFact] = field(default_factory=dict)
    """lago_id -> invoice, issued on or after ``since`` (every status)."""

    def copy(self) -> InvoicedMonths:
        return InvoicedMonths(since=self.since, sums=dict(self.sums), recent=dict(self.recent))

    def add(self, lago_id: str, fact: InvoiceFact) -> None:
        if fact.issuing_date >= self.since:
            self.recent[lago_id] = fact
        elif fact.status == "finalized":
            month = self.sums.setdefault(fact.issuing_date.replace(day=1), {})
            net, count = month.get(fact.currency, (0, 0))
            month[fact.currency] = (net + fact.net_cents, count + 1)

    def facts(self) -> list[InvoiceFact]:
        """One fact per month and currency for the frozen months, plus the recent invoices."""
        frozen = [
            InvoiceFact(month, "finalized", currency, net, count)
            for month, by_currency in self.sums.items()
            for currency, (net, count) in by_currency.items()
        ]
        return [*frozen, *self.recent.values()]


class RevenueSnapshot:
    def __init__(
        self,
        *,
        subscriptions: dict[str, SubscriptionRecord],
        plans: dict[str, LagoPlan],
        customers: dict[str, LagoCustomer],
        analytics: Analytics | None,
        invoiced: InvoicedMonths | None,
        built_at: datetime,
        cursor: int,
        version: int = 1,
    ) -> None:
        self.subscriptions = subscriptions
        self.plans = plans
        """Plan code -> plan, in Lago's order (newest first)."""
        self.customers = customers
        self.analytics = analytics
        self.invoiced = invoiced
        self.built_at = built_at
        self.updated_at = built_at
        """The latest information it holds: the build, or the newest webhook applied."""
        self.cursor = cursor
        """Position in the webhook log up to which events are applied."""
        self.version = version
        self._memo: dict[Any, Any] = {}

    # -- reading ---------------------------------------------------------------------------
    @property
    def as_of(self) -> datetime:
        return self.updated_at

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()`` once per version of the data (bounded: figures at many explicit
        instants must not grow memory)."""
        found = self._memo.get(key, _MISSING)
        if found is _MISSING:
            if len(self._memo) >= MEMO_LIMIT:
                facts = self._memo.get("facts")
                self._memo.clear()
                if facts is not None:
                    self._memo["facts"] = facts
            found = self._memo[key] = compute()
        return found

    def facts(self) -> list[SubscriptionFact]:
        """One fact per subscription whose plan is known (a deleted plan has no interval)."""
        return self.memo("facts", lambda: list(_facts(self.subscriptions.values(), self.plans)))

    def frozen_copy(self) -> RevenueSnapshot:
        """A copy of the collections (not of the objects in them): what a background thread
        may read while webhooks change this one."""
        copy = RevenueSnapshot(
            subscriptions=dict(self.subscriptions),
            plans=dict(self.plans),
            customers=self.customers,
            analytics=self.analytics,
            invoiced=self.invoiced.copy() if self.invoiced is not None else None,
            built_at=self.built_at,
            cursor=self.cursor,
            version=self.version,
        )
        copy.updated_at = self.updated_at
        return copy

    def adopt_memo(self, other: RevenueSnapshot) -> None:
        """Take the figures ``other`` (a :meth:`frozen_copy`) computed, if still current."""
        if other.version == self.version:
            for key, value in other._memo.items():
                self._memo.setdefault(key, value)

    def plan_codes(self) -> list[str]:
        return list(self.plans)

    # -- changing --------------------------------------------------------------------------
    def changed(self, at: datetime | None = None) -> None:
        self.version += 1
        self._memo.clear()
        if at is not None and at > self.updated_at:
            self.updated_at = at

    def upsert_subscription(self, record: SubscriptionRecord) -> None:
        self.subscriptions[record.external_id] = record

    def upsert_customer(self, customer: LagoCustomer) -> None:
        self.customers[customer.external_id] = customer

    def upsert_plan(self, plan: LagoPlan) -> None:
        self.plans[plan.code] = plan

    def delete_plan(self, code: str) -> None:
        self.plans.pop(code, None)

    def upsert_invoice(self, lago_id: str, fact: InvoiceFact) -> None:
        if self.invoiced is not None:
            self.invoiced.add(lago_id, fact)

    def size(self) -> dict[str, int]:
        return {
            "subscriptions": len(self.subscriptions),
            "customers": len(self.customers),
            "plans": len(self.plans),
            "recentInvoices": len(self.invoiced.recent) if self.invoiced else 0,
        }


def _facts(
    records: Iterable[SubscriptionRecord], plans: dict[str, LagoPlan]
) -> Iterable[SubscriptionFact]:
    intervals = {code: Interval(p.interval) for code, p in plans.items()}
    for r in records:
        plan = plans.get(r.plan_code)
        if plan is None:
            continue
        yield SubscriptionFact(
            r.external_id,
            r.customer_id,
            r.plan_code,
            r.status,
            r.started_at,
            r.terminated_at,
            interval=intervals[r.plan_code],
            amount_cents=r.amount_cents if r.amount_cents is not None else plan.amount_cents,
            currency=r.currency or plan.amount_currency,
        )


def utcnow() -> datetime:
    return datetime.now(UTC)
