"""Integer scalars wider than GraphQL's 32-bit ``Int``, registered in the schema's scalar_map.

Each is a JSON number; only ``Cents`` is bounded, so JavaScript reads money exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

MAX_SAFE = 2**53 - 1

Cents = NewType("Cents", int)
Bytes = NewType("Bytes", int)
UsageCount = NewType("UsageCount", int)


def _cents(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_SAFE:
        raise ValueError("Cents must be an integer within ±(2^53 - 1)")
    return value


def _integer(name: str, description: str, convert: Callable[[Any], int] = int) -> ScalarDefinition:
    return strawberry.scalar(
        name=name, description=description, serialize=convert, parse_value=convert
    )


SCALARS: dict[object, ScalarDefinition] = {
    Cents: _integer(
        "Cents",
        "An integer number of minor currency units (cents for USD and EUR), within "
        "±(2^53 - 1) so JavaScript reads it exactly: a JSON number. Money is never a float.",
        _cents,
    ),
    Bytes: _integer(
        "Bytes", "A number of bytes (or parameters): may exceed 32 bits, a JSON number."
    ),
    UsageCount: _integer(
        "UsageCount", "A count that may exceed 32 bits (tokens over months): a JSON number."
    ),
}
