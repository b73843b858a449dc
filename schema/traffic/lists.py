"""Traefik's routers, services and middlewares as connections paged by Traefik itself.

A page of ``first`` items costs the Traefik calls that cover it, whatever the size of the
configuration; ``search`` and ``status`` are Traefik's own filters; ``provider`` becomes a
search for ``@<provider>`` (names end with it). ``totalCount`` costs one ``/api/overview``
call unfiltered, and a count of the filtered list otherwise — only when it is selected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from gateway.context import Info
from gateway.traffic.models import TraefikQuery
from schema.pagination import Connection, build_connection, check_first, encode_cursor, start_after
from schema.selection import selects
from schema.traffic.nodes import traffic

T = TypeVar("T")
N = TypeVar("N")


def provider_of(item: Any) -> str:
    return str(item.provider)  # routers, services and middlewares all name theirs


async def traefik_connection(
    info: Info,
    collection: str,
    *,
    parse: Callable[[dict[str, Any]], T],
    build: Callable[[T], N],
    provider_of: Callable[[T], str],
    first: int,
    after: str | None,
    search: str | None = None,
    provider: str | None = None,
    status: str | None = None,
) -> Connection[N]:
    service = traffic(info)
    kind = collection.rstrip("s")
    limit = check_first(first)
    offset = start_after(kind, after)
    where = search or (f"@{provider}" if provider else None)
    if provider and search:  # Traefik takes one search term: the provider is checked here
        every = [parse(r) for r in await service.list(TraefikQuery(collection, search, status))]
        items = [o for o in every if provider_of(o) == provider]
        page = items[offset : offset + limit]
        more, total = offset + limit < len(items), len(items)
    else:
        query = TraefikQuery(collection, where, status)
        raw, more = await service.window(query, offset=offset, limit=limit)
        page = [o for o in map(parse, raw) if not provider or provider_of(o) == provider]
        total = offset + len(page) + int(more)
        if selects(info, "totalCount"):
            if where or status:
                total = await service.count(query)
            else:
                total = (await service.totals())[collection]
    return build_connection(
        [build(o) for o in page],
        lambda i: encode_cursor(kind, offset + i),
        has_next=more,
        has_previous=offset > 0,
        total=total,
    )


def filtered_list(
    collection: str, parse: Callable[[dict[str, Any]], T], node: Any
) -> Callable[..., Awaitable[Connection[Any] | None]]:
    """The resolver of a list Traefik filters by search, provider and status (routers and
    services take the same arguments); ``node`` is the GraphQL type, built by its ``build``.
    Strawberry reads the signature, so the return type is set here: the SDL is the one a
    method with this signature would give."""

    async def resolve(
        info: Info,
        search: str | None = None,
        provider: str | None = None,
        status: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[Any] | None:
        return await traefik_connection(
            info, collection, parse=parse, build=node.build, provider_of=provider_of, first=first,
            after=after, search=search, provider=provider, status=status,
        )  # fmt: skip

    resolve.__annotations__["return"] = Connection[node] | None  # type: ignore[valid-type]
    return resolve
