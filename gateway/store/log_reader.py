"""What the three stores' logs share: :meth:`LogReader.read`'s arguments and bounds. Each
store answers for one window of cursors in ``_window``."""

from __future__ import annotations

import builtins

from gateway.store.base import LogEntry

NO_BOUND = 2**63 - 1
"""``before`` when none is given: past every cursor (and still a PostgreSQL ``bigint``)."""


class LogReader:
    async def read(
        self,
        stream: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
        reverse: bool = False,
    ) -> builtins.list[LogEntry]:
        """Entries with ``after < cursor < before``; oldest first, or newest first if reverse."""
        if limit <= 0:
            return []
        lo = -1 if after is None else after
        hi = NO_BOUND if before is None else before
        return await self._window(stream, lo, hi, limit, reverse)

    async def _window(
        self, stream: str, lo: int, hi: int, limit: int, reverse: bool
    ) -> builtins.list[LogEntry]:
        """At most ``limit`` entries with ``lo < cursor < hi`` (``hi`` may be NO_BOUND)."""
        raise NotImplementedError
