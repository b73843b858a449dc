"""Usage rows ranked: per model and per subject, and the first ``limit`` of each for
``topModels`` and ``topUsers``."""

from __future__ import annotations

from collections.abc import Callable

from gateway.errors import BadUserInput
from gateway.usage.analytics import Analytics, Totals
from gateway.usage.buckets import Window, today
from gateway.usage.service import UsageService
from schema.usage.types import ModelPrice, ModelUsage, UsageRanking, UserUsage, figures

MAX_TOP = 100


def rank(by: UsageRanking) -> Callable[[tuple[object, Totals]], tuple[int, int, str]]:
    """Sort key: highest ``by`` first, then most requests, then by name."""

    def key(item: tuple[object, Totals]) -> tuple[int, int, str]:
        name, t = item
        first = {"cost": t.cost, "requests": t.requests, "tokens": t.total_tokens}[by.value]
        return (-first, -t.requests, str(name))

    return key


def model_rows(
    usage: UsageService, a: Analytics, by_model: dict[tuple[str, str], Totals]
) -> list[ModelUsage]:
    """Per-model totals as rows, highest cost first, each with the price in force today."""
    rows = sorted(by_model.items(), key=rank(UsageRanking.COST))
    now_day = today(usage.clock())
    out = []
    for (model, provider), t in rows:
        price = a.prices.at(model, now_day)
        shown = ModelPrice.of(price, in_force=True) if price else None
        out.append(ModelUsage(model=model, provider=provider, price=shown, **figures(t)))
    return out


def user_rows(rows: list[tuple[str, Totals]]) -> list[UserUsage]:
    return [UserUsage(subject=s, models=sorted(t.models), **figures(t)) for s, t in rows]


async def top_users(
    usage: UsageService, a: Analytics, window: Window, by: UsageRanking, limit: int
) -> list[UserUsage]:
    return user_rows(sorted((await a.by_user(window)).items(), key=rank(by))[:limit])


async def top_models(
    usage: UsageService, a: Analytics, window: Window, by: UsageRanking, limit: int
) -> list[ModelUsage]:
    rows = model_rows(usage, a, await a.by_model(window))
    key = {
        "cost": lambda r: -r.cost,
        "requests": lambda r: -r.requests,
        "tokens": lambda r: -r.total_tokens,
    }[by.value]
    return sorted(rows, key=key)[:limit]


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_TOP:
        raise BadUserInput(f"limit must be between 1 and {MAX_TOP}", field="limit")
