"""GraphQL types of the usage domain: figures from rollups, prices, billing, live events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry

from gateway.usage import events
from gateway.usage.analytics import Totals
from gateway.usage.buckets import Window
from gateway.usage.events import nanos_to_decimal
from gateway.usage.outbox import LagoOutbox
from gateway.usage.prices import CURRENCY, Price, money
from schema.mirror import mirror
from schema.scalars import UsageCount
from schema.timestamps import ts


@strawberry.enum
class UsageStatus(Enum):
    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    CANCELLED = "cancelled"


@strawberry.enum
class UsageBucket(Enum):
    HOUR = "hour"
    DAY = "day"


@strawberry.enum(description="What top lists rank by.")
class UsageRanking(Enum):
    COST = "cost"
    REQUESTS = "requests"
    TOKENS = "tokens"


@strawberry.enum
class CostSource(Enum):
    PRICE = "price"
    REPORTED = "reported"


@strawberry.type
class UsageWindow:
    from_: datetime = strawberry.field(name="from", description="Inclusive (UTC).")
    to: datetime = strawberry.field(description="Exclusive (UTC).")

    @classmethod
    def of(cls, window: Window) -> UsageWindow:
        return cls(from_=window.from_dt, to=window.to_dt)


@strawberry.interface(description="Figures over a window, from rollups; costs are exact.")
class UsageFigures:
    requests: UsageCount
    errors: UsageCount
    error_rate: float
    prompt_tokens: UsageCount
    completion_tokens: UsageCount
    cached_tokens: UsageCount
    total_tokens: UsageCount
    avg_latency_ms: float | None
    cost: Decimal = strawberry.field(
        description="Priced at the price in force on each day; where none was, the cost the "
        "proxy reported. Requests with neither are counted in unpricedRequests, not as zero."
    )
    input_cost: Decimal
    cached_cost: Decimal
    output_cost: Decimal
    reported_cost: Decimal = strawberry.field(description="What the proxies reported, if any.")
    unpriced_requests: UsageCount
    currency: str


def figures(t: Totals) -> dict[str, Any]:
    return {
        "requests": t.requests,
        "errors": t.errors,
        "error_rate": t.errors / t.requests if t.requests else 0.0,
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "cached_tokens": t.cached_tokens,
        "total_tokens": t.total_tokens,
        "avg_latency_ms": t.avg_latency_ms,
        "cost": money(t.cost),
        "input_cost": money(t.input_cost),
        "cached_cost": money(t.cached_cost),
        "output_cost": money(t.output_cost),
        "reported_cost": money(t.reported_cost),
        "unpriced_requests": t.unpriced_requests,
        "currency": CURRENCY,
    }


@strawberry.type
class UsageBilling:
    configured: bool = strawberry.field(description="Whether LAGO_API_URL is set.")
    backlog: UsageCount = strawberry.field(description="Accepted, not yet delivered to Lago.")
    delivered: UsageCount
    consecutive_failures: int
    last_error: str | None
    last_attempt_at: datetime | None
    last_delivery_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    async def of(cls, outbox: LagoOutbox) -> UsageBilling:
        state = outbox.state
        delivered = await outbox.cursor()
        return cls(
            configured=outbox.configured,
            backlog=max(0, await outbox.head() - delivered),
            delivered=delivered,
            consecutive_failures=state.failures,
            last_error=state.last_error,
            last_attempt_at=ts(state.last_attempt_at),
            last_delivery_at=ts(state.last_delivery_at),
            next_attempt_at=ts(state.next_attempt_at),
        )


@strawberry.type
class UsageOverview(UsageFigures):
    window: UsageWindow
    active_users: int
    active_models: int
    outbox: strawberry.Private[LagoOutbox]

    @strawberry.field
    async def billing(self) -> UsageBilling:
        """Read only when asked for: two store reads most dashboards do not need."""
        return await UsageBilling.of(self.outbox)


@strawberry.type
class ModelPrice:
    model: str
    effective_from: date
    input_per_million: Decimal
    output_per_million: Decimal
    cached_per_million: Decimal
    currency: str
    set_by: str | None
    set_at: datetime | None
    in_force: bool = strawberry.field(description="The price in force today (UTC).")

    @classmethod
    def of(cls, price: Price, *, in_force: bool) -> ModelPrice:
        return mirror(
            cls,
            price,
            input_per_million=price.input,
            output_per_million=price.output,
            cached_per_million=price.cached,
            currency=CURRENCY,
            set_at=ts(price.set_at),
            in_force=in_force,
        )


@strawberry.type
class ModelUsage(UsageFigures):
    model: str
    provider: str
    price: ModelPrice | None = strawberry.field(description="The price in force today.")


@strawberry.type
class UserUsage(UsageFigures):
    subject: str
    models: list[str]


@strawberry.type
class UsagePoint(UsageFigures):
    start: datetime
    bucket: UsageBucket


@strawberry.type
class UsageCosts(UsageFigures):
    window: UsageWindow
    by_model: list[ModelUsage]
    by_day: list[UsagePoint]
    unpriced_models: list[str] = strawberry.field(
        description="Models with requests that had no price in force (set one: setModelPrice)."
    )


@strawberry.type
class UsageForecastPoint:
    date: date
    requests: UsageCount
    total_tokens: UsageCount
    cost: Decimal


@strawberry.type
class UsageForecast:
    method: str
    lookback_days: int
    basis_days: int = strawberry.field(description="Completed days with data the fit used.")
    horizon_days: int
    requests_trend_per_day: float
    points: list[UsageForecastPoint]
    total_requests: UsageCount
    total_tokens: UsageCount
    total_cost: Decimal
    currency: str


@strawberry.type
class UsageEvent:
    id: str
    timestamp: datetime
    subject: str
    model: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    total_tokens: int
    latency_ms: int
    status: UsageStatus
    cost: Decimal | None = strawberry.field(description="null: no price and none reported.")
    cost_source: CostSource | None
    reported_cost: Decimal | None

    @classmethod
    def from_message(cls, m: dict[str, Any]) -> UsageEvent:
        reported = m.get("reported_cost_nanos")
        source = m.get("cost_source")
        return mirror(
            cls,
            events.UsageEvent.from_record(m),
            timestamp=datetime.fromtimestamp(m["timestamp"], UTC),
            status=UsageStatus(m.get("status", "success")),
            cost=None if m.get("cost_femto") is None else money(m["cost_femto"]),
            cost_source=None if source is None else CostSource(source),
            reported_cost=None if reported is None else nanos_to_decimal(reported),
        )
