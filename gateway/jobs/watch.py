"""Following one job: its current record, then every published change until it finishes.

Pub/sub is at-most-once (a slow subscriber loses its oldest messages), so the watcher also
re-reads the record when nothing arrived for a while: a lost final message cannot leave a
subscription hanging on a job that has long finished.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from gateway.jobs.context import JobNotFound
from gateway.jobs.records import JobRecord, channel
from gateway.pubsub.base import Message, PubSub


def _order(record: JobRecord) -> tuple[int, int]:
    # ``seq`` restarts when a job is resumed, ``attempts`` grows then.
    return (record.attempts, record.seq)


@asynccontextmanager
async def watch_job(
    job_id: str,
    *,
    pubsub: PubSub,
    get: Callable[[str], Awaitable[JobRecord | None]],
    poll: float = 2.0,
) -> AsyncIterator[AsyncIterator[JobRecord]]:
    async with pubsub.subscribe(channel(job_id)) as messages:
        # Read after subscribing: a change between the two is seen, not lost.
        first = await get(job_id)
        if first is None:
            raise JobNotFound(job_id)
        yield _follow(job_id, first, messages, get=get, poll=poll)


async def _follow(
    job_id: str,
    first: JobRecord,
    messages: AsyncIterator[Message],
    *,
    get: Callable[[str], Awaitable[JobRecord | None]],
    poll: float,
) -> AsyncIterator[JobRecord]:
    last = first
    yield first
    iterator = aiter(messages)
    while not last.finished:
        try:
            record: JobRecord | None = JobRecord.from_json(
                await asyncio.wait_for(anext(iterator), poll)
            )
        except TimeoutError:
            record = await get(job_id)
        except StopAsyncIteration:  # the pub/sub closed (the app is stopping)
            return
        if record is None:  # pruned meanwhile
            return
        if _order(record) < _order(last) or (
            _order(record) == _order(last) and record.state == last.state
        ):
            continue  # stale or a repeat (a poll that found nothing new)
        last = record
        yield record
