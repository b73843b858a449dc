"""JobRunner: background jobs with persisted state, live progress and bounded concurrency.

Every domain with long work (model downloads, certificate renewals) registers a handler per
job kind; the runner queues, runs, cancels and resumes jobs, keeps their records in the Store
(collection ``jobs``) and publishes every change on ``jobs:<id>``.

Replicas: a runner owns the jobs it queued and refreshes a liveness entry in the Store. Jobs
whose owner is gone (a crash, a kill -9) are marked ``interrupted`` by the next runner that
starts or sweeps; a runner that stops cleanly marks its own jobs ``interrupted`` itself. A
cancel on another replica is forwarded over ``jobs:control``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable

from gateway.errors import ConflictError
from gateway.jobs.context import Handler, InvalidJobState, JobNotFound
from gateway.jobs.execution import Execution
from gateway.jobs.records import (
    JobError,
    JobRecord,
    JobState,
    new_job_id,
)
from gateway.jobs.replicas import Replicas
from gateway.jobs.store import JobStore
from gateway.jobs.watch import watch_job
from gateway.pubsub.base import PubSub
from gateway.store.base import JSON, Store

log = logging.getLogger("gateway.jobs")


class JobRunner:
    def __init__(
        self,
        *,
        store: Store,
        pubsub: PubSub,
        instance: str | None = None,
        heartbeat: float = 5.0,
        liveness_ttl: float = 20.0,
        persist_interval: float = 1.0,
        keep_finished: int = 200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.instance = instance or secrets.token_hex(6)
        self.records = JobStore(store=store, keep_finished=keep_finished)
        self.execution = Execution(
            records=self.records, pubsub=pubsub, clock=clock, persist_interval=persist_interval
        )
        self.replicas = Replicas(
            store=store,
            pubsub=pubsub,
            instance=self.instance,
            heartbeat=heartbeat,
            ttl=liveness_ttl,
            clock=clock,
            on_cancel=self.execution.cancel_soon,
            sweep=self.sweep,
        )
        self._pubsub = pubsub
        self._clock = clock
        self._lock = asyncio.Lock()  # serialises submits, so deduplication holds in-process

    # -- lifecycle ---------------------------------------------------------------------------
    def register(
        self, kind: str, handler: Handler, *, concurrency: int = 2, max_queued: int = 100
    ) -> None:
        self.execution.register(kind, handler, concurrency=concurrency, max_queued=max_queued)

    async def start(self) -> None:
        self.execution.stopping = False
        await self.replicas.start()
        await self.sweep()

    async def stop(self) -> None:
        """Cancel what runs here and mark it ``interrupted`` (resumable after a restart)."""
        self.execution.stopping = True
        await self.execution.halt_all(within=5.0)
        await self.replicas.stop()

    # -- API ---------------------------------------------------------------------------------
    async def submit(
        self, kind: str, params: JSON, *, actor: str | None = None, key: str | None = None
    ) -> JobRecord:
        """Queue a job; with ``key``, an active job of the same kind and key is returned
        instead of a new one."""
        spec = self.execution.spec(kind)
        async with self._lock:
            active = None if key is None else await self._active(kind, key)
            if active is not None:
                return self.execution.fresh(active)
            queued = self.execution.queued(kind)
            if queued >= spec.max_queued:
                raise InvalidJobState(f"too many queued {kind} jobs ({queued}); try again later")
            job_id = new_job_id()
            if key is not None and (holder := await self.records.claim(kind, key, job_id)):
                return await self._claimed(holder)
            now = self._clock()
            record = JobRecord(
                id=job_id,
                kind=kind,
                state=JobState.QUEUED,
                params=params,
                created_at=now,
                updated_at=now,
                owner=self.instance,
                actor=actor,
                key=key,
                attempts=1,
            )
            return await self.execution.start(record, version=0)

    async def get(self, job_id: str) -> JobRecord | None:
        live = self.execution.live.get(job_id)
        if live is not None:
            return live.record
        return await self.records.get(job_id)

    async def list(self, kind: str, *, states: set[JobState] | None = None) -> list[JobRecord]:
        """Jobs of ``kind``, newest first (live progress where the job runs here)."""
        records = [self.execution.fresh(r) for r in await self.records.list(kind)]
        return [r for r in records if states is None or r.state in states]

    async def cancel(self, job_id: str) -> JobRecord:
        live = self.execution.live.get(job_id)
        if live is not None and live.task is not None:
            await self.execution.cancel(live)
            return await self._require(job_id)
        doc = await self.records.document(job_id)
        if doc is None:
            raise JobNotFound(job_id)
        record = JobRecord.from_json(doc.data)
        if record.finished:
            raise InvalidJobState(f"job {job_id} is already {record.state.value}")
        if record.owner and await self.replicas.alive(record.owner):
            # Its owner records the outcome; our write would only race with its progress.
            await self.replicas.request_cancel(job_id)
            return record.evolve(cancel_requested=True)
        cancelled = self.execution.finished(record, JobState.CANCELLED)
        return await self.execution.write(cancelled, version=doc.version)

    async def resume(self, job_id: str) -> JobRecord:
        """Queue an interrupted, failed or cancelled job again, keeping its id."""
        doc = await self.records.document(job_id)
        if doc is None:
            raise JobNotFound(job_id)
        record = JobRecord.from_json(doc.data)
        self.execution.spec(record.kind)
        if not record.state.resumable:
            raise InvalidJobState(f"job {job_id} is {record.state.value}: nothing to resume")
        async with self._lock:
            other = None if record.key is None else await self._active(record.kind, record.key)
            if other is not None:
                raise InvalidJobState(f"job {other.id} is already doing this")
            now = self._clock()
            queued = record.evolve(
                state=JobState.QUEUED,
                owner=self.instance,
                error=None,
                result=None,
                cancel_requested=False,
                started_at=None,
                finished_at=None,
                updated_at=now,
                attempts=record.attempts + 1,
                seq=0,
            )
            return await self.execution.start(queued, version=doc.version)

    def watch(
        self, job_id: str
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[JobRecord]]:
        """``async with runner.watch(id) as updates: async for record in updates`` — the
        current record first, then every change until the job finishes."""
        return watch_job(job_id, pubsub=self._pubsub, get=self.get)

    async def sweep(self) -> int:
        """Mark active jobs whose runner is gone as interrupted; return how many."""
        count = 0
        alive: dict[str, bool] = {self.instance: True}
        for doc in await self.records.documents():
            record = JobRecord.from_json(doc.data)
            if not record.state.active or record.id in self.execution.live:
                continue
            owner = record.owner or ""
            if owner not in alive:
                alive[owner] = bool(owner) and await self.replicas.alive(owner)
            if alive[owner] and owner != self.instance:
                continue
            error = JobError("the gateway instance running this job stopped", "INTERRUPTED")
            with contextlib.suppress(ConflictError):  # someone else got there first
                interrupted = self.execution.finished(record, JobState.INTERRUPTED, error=error)
                await self.execution.write(interrupted, version=doc.version)
                count += 1
        if count:
            log.warning("marked %d orphaned job(s) interrupted", count)
        return count

    # -- helpers -----------------------------------------------------------------------------
    async def _claimed(self, job_id: str) -> JobRecord:
        """The job another replica claimed the key for, once its record is written."""
        for _ in range(50):
            record = await self.records.get(job_id)
            if record is not None:
                return self.execution.fresh(record)
            await asyncio.sleep(0.05)
        raise InvalidJobState("the same job is being started elsewhere; try again")

    async def _active(self, kind: str, key: str) -> JobRecord | None:
        """The active job of ``kind`` with deduplication key ``key``, if there is one."""
        records = await self.records.list(kind)
        return next((r for r in records if r.key == key and r.state.active), None)

    async def _require(self, job_id: str) -> JobRecord:
        record = await self.get(job_id)
        if record is None:
            raise JobNotFound(job_id)
        return record
