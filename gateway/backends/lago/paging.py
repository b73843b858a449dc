"""Lago's paged lists (DESIGN §8): a window of a list, or every page of it.

A *window* (``offset``, ``limit``) is what a connection asks for: it costs the fewest Lago
calls that cover it (:func:`plan_window`), one call for a page of up to 100 items whose offset
is a multiple of its size — whatever the size of the list. *Every page* is for the revenue
snapshot, built in the background: the first page tells how many pages there are, the rest
are fetched ``page_concurrency`` at a time, and ``next_page`` is followed past the announced
end should the list grow meanwhile. There is no cap on a list's length.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from gateway.backends.lago.models import PageMeta, WireError, decode_page
from gateway.backends.windows import plan_window
from gateway.errors import BackendError

if TYPE_CHECKING:
    from gateway.backends.base import BackendClient

    _Base = BackendClient
else:
    _Base = object

T = TypeVar("T")
MAX_PAGE_SIZE = 100
Params = Mapping[str, Any]


class PagedLists(_Base):
    """Mixed into a :class:`~gateway.backends.base.BackendClient` subclass."""

    page_size: int = MAX_PAGE_SIZE
    page_concurrency: int = 4

    async def window(
        self,
        path: str,
        key: str,
        model: type[T],
        params: Params | None,
        *,
        offset: int,
        limit: int,
    ) -> tuple[list[T], int]:
        """Items ``offset`` .. ``offset + limit`` of a list and its total (Lago's ``meta``)."""
        size, first_page, pages = plan_window(offset, limit, self.page_size)
        got = await self._gather(
            [
                functools.partial(self._page, path, key, model, params, p, size)
                for p in range(first_page, first_page + pages)
            ]
        )
        items = [item for page_items, _ in got for item in page_items]
        start = offset - (first_page - 1) * size
        return items[start : start + limit], got[0][1].total_count

    async def list_all(
        self, path: str, key: str, model: type[T], params: Params | None = None
    ) -> list[T]:
        """Every item of a paginated list, de-duplicated by ``lago_id`` (see module doc)."""
        items, meta = await self._page(path, key, model, params, 1)
        rest = await self._gather(
            [
                functools.partial(self._page, path, key, model, params, p)
                for p in range(2, meta.total_pages + 1)
            ]
        )
        for page_items, page_meta in rest:
            items += page_items
            meta = page_meta
        # Items added while we listed push the list past the announced last page; every page
        # followed adds items, so the guard also ends this loop.
        while meta.next_page is not None and meta.next_page > meta.current_page:
            page_items, meta = await self._page(path, key, model, params, meta.next_page)
            if not page_items:
                break
            items += page_items
        return _dedupe(items)

    async def _page(
        self,
        path: str,
        key: str,
        model: type[T],
        params: Params | None,
        page: int,
        size: int | None = None,
    ) -> tuple[list[T], PageMeta]:
        query = {**(params or {}), "page": page, "per_page": size or self.page_size}
        response = await self.request("GET", path, params=query)
        return self._parse(path, lambda: decode_page(key, model, response.content))

    async def _gather(self, calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
        """Run the page calls ``page_concurrency`` at a time, results in order."""
        slots = asyncio.Semaphore(self.page_concurrency)

        async def one(call: Callable[[], Awaitable[T]]) -> T:
            async with slots:
                return await call()

        tasks = [asyncio.ensure_future(one(call)) for call in calls]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:  # one page failed: the list is lost, stop the others
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def _parse(self, path: str, build: Callable[[], T]) -> T:
        try:
            return build()
        except (WireError, KeyError, TypeError) as exc:
            raise BackendError(
                f"unexpected response from {self.name} on {path}: {exc}", backend=self.name
            ) from None


def rows(body: Any, key: str) -> list[Any]:
    found = body[key] if isinstance(body, dict) else None
    if not isinstance(found, list):
        raise WireError(f"expected a list under {key!r}")
    return found


def _dedupe(items: list[T]) -> list[T]:
    seen: set[str] = set()
    out = []
    for item in items:
        ident = getattr(item, "lago_id", None)
        if ident is None or ident not in seen:
            out.append(item)
            if ident is not None:
                seen.add(ident)
    return out
