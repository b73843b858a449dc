"""Windows of paged backend lists: which pages to ask for a connection's slice."""

from __future__ import annotations

MAX_PAGE_SIZE = 100


def plan_window(offset: int, limit: int, max_size: int = MAX_PAGE_SIZE) -> tuple[int, int, int]:
    """(page size, first page, page count) covering ``offset .. offset + limit``: the fewest
    calls, then the smallest pages (fewer items to parse). A connection that keeps its
    ``first`` gets one call per page of up to 100 items."""
    if limit <= 0:
        return 1, offset + 1, 1  # one item, for the total alone
    if limit <= max_size and offset % limit == 0:  # the usual case: a page of a steady size
        return limit, offset // limit + 1, 1
    best = (0, 0)
    for size in range(1, max_size + 1):
        calls = -(-(offset % size + limit) // size)
        if best == (0, 0) or calls < best[0]:
            best = (calls, size)
    calls, size = best
    return size, offset // size + 1, calls
