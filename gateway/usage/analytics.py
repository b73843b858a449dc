"""Usage figures computed from rollups (never from raw events), priced at query time.

Each rollup bucket lies within one UTC day, and prices change on whole days, so every
(bucket, model) row has exactly one price in force: costs equal the sum of per-event costs,
and a price set later for past days re-prices those days too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from gateway.store.base import Store
from gateway.usage.buckets import Bucket, Dimension, Window
from gateway.usage.prices import Price, PriceTable
from gateway.usage.rollups import SEP

K = TypeVar("K")
Fetch = Callable[[Sequence[str]], Awaitable[dict[str, dict[str, int]]]]


@dataclass(slots=True)
class Totals:
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    latency_ms: int = 0
    """Sum over requests (per-model rollups only)."""
    input_cost: int = 0
    cached_cost: int = 0
    output_cost: int = 0
    """Priced parts, femto-units."""
    reported_cost: int = 0
    """Femto-units the proxies reported (all events that reported one)."""
    fallback_cost: int = 0
    """Reported cost used where no price was in force."""
    unpriced_requests: int = 0
    """Requests with neither a price in force nor a reported cost."""
    models: set[str] = field(default_factory=set)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost(self) -> int:
        return self.input_cost + self.cached_cost + self.output_cost + self.fallback_cost

    @property
    def avg_latency_ms(self) -> float | None:
        return self.latency_ms / self.requests if self.requests else None

    def add(self, m: dict[str, int], model: str, price: Price | None) -> None:
        n, p, c, k, r = (m.get(x, 0) for x in ("n", "p", "c", "k", "r"))
        self.requests += n
        self.errors += m.get("e", 0)
        self.prompt_tokens += p
        self.completion_tokens += c
        self.cached_tokens += k
        self.latency_ms += m.get("l", 0)
        self.reported_cost += r * 10**6
        self.models.add(model)
        if price is not None:
            ic, kc, oc = price.components(p, c, k)
            self.input_cost += ic
            self.cached_cost += kc
            self.output_cost += oc
        else:
            self.fallback_cost += r * 10**6
            self.unpriced_requests += n - m.get("rn", 0)

    def merge(self, other: Totals) -> None:
        for name in self.__slots__:  # type: ignore[attr-defined]
            if name == "models":
                self.models |= other.models
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))


def reader(store: Store, *, concurrency: int = 8) -> Fetch:
    """Read many counter namespaces, a few at a time (Redis would open a connection each)."""
    slots = asyncio.Semaphore(concurrency)

    async def one(ns: str) -> dict[str, int]:
        async with slots:
            return await store.counters(ns)

    async def fetch(namespaces: Sequence[str]) -> dict[str, dict[str, int]]:
        unique = list(dict.fromkeys(namespaces))
        values = await asyncio.gather(*(one(ns) for ns in unique))
        return dict(zip(unique, values, strict=True))

    return fetch


def _rows(counters: dict[str, int]) -> Iterable[tuple[str, str, dict[str, int]]]:
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for name, value in counters.items():
        a, b, metric = name.split(SEP)
        rows.setdefault((a, b), {})[metric] = value
    return ((a, b, m) for (a, b), m in rows.items())


class Analytics:
    """Folds rollup buckets into totals keyed by what a query groups on."""

    def __init__(self, *, fetch: Fetch, prices: PriceTable) -> None:
        self.fetch = fetch
        self.prices = prices

    async def fold(
        self, buckets: Sequence[Bucket], dim: Dimension, key: Callable[[str, str], K]
    ) -> dict[K, Totals]:
        """``key(a, b)`` gets (model, provider) for ``m`` and (subject, model) for ``u``."""
        data = await self.fetch([b.namespace(dim) for b in buckets])
        out: dict[K, Totals] = {}
        for bucket in buckets:
            for a, b, metrics in _rows(data[bucket.namespace(dim)]):
                model = a if dim == "m" else b
                totals = out.get(k := key(a, b))
                if totals is None:
                    totals = out[k] = Totals()
                totals.add(metrics, model, self.prices.at(model, bucket.date))
        return out

    async def by_model(self, window: Window) -> dict[tuple[str, str], Totals]:
        return await self.fold(window.cover(), "m", lambda model, provider: (model, provider))

    async def by_user(self, window: Window) -> dict[str, Totals]:
        return await self.fold(window.cover(), "u", lambda subject, model: subject)

    async def total(self, window: Window) -> Totals:
        return (await self.fold(window.cover(), "m", lambda a, b: "")).get("", Totals())

    async def active_users(self, window: Window) -> int:
        return len(await self.by_user(window))

    async def series(self, window: Window, *, hourly: bool) -> list[tuple[Bucket, Totals]]:
        """One point per hour or per UTC day of the window, zeros included."""
        parts = [(b, [b]) for b in window.hours()] if hourly else window.days()
        points = await asyncio.gather(
            *(self.fold(cover, "m", lambda a, b: "") for _, cover in parts)
        )
        return [(b, p.get("", Totals())) for (b, _), p in zip(parts, points, strict=True)]
