"""Live usage: each accepted event (from any replica, via pub/sub) and a running overview."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from gateway.context import Info
from gateway.errors import BadUserInput
from gateway.usage.buckets import MAX_DAYS, Window
from schema.permissions import require
from schema.usage.queries import build_overview
from schema.usage.types import UsageEvent, UsageOverview, UsageStatus

MAX_INTERVAL = 3600


@strawberry.input
class UsageEventFilter:
    subject: str | None = None
    model: str | None = None
    provider: str | None = None
    status: UsageStatus | None = None
    errors_only: bool = strawberry.field(default=False, description="Only non-success events.")

    def matches(self, m: dict[str, Any]) -> bool:
        status = m.get("status", "success")
        return (
            (self.subject is None or m["subject"] == self.subject)
            and (self.model is None or m["model"] == self.model)
            and (self.provider is None or m["provider"] == self.provider)
            and (self.status is None or status == self.status.value)
            and (not self.errors_only or status != "success")
        )


@strawberry.type
class UsageSubscription:
    @strawberry.subscription(
        extensions=[require("usage", "read")],
        description="Each accepted event as it is recorded, on any replica (live only).",
    )
    async def usage_events(
        self, info: Info, filter: UsageEventFilter | None = None
    ) -> AsyncGenerator[UsageEvent, None]:
        async with info.context.services.usage.live_events() as messages:
            async for message in messages:
                for record in message["events"]:
                    if filter is None or filter.matches(record):
                        yield UsageEvent.from_message(record)

    @strawberry.subscription(
        extensions=[require("usage", "read")],
        description="The overview of the last `days` (default today), every intervalSeconds.",
    )
    async def usage_ticker(
        self, info: Info, interval_seconds: int = 5, days: int = 1
    ) -> AsyncGenerator[UsageOverview, None]:
        if not 1 <= interval_seconds <= MAX_INTERVAL:
            raise BadUserInput(
                f"intervalSeconds must be between 1 and {MAX_INTERVAL}", field="intervalSeconds"
            )
        if not 1 <= days <= MAX_DAYS:
            raise BadUserInput(f"days must be between 1 and {MAX_DAYS}", field="days")
        usage = info.context.services.usage
        while True:
            # Fresh reads each tick: the connection's loaders would cache the first answer.
            analytics = await usage.fresh_analytics()
            window = Window.last_days(days, now=usage.clock())
            yield await build_overview(usage, analytics, window)
            await asyncio.sleep(interval_seconds)
