"""``usage { overview byModel byUser costs history topUsers topModels forecast prices billing }``.

Every figure comes from rollups (see gateway/usage/analytics.py). A window is ``days`` (today
and the days before, UTC) or a ``from``/``to`` range rounded outwards to whole hours.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import strawberry

from gateway.context import Info
from gateway.errors import BadUserInput
from gateway.usage.analytics import Analytics, Totals
from gateway.usage.buckets import DAY, MAX_DAYS, Bucket, Window, resolve_window, today
from gateway.usage.forecast import DayFigures, linear_forecast
from gateway.usage.loaders import PriceTableLoader, RollupLoader
from gateway.usage.prices import CURRENCY, money
from gateway.usage.service import UsageService
from schema.cache_control import cache_control
from schema.pagination import Connection, check_first, index_connection, start_after
from schema.permissions import require
from schema.usage.rankings import check_limit, model_rows, rank, top_models, top_users, user_rows
from schema.usage.types import (
    ModelPrice,
    ModelUsage,
    UsageBilling,
    UsageBucket,
    UsageCosts,
    UsageForecast,
    UsageForecastPoint,
    UsageOverview,
    UsagePoint,
    UsageRanking,
    UsageWindow,
    UserUsage,
    figures,
)

MAX_HOURLY_DAYS = 31
R = TypeVar("R")
CURSOR = "usageuser"  # a byUser cursor is the row's offset in the ranking

Days = Annotated[int | None, strawberry.argument(description="Today and the days before (UTC).")]
From = Annotated[datetime | None, strawberry.argument(name="from", description="Range start.")]
To = Annotated[datetime | None, strawberry.argument(description="Range end (default: now).")]


async def _analytics(info: Info) -> Analytics:
    usage = info.context.services.usage
    loader = info.context.loaders.get(RollupLoader, usage.store)
    table = await info.context.loaders.get(PriceTableLoader, usage.prices).load()
    return Analytics(fetch=loader.fetch, prices=table)


def _window(
    usage: UsageService, days: int | None, start: datetime | None, end: datetime | None
) -> Window:
    return resolve_window(days=days, start=start, end=end, now=usage.clock())


def _sum(parts: Iterable[Totals]) -> Totals:
    total = Totals()
    for t in parts:
        total.merge(t)
    return total


async def build_overview(usage: UsageService, a: Analytics, window: Window) -> UsageOverview:
    by_model = await a.by_model(window)
    return UsageOverview(
        window=UsageWindow.of(window),
        active_users=await a.active_users(window),
        active_models=len({model for model, _ in by_model}),
        outbox=usage.outbox,
        **figures(_sum(by_model.values())),
    )


def _points(series: list[tuple[Bucket, Totals]], bucket: UsageBucket) -> list[UsagePoint]:
    return [
        UsagePoint(start=datetime.fromtimestamp(b.start, UTC), bucket=bucket, **figures(t))
        for b, t in series
    ]


def _top(
    ranked: Callable[[UsageService, Analytics, Window, UsageRanking, int], Awaitable[list[R]]],
    row: type[R],
) -> Callable[..., Awaitable[list[R]]]:
    """The resolver of topUsers and topModels: the same window, limit and ranking arguments
    and checks; ``ranked`` gives the first ``limit`` rows. Strawberry reads its signature, so
    the return type is set here."""

    async def resolve(
        info: Info,
        days: Days = None,
        from_: From = None,
        to: To = None,
        limit: int = 10,
        by: UsageRanking = UsageRanking.COST,
    ) -> list[R]:
        usage = info.context.services.usage
        check_limit(limit)
        a = await _analytics(info)
        return await ranked(usage, a, _window(usage, days, from_, to), by, limit)

    resolve.__annotations__["return"] = list[row]  # type: ignore[valid-type]
    return resolve


@strawberry.type
class UsageQuery:
    @strawberry.field(description="Totals, active users and models, and the billing backlog.")
    async def overview(
        self, info: Info, days: Days = None, from_: From = None, to: To = None
    ) -> UsageOverview:
        usage = info.context.services.usage
        return await build_overview(usage, await _analytics(info), _window(usage, days, from_, to))

    @strawberry.field(description="Per model and provider, highest cost first.")
    async def by_model(
        self, info: Info, days: Days = None, from_: From = None, to: To = None
    ) -> list[ModelUsage]:
        usage = info.context.services.usage
        a = await _analytics(info)
        return model_rows(usage, a, await a.by_model(_window(usage, days, from_, to)))

    @strawberry.field(description="Per subject, highest cost first (then requests).")
    async def by_user(
        self,
        info: Info,
        days: Days = None,
        from_: From = None,
        to: To = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[UserUsage]:
        usage = info.context.services.usage
        first = check_first(first)
        start = start_after(CURSOR, after)
        window = _window(usage, days, from_, to)
        rows = sorted(
            (await (await _analytics(info)).by_user(window)).items(), key=rank(UsageRanking.COST)
        )
        page = user_rows(rows[start : start + first])
        return index_connection(page, kind=CURSOR, start=start, total=len(rows))

    @strawberry.field(description="Cost breakdown: per model, per day, and what is unpriced.")
    async def costs(
        self, info: Info, days: Days = None, from_: From = None, to: To = None
    ) -> UsageCosts:
        usage = info.context.services.usage
        a = await _analytics(info)
        window = _window(usage, days, from_, to)
        by_model = await a.by_model(window)
        unpriced = sorted({m for (m, _), t in by_model.items() if t.unpriced_requests})
        return UsageCosts(
            window=UsageWindow.of(window),
            by_model=model_rows(usage, a, by_model),
            by_day=_points(await a.series(window, hourly=False), UsageBucket.DAY),
            unpriced_models=unpriced,
            **figures(_sum(by_model.values())),
        )

    @strawberry.field(description=f"One point per hour (at most {MAX_HOURLY_DAYS} days) or day.")
    async def history(
        self,
        info: Info,
        days: Days = None,
        from_: From = None,
        to: To = None,
        bucket: UsageBucket = UsageBucket.DAY,
    ) -> list[UsagePoint]:
        usage = info.context.services.usage
        window = _window(usage, days, from_, to)
        hourly = bucket is UsageBucket.HOUR
        if hourly and window.end - window.start > MAX_HOURLY_DAYS * DAY:
            raise BadUserInput(
                f"hourly history spans at most {MAX_HOURLY_DAYS} days", field="bucket"
            )
        return _points(await (await _analytics(info)).series(window, hourly=hourly), bucket)

    top_users = strawberry.field(resolver=_top(top_users, UserUsage))
    top_models = strawberry.field(resolver=_top(top_models, ModelUsage))

    @strawberry.field(description="Projected daily usage and cost; `method` says how.")
    async def forecast(
        self, info: Info, horizon_days: int = 30, lookback_days: int = 28
    ) -> UsageForecast:
        if not 1 <= horizon_days <= 366:
            raise BadUserInput("horizonDays must be between 1 and 366", field="horizonDays")
        if not 2 <= lookback_days <= MAX_DAYS:
            raise BadUserInput(
                f"lookbackDays must be between 2 and {MAX_DAYS}", field="lookbackDays"
            )
        usage = info.context.services.usage
        now = usage.clock()
        end = int(now // DAY) * DAY  # completed days only
        window = Window(start=end - lookback_days * DAY, end=end)
        series = await (await _analytics(info)).series(window, hourly=False)
        history = [DayFigures(b.date, t.requests, t.total_tokens, t.cost) for b, t in series]
        result = linear_forecast(history, today=today(now), horizon=horizon_days)
        return UsageForecast(
            method=result.method,
            lookback_days=lookback_days,
            basis_days=result.basis_days,
            horizon_days=horizon_days,
            requests_trend_per_day=result.requests_per_day_trend,
            points=[
                UsageForecastPoint(
                    date=p.day, requests=p.requests, total_tokens=p.tokens, cost=money(p.cost)
                )
                for p in result.points
            ],
            total_requests=sum(p.requests for p in result.points),
            total_tokens=sum(p.tokens for p in result.points),
            total_cost=money(sum(p.cost for p in result.points)),
            currency=CURRENCY,
        )

    @strawberry.field(description="Every model's price history; inForce marks today's.")
    async def prices(self, info: Info, model: str | None = None) -> list[ModelPrice]:
        usage = info.context.services.usage
        table = await info.context.loaders.get(PriceTableLoader, usage.prices).load()
        now_day = today(usage.clock())
        out = []
        for name, history in sorted(table.history.items()):
            if model is not None and name != model:
                continue
            current = table.at(name, now_day)
            out += [ModelPrice.of(p, in_force=p is current) for p in history]
        return out

    @strawberry.field(description="Lago delivery: backlog, progress, last error.")
    async def billing(self, info: Info) -> UsageBilling:
        return await UsageBilling.of(info.context.services.usage.outbox)


@strawberry.type
class Query:
    @strawberry.field(
        extensions=[require("usage", "read")],
        directives=[cache_control(10, domain="usage")],
        description="LLM usage (DESIGN §5).",
    )
    def usage(self) -> UsageQuery | None:
        return UsageQuery()
