"""Relay connections (DESIGN §5): ``first``/``after``, ``pageInfo`` and ``totalCount``.

Cursors hold an item's index (lists fetched whole or paged by offset) or its key (lists the
gateway holds whole, where an index would shift when an item comes or goes)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from gateway.errors import BadUserInput

T = TypeVar("T")
S = TypeVar("S")
MAX_PAGE = 500


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


def _edges(root: Connection[T]) -> list[Edge[T]]:
    return [Edge(cursor=root.cursor_at(i), node=n) for i, n in enumerate(root.items)]


@strawberry.type
class Connection(Generic[T]):
    # Edges are built only when asked for: most dashboards select ``nodes`` and never pay
    # for a cursor per item.
    edges: list[Edge[T]] = strawberry.field(resolver=_edges)
    page_info: PageInfo
    total_count: int
    items: strawberry.Private[Sequence[T]]
    cursor_at: strawberry.Private[Callable[[int], str]]

    @strawberry.field
    def nodes(self) -> list[T]:
        return self.items if isinstance(self.items, list) else list(self.items)


def encode_cursor(kind: str, value: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, _, value = base64.urlsafe_b64decode(padded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise BadUserInput("invalid cursor", field="after") from None
    if prefix != kind or not value:
        raise BadUserInput("invalid cursor", field="after")
    return value


def decode_index(kind: str, cursor: str | None) -> int | None:
    """The number an offset cursor holds; None without a cursor."""
    value = decode_cursor(kind, cursor)
    if value is None:
        return None
    if not value.isdigit():
        raise BadUserInput("invalid cursor", field="after")
    return int(value)


def start_after(kind: str, after: str | None) -> int:
    """Where a page starts when each cursor holds its item's index: just past ``after``'s."""
    index = decode_index(kind, after)
    return 0 if index is None else index + 1


def check_first(first: int) -> int:
    if first < 0 or first > MAX_PAGE:
        raise BadUserInput(f"first must be between 0 and {MAX_PAGE}", field="first")
    return first


def build_connection(
    nodes: Sequence[T],
    cursors: Sequence[str] | Callable[[int], str],
    *,
    has_next: bool,
    has_previous: bool,
    total: int,
) -> Connection[T]:
    """A page of ``nodes``; ``cursors`` lists their cursors or makes the i-th on demand."""
    if callable(cursors):
        cursor_at = cursors
    else:
        if len(cursors) != len(nodes):
            raise ValueError("one cursor per node")
        cursor_at = cursors.__getitem__
    return Connection(
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=cursor_at(0) if nodes else None,
            end_cursor=cursor_at(len(nodes) - 1) if nodes else None,
        ),
        total_count=total,
        items=nodes,
        cursor_at=cursor_at,
    )


def index_connection(nodes: Sequence[T], *, kind: str, start: int, total: int) -> Connection[T]:
    """A page of ``total`` items from index ``start``; each cursor holds its item's index."""
    return build_connection(
        nodes,
        lambda i: encode_cursor(kind, start + i),
        has_next=start + len(nodes) < total,
        has_previous=start > 0,
        total=total,
    )


def list_connection(
    kind: str, items: Sequence[S], build: Callable[[S], T], first: int, after: str | None
) -> Connection[T]:
    """Offset paging over a list fetched whole."""
    check_first(first)
    start = start_after(kind, after)
    page = [build(item) for item in items[start : start + first]]
    return index_connection(page, kind=kind, start=start, total=len(items))


def key_window(
    items: Sequence[S],
    *,
    kind: str,
    key: Callable[[S], str],
    first: int,
    after: str | None,
    position: Callable[[str], int | None] | None = None,
    restart_if_gone: bool = False,
) -> tuple[int, Sequence[S]]:
    """(start, page): the ``first`` items after the one whose key ``after`` names.
    ``position`` finds a key's index at once (else the list is scanned). When that item is
    gone: an error asking to start again, or (``restart_if_gone``) the first page."""
    check_first(first)
    start = 0
    wanted = decode_cursor(kind, after)
    if wanted is not None:
        if position is not None:
            index = position(wanted)
        else:
            index = next((i for i, item in enumerate(items) if key(item) == wanted), None)
        if index is None and not restart_if_gone:
            raise BadUserInput("the cursor's item is gone; start again", field="after")
        start = 0 if index is None else index + 1
    return start, items[start : start + first]


def by_key(
    items: Sequence[S],
    *,
    kind: str,
    key: Callable[[S], str],
    node: Callable[[S], T],
    first: int,
    after: str | None,
    restart_if_gone: bool = False,
) -> Connection[T]:
    """A page after the item whose key the ``after`` cursor names, in the list's order."""
    start, page = key_window(
        items, kind=kind, key=key, first=first, after=after, restart_if_gone=restart_if_gone
    )
    return key_connection(items, start, page, kind=kind, key=key, node=node)


def key_connection(
    items: Sequence[S],
    start: int,
    page: Sequence[S],
    *,
    kind: str,
    key: Callable[[S], str],
    node: Callable[[S], T],
) -> Connection[T]:
    return build_connection(
        [node(item) for item in page],
        lambda i: encode_cursor(kind, key(page[i])),
        has_next=start + len(page) < len(items),
        has_previous=start > 0,
        total=len(items),
    )


def by_offset(
    page: Sequence[S], *, kind: str, node: Callable[[S], T], offset: int, total: int
) -> Connection[T]:
    """A page of a list the backend pages itself; cursors hold the next offset."""
    return build_connection(
        [node(item) for item in page],
        lambda i: encode_cursor(kind, offset + i + 1),
        has_next=offset + len(page) < total,
        has_previous=offset > 0,
        total=total,
    )
