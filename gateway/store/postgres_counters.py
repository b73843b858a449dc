"""The PostgreSQL store's counters (rollups), mixed into PostgresStore.

Writers touch counters in key order, so concurrent ones never deadlock; a guarded update
takes a transaction-scoped advisory lock on the guard, so two replicas never both apply the
same range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import asyncpg

if TYPE_CHECKING:

    class _Base:
        def _conn(self, *, tx: bool = False) -> AbstractAsyncContextManager[asyncpg.Connection]: ...
else:
    _Base = object

# Lookups by a list of names: one primary-key probe each, as _DOCS in postgres.py.
_COUNTERS = (
    "SELECT c.name, c.value FROM unnest($2::text[]) AS wanted(name)"
    " CROSS JOIN LATERAL (SELECT name, value FROM counters"
    " WHERE namespace = $1 AND name = wanted.name OFFSET 0) AS c"
)
_INCR = (
    "INSERT INTO counters SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])"
    " ON CONFLICT (namespace, name) DO UPDATE SET value = counters.value + EXCLUDED.value"
)


class PostgresCounters(_Base):
    # -- counters ------------------------------------------------------------------------
    async def incr(self, namespace: str, deltas: Mapping[str, int]) -> dict[str, int]:
        if not deltas:
            return {}
        names = sorted(deltas)  # a fixed order: concurrent writers never deadlock
        async with self._conn() as c:
            rows = await c.fetch(
                f"{_INCR} RETURNING name, value",
                [namespace] * len(names), names, [int(deltas[n]) for n in names],
            )  # fmt: skip
        return {r[0]: r[1] for r in rows}

    async def incr_many(
        self,
        deltas: Mapping[str, Mapping[str, int]],
        *,
        guard: tuple[str, str, int] | None = None,
    ) -> bool:
        rows = sorted((ns, n, int(d)) for ns, named in deltas.items() for n, d in named.items())
        async with self._conn(tx=True) as c:
            if guard is not None:
                await c.execute(
                    "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", *guard[:2]
                )
                value = await c.fetchval(
                    "SELECT value FROM counters WHERE namespace = $1 AND name = $2", *guard[:2]
                )
                if (value or 0) != guard[2]:
                    return False
            if rows:  # one statement (unnest), in key order so concurrent writers never deadlock
                await c.execute(_INCR, *(list(col) for col in zip(*rows, strict=True)))
        return True

    async def counters(self, namespace: str, names: Sequence[str] | None = None) -> dict[str, int]:
        async with self._conn() as c:
            if names is None:
                rows = await c.fetch(
                    "SELECT name, value FROM counters WHERE namespace = $1", namespace
                )
            elif not names:
                return {}
            else:
                rows = await c.fetch(_COUNTERS, namespace, list(names))
        return {r[0]: r[1] for r in rows}
