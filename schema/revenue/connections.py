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


def key_window(
    items: Sequence[T],
    *,
    kind: str,
    key: Callable[[T], str],
    first: int,
    after: str | None,
    position: Callable[[str], int | None] | None = None,
) -> tuple[int, Sequence[T]]:
    """(start, page): the ``first`` items after the one whose key ``after`` names.
    ``position`` finds a key's index at once (else the list is scanned)."""
    check_first(first)
    start = 0
    wanted = decode_cursor(kind, after)
    if wanted is not None:
        if position is not None:
            index = position(wanted)
        else:
            index = next((i for i, item in enumerate(items) if key(item) == wanted), None)
        if index is None:
            raise BadUserInput("the cursor's item is gone; start again", field="after")
        start = index + 1
    return start, items[start : start + first]


def by_key(
    items: Sequence[T],
    *,
    kind: str,
    key: Callable[[T], str],
    node: Callable[[T], N],
    first: int,
    after: str | None,
    position: Callable[[str], int | None] | None = None,
) -> Connection[N]:
    """A page after the item whose key the ``after`` cursor names, in the list's order."""
    start, page = key_window(items, kind=kind, key=key, first=first, after=after, position=position)
    return key_connection(items, start, page, kind=kind, key=key, node=node)


def key_connection(
    items: Sequence[T],
    start: int,
    page: Sequence[T],
    *,
    kind: str,
    key: Callable[[T], str],
    node: Callable[[T], N],
) -> Connection[N]:
    return build_connection(
        [node(item) for item in page],
        lambda i: encode_cursor(kind, key(page[i])),
        has_next=start + len(page) < len(items),
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
