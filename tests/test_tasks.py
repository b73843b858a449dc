"""cancel_and_wait stops tasks even when a cancellation is swallowed (as redis-py can)."""

from __future__ import annotations

import asyncio
import contextlib

from gateway.tasks import cancel_and_wait


async def _swallows_first_cancel(seen: list[str]) -> None:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        seen.append("swallowed")  # like a library catching it mid-command and carrying on
    await asyncio.Event().wait()  # carries on, until cancelled again


async def _stops_only_when_allowed(allowed: asyncio.Event) -> None:
    while not allowed.is_set():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)


async def test_a_swallowed_cancellation_is_repeated_until_the_task_ends() -> None:
    seen: list[str] = []
    task = asyncio.create_task(_swallows_first_cancel(seen))
    await asyncio.sleep(0.01)
    assert await cancel_and_wait([task], within=2) is True
    assert task.cancelled()
    assert seen == ["swallowed"]


async def test_a_task_that_refuses_to_stop_is_reported_within_the_deadline() -> None:
    allowed = asyncio.Event()
    task = asyncio.create_task(_stops_only_when_allowed(allowed))
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await cancel_and_wait([task], within=0.3) is False
    assert loop.time() - start < 1.0
    assert not task.done()
    allowed.set()
    assert await cancel_and_wait([task], within=2) is True


async def test_finished_tasks_and_empty_input() -> None:
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    assert await cancel_and_wait([done]) is True
    assert await cancel_and_wait([]) is True
