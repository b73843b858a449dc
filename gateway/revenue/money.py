"""Money as integer minor units (cents) per ISO 4217 currency; exact sums, one rounding."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

Amounts = dict[str, Fraction]
"""Exact amounts in cents by currency, before rounding."""


@dataclass(frozen=True, slots=True, order=True)
class Money:
    currency: str
    amount_cents: int


def round_cents(value: Fraction | int) -> int:
    """Nearest cent, halves away from zero (so +x and -x round symmetrically)."""
    value = Fraction(value)
    half = Fraction(1, 2)
    return math.floor(value + half) if value >= 0 else -math.floor(-value + half)


def round_twelfths(twelfths: int) -> int:
    """:func:`round_cents` of ``twelfths / 12``, in integers."""
    half_up = (2 * abs(twelfths) + 12) // 24
    return half_up if twelfths >= 0 else -half_up


def add(into: Amounts, currency: str, value: Fraction | int) -> None:
    into[currency] = into.get(currency, Fraction(0)) + value


def rounded(amounts: Mapping[str, Fraction | int], currencies: Iterable[str] = ()) -> list[Money]:
    """One :class:`Money` per currency, sorted by currency; ``currencies`` adds zero rows."""
    keys = sorted({*amounts, *currencies})
    return [Money(c, round_cents(amounts.get(c, 0))) for c in keys]


def scaled(amounts: Mapping[str, Fraction], factor: int | Fraction) -> Amounts:
    return {c: v * factor for c, v in amounts.items()}
