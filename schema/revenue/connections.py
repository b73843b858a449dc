"""Relay connections over lists the gateway holds whole (key cursors) or pages of Lago's own
list (offset cursors)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from gateway.errors import BadUserInput
from schema.pagination import (
    Connection,
    build_connection,
    check_first,
    decode_cursor,
    encode_cursor,
)

T = TypeVar("T")
N = TypeVar("N")


def by_key(
    items: Sequence[T],
    *,
    kind: str,
    key: Callable[[T], str],
    node: Callable[[T], N],
    first: int,
    after: str | None,
) -> Connection[N]:
    """A page after the item whose key the ``after`` cursor names, in the list's order."""
    check_first(first)
    start = 0
    wanted = decode_cursor(kind, after)
    if wanted is not None:
        index = next((i for i, item in enumerate(items) if key(item) == wanted), None)
        if index is None:
            raise BadUserInput("the cursor's item is gone; start again", field="after")
        start = index + 1
    page = items[start : start + first]
    return build_connection(
        [node(item) for item in page],
        [encode_cursor(kind, key(item)) for item in page],
        has_next=start + first < len(items),
        has_previous=start > 0,
        total=len(items),
    )


def by_offset(
    page: Sequence[T], *, kind: str, node: Callable[[T], N], offset: int, total: int
) -> Connection[N]:
    """A page of a list the backend pages itself; cursors hold the next offset."""
    return build_connection(
        [node(item) for item in page],
        lambda i: encode_cursor(kind, offset + i + 1),
        has_next=offset + len(page) < total,
        has_previous=offset > 0,
        total=total,
    )
