"""Model prices with effective dates, and exact cost arithmetic.

A price is per million tokens (input, output, cached input), in force from a UTC date until
the model's next price. Prices are stored as decimal strings; costs are computed in integer
femto-units (1e-15 of the currency), so sums are exact and never pass through a float.
Because prices change on whole days, an hour or day rollup bucket has exactly one price in
force, which lets queries price rollups (and re-price them when a price is set afterwards).
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.errors import BadUserInput, ConflictError
from gateway.store import names
from gateway.store.base import Store, all_documents

CURRENCY = "USD"
FEMTO_EXP = 15
NANOS_PER_UNIT = 10**9
MAX_PRICE = Decimal(1_000_000)
MAX_PRICE_DECIMALS = 9


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros or exponent notation (``100``, not ``1E+2``)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value  # type: ignore[operator]


def money(femto: int) -> Decimal:
    """An exact Decimal from femto-units."""
    return plain(Decimal(femto).scaleb(-FEMTO_EXP))


def parse_price(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadUserInput(f"{field} must be a decimal number", field=field) from None
    if not amount.is_finite() or not 0 <= amount <= MAX_PRICE:
        raise BadUserInput(f"{field} must be between 0 and {MAX_PRICE}", field=field)
    if -amount.normalize().as_tuple().exponent > MAX_PRICE_DECIMALS:  # type: ignore[operator]
        raise BadUserInput(f"{field} has more than {MAX_PRICE_DECIMALS} decimals", field=field)
    return plain(amount)


def _text(amount: Decimal) -> str:
    return format(plain(amount), "f")


@dataclass(frozen=True, slots=True)
class Price:
    model: str
    effective_from: date
    input: Decimal
    """Per million prompt tokens that were not served from cache."""
    output: Decimal
    """Per million completion tokens."""
    cached: Decimal
    """Per million cached prompt tokens."""
    set_by: str | None = None
    set_at: float | None = None

    def _nanos(self, amount: Decimal) -> int:
        return int(amount * NANOS_PER_UNIT)  # exact: at most 9 decimals

    def components(self, prompt: int, completion: int, cached: int) -> tuple[int, int, int]:
        """(input, cached, output) cost in femto-units: tokens x nano-units per million."""
        return (
            (prompt - cached) * self._nanos(self.input),
            cached * self._nanos(self.cached),
            completion * self._nanos(self.output),
        )

    def cost(self, prompt: int, completion: int, cached: int) -> int:
        return sum(self.components(prompt, completion, cached))

    def to_json(self) -> dict[str, Any]:
        return {
            "effective_from": self.effective_from.isoformat(),
            "input": _text(self.input),
            "output": _text(self.output),
            "cached": _text(self.cached),
            "set_by": self.set_by,
            "set_at": self.set_at,
        }

    @classmethod
    def from_json(cls, model: str, data: dict[str, Any]) -> Price:
        return cls(
            model=model,
            effective_from=date.fromisoformat(data["effective_from"]),
            input=Decimal(data["input"]),
            output=Decimal(data["output"]),
            cached=Decimal(data["cached"]),
            set_by=data.get("set_by"),
            set_at=data.get("set_at"),
        )


class PriceTable:
    """Every model's price history in memory; ``at(model, day)`` is the price in force."""

    def __init__(self, history: dict[str, list[Price]]) -> None:
        self.history = {m: sorted(h, key=lambda p: p.effective_from) for m, h in history.items()}
        self._days = {m: [p.effective_from for p in h] for m, h in self.history.items()}

    def at(self, model: str, day: date) -> Price | None:
        days = self._days.get(model)
        if not days:
            return None
        i = bisect.bisect_right(days, day)
        return self.history[model][i - 1] if i else None

    def current(self, day: date) -> list[tuple[str, Price | None]]:
        return [(m, self.at(m, day)) for m in sorted(self.history)]


class PriceBook:
    """Prices in the store (one document per model); a short-lived cache for hot paths."""

    def __init__(self, *, store: Store, cache_seconds: float = 2.0) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, PriceTable] | None = None

    async def table(self, *, fresh: bool = False) -> PriceTable:
        now = time.monotonic()
        if not fresh and self._cached and now - self._cached[0] < self._cache_seconds:
            return self._cached[1]
        history = {
            doc.id: [Price.from_json(doc.id, e) for e in doc.data["entries"]]
            async for doc in all_documents(self._store, names.USAGE_PRICES)
        }
        table = PriceTable(history)
        self._cached = (now, table)
        return table

    async def set(
        self,
        *,
        model: str,
        input: Decimal,
        output: Decimal,
        cached: Decimal,
        effective_from: date,
        actor: str,
    ) -> tuple[Price, Price | None]:
        """Set the model's price from ``effective_from`` (replacing one set for that very day);
        return it and the entry it replaced, if any."""
        price = Price(model, effective_from, input, output, cached, actor, time.time())
        for _ in range(20):  # optimistic update: retry when another writer got there first
            doc = await self._store.get(names.USAGE_PRICES, model)
            entries = list(doc.data["entries"]) if doc else []
            key = effective_from.isoformat()
            replaced = next((e for e in entries if e["effective_from"] == key), None)
            entries = [e for e in entries if e["effective_from"] != key] + [price.to_json()]
            entries.sort(key=lambda e: e["effective_from"])
            try:
                await self._store.put(
                    names.USAGE_PRICES,
                    model,
                    {"model": model, "entries": entries},
                    expected_version=doc.version if doc else 0,
                )
            except ConflictError:
                continue
            self._cached = None
            return price, (Price.from_json(model, replaced) if replaced else None)
        raise ConflictError(f"the price of {model} is being changed concurrently; try again")
