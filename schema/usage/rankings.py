"""Usage rows ranked: per model and per subject, and the first ``limit`` of each for
``topModels`` and ``topUsers``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gateway.errors import BadUserInput
from gateway.usage.analytics import Analytics, Totals
from gateway.usage.buckets import Window, today
from gateway.usage.service import UsageService
from schema.usage.types import ModelPrice, ModelUsage, UsageRanking, UserUsage, figures

MAX_TOP = 100


_FIGURE: dict[str, Callable[[Totals], int]] = {
    "cost": lambda t: t.cost,
    "requests": lambda t: t.requests,
    "tokens": lambda t: t.total_tokens,
}


def rank(by: UsageRanking) -> Callable[[tuple[object, Totals]], tuple[int, int, str]]:
    """Sort key: highest ``by`` first, then most requests, then by name."""
    figure = _FIGURE[by.value]

    def key(item: tuple[object, Totals]) -> tuple[int, int, str]:
        name, t = item
        return (-figure(t), -t.requests, str(name))

    return key


ModelKey = tuple[str, str]


def model_rows(
    usage: UsageService, a: Analytics, by_model: dict[ModelKey, Totals]
) -> list[ModelUsage]:
    """Per-model totals as rows, highest cost first, each with the price in force today."""
    return _model_rows(usage, a, sorted(by_model.items(), key=rank(UsageRanking.COST)))


def _model_rows(
    usage: UsageService, a: Analytics, items: Iterable[tuple[ModelKey, Totals]]
) -> list[ModelUsage]:
    now_day = today(usage.clock())
    out = []
    for (model, provider), t in items:
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
    """Highest ``by`` first, ties by cost, requests and name; rows (with today's price) are
    built for the first ``limit`` only."""
    figure, by_cost = _FIGURE[by.value], rank(UsageRanking.COST)
    items = sorted(
        (await a.by_model(window)).items(), key=lambda item: (-figure(item[1]), by_cost(item))
    )
    return _model_rows(usage, a, items[:limit])


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_TOP:
        raise BadUserInput(f"limit must be between 1 and {MAX_TOP}", field="limit")
