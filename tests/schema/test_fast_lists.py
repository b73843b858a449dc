"""The fast completion of plain lists answers exactly what graphql-core's own path answers."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import FastListExecution


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Money:
    amount: int
    currency: str


@strawberry.type
class Item:
    name: str
    note: str | None
    colour: Colour
    at: datetime
    tags: list[str]
    price: Money
    maybe: Money | None
    strict: str  # set to None on purpose in one item: a non-null violation

    @strawberry.field
    def shout(self) -> str:  # a resolver: the fast path must step aside
        return self.name.upper()

    @strawberry.field
    def tag(self, index: int) -> str | None:  # an argument: likewise
        return self.tags[index] if index < len(self.tags) else None


def _items(broken: bool) -> list[Item]:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    items = [
        Item(name=f"n{i}", note=None if i % 2 else f"note {i}", colour=Colour.RED if i % 3 else
             Colour.BLUE, at=at, tags=[f"t{i}", "x"], price=Money(amount=i * 100, currency="EUR"),
             maybe=Money(amount=i, currency="USD") if i % 2 else None, strict="ok")
        for i in range(25)
    ]  # fmt: skip
    if broken:
        items[7].strict = None  # type: ignore[assignment]
    return items


@strawberry.type
class Query:
    @strawberry.field
    def items(self, broken: bool = False) -> list[Item]:
        return _items(broken)

    @strawberry.field
    def nullable_items(self) -> list[Item | None]:
        return [*_items(False)[:3], None]


QUERIES = [
    "{ items { name note colour at tags } }",
    "{ items { __typename name price { amount currency __typename } maybe { amount } } }",
    "{ items { a: name b: name c: colour } }",
    "{ items { ...F } } fragment F on Item { name price { currency } }",
    "{ items { ... on Item { name } note } }",
    "query($x: Boolean!) { items { name note @include(if: $x) tags @skip(if: $x) } }",
    "{ items { name shout } }",
    "{ items { name tag(index: 0) } }",
    "{ items(broken: true) { name strict } }",
    "{ items(broken: true) { name } }",
    "{ nullableItems { name } }",
]


async def run(execution: type[Any], query: str) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query, execution_context_class=execution)
    result = await schema.execute(query, variable_values={"x": True})
    return {
        "data": result.data,
        "errors": [(e.message, e.path) for e in result.errors or ()],
    }


@pytest.mark.parametrize("query", QUERIES)
async def test_fast_lists_answer_like_graphql_core(query: str) -> None:
    fast = await run(FastListExecution, query)
    plain = await run(StrawberryGraphQLCoreExecutionContext, query)
    assert fast == plain
    assert fast["data"] is not None or fast["errors"]


async def test_the_fast_path_is_taken_for_plain_lists() -> None:
    """Measured by work done: the plain pipeline resolves every field of every item."""
    calls: list[str] = []

    class Counting(FastListExecution):
        def execute_field(self, *args: Any, **kwargs: Any) -> Any:
            calls.append("field")
            return super().execute_field(*args, **kwargs)

    await run(Counting, "{ items { name note colour price { amount } } }")
    assert len(calls) == 1  # only the root field; the 25 items x 5 fields were built directly
