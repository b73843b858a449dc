"""Stopping background tasks for sure.

redis-py (8.1, seen here) can swallow a ``CancelledError`` that lands while it is in the
middle of a command; the cancelled task then simply carries on, and a shutdown that awaits it
hangs. So cancellation is repeated until the task has really ended, within a deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[object]],
    *,
    within: float = 5.0,
    seen: Callable[[asyncio.Task[object]], bool] | None = None,
) -> bool:
    """Cancel the tasks and wait until each has ended; False if one outlived ``within``.

    ``seen(task)`` says that a task has taken its cancellation and winds down on purpose
    (recording its outcome, say): it is then waited for, no longer cancelled.
    """
    pending = {t for t in tasks if not t.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while pending and loop.time() < deadline:
        for task in pending:
            if seen is None or not seen(task):
                task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(0.05, deadline - loop.time()))
    for task in pending:
        log.warning("background task %s did not stop within %.1fs", task.get_name(), within)
    return not pending
