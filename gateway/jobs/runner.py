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
from dataclasses import dataclass, field

from gateway.errors import ConflictError, GatewayError
from gateway.jobs.context import Handler, InvalidJobState, JobContext, JobFailed, JobNotFound
from gateway.jobs.records import (
    JobError,
    JobRecord,
    JobState,
    channel,
    new_job_id,
)
from gateway.jobs.replicas import Replicas
from gateway.jobs.store import JobStore
from gateway.jobs.watch import watch_job
from gateway.pubsub.base import PubSub
from gateway.store.base import JSON, Store

log = logging.getLogger("gateway.jobs")


@dataclass(slots=True)
class _Kind:
    handler: Handler
    slots: asyncio.Semaphore
    max_queued: int


@dataclass(slots=True)
class _Live:
    record: JobRecord
    ctx: JobContext
    task: asyncio.Task[None] | None = None
    persisted_at: float = field(default=0.0)


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
        self.replicas = Replicas(
            store=store,
            pubsub=pubsub,
            instance=self.instance,
            heartbeat=heartbeat,
            ttl=liveness_ttl,
            clock=clock,
            on_cancel=self._cancel_local,
            sweep=self.sweep,
        )
        self._pubsub = pubsub
        self._persist_interval = persist_interval
        self._clock = clock
        self._kinds: dict[str, _Kind] = {}
        self._live: dict[str, _Live] = {}
        self._lock = asyncio.Lock()  # serialises submits, so deduplication holds in-process
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------
    def register(
        self, kind: str, handler: Handler, *, concurrency: int = 2, max_queued: int = 100
    ) -> None:
        if kind in self._kinds:
            raise ValueError(f"job kind {kind!r} is registered twice")
        self._kinds[kind] = _Kind(handler, asyncio.Semaphore(max(1, concurrency)), max_queued)

    async def start(self) -> None:
        self._stopping = False
        await self.replicas.start()
        await self.sweep()

    async def stop(self) -> None:
        """Cancel what runs here and mark it ``interrupted`` (resumable after a restart)."""
        self._stopping = True
        tasks = [live.task for live in self._live.values() if live.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        await self.replicas.stop()

    # -- API ---------------------------------------------------------------------------------
    async def submit(
        self, kind: str, params: JSON, *, actor: str | None = None, key: str | None = None
    ) -> JobRecord:
        """Queue a job; with ``key``, an active job of the same kind and key is returned
        instead of a new one."""
        spec = self._spec(kind)
        async with self._lock:
            if key is not None:
                for record in await self.records.list(kind):
                    if record.key == key and record.state.active:
                        return self._fresh(record)
            queued = sum(
                1
                for live in self._live.values()
                if live.record.kind == kind and live.record.state is JobState.QUEUED
            )
            if queued >= spec.max_queued:
                raise InvalidJobState(f"too many queued {kind} jobs ({queued}); try again later")
            now = self._clock()
            record = JobRecord(
                id=new_job_id(),
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
            return await self._schedule(record, version=0)

    async def get(self, job_id: str) -> JobRecord | None:
        live = self._live.get(job_id)
        if live is not None:
            return live.record
        return await self.records.get(job_id)

    async def list(self, kind: str, *, states: set[JobState] | None = None) -> list[JobRecord]:
        """Jobs of ``kind``, newest first (live progress where the job runs here)."""
        records = [self._fresh(r) for r in await self.records.list(kind)]
        return [r for r in records if states is None or r.state in states]

    async def cancel(self, job_id: str) -> JobRecord:
        live = self._live.get(job_id)
        if live is not None and live.task is not None:
            live.record = live.record.evolve(cancel_requested=True)
            live.ctx.cancelled.set()
            live.task.cancel()
            await asyncio.wait([live.task], timeout=10)
            return await self._require(job_id)
        doc = await self.records.document(job_id)
        if doc is None:
            raise JobNotFound(job_id)
        record = JobRecord.from_json(doc.data)
        if record.finished:
            raise InvalidJobState(f"job {job_id} is already {record.state.value}")
        if record.owner and await self.replicas.alive(record.owner):
            await self.replicas.request_cancel(job_id)
            return await self._write(record.evolve(cancel_requested=True), version=doc.version)
        return await self._write(self._finished(record, JobState.CANCELLED), version=doc.version)

    async def resume(self, job_id: str) -> JobRecord:
        """Queue an interrupted, failed or cancelled job again, keeping its id."""
        doc = await self.records.document(job_id)
        if doc is None:
            raise JobNotFound(job_id)
        record = JobRecord.from_json(doc.data)
        self._spec(record.kind)
        if not record.state.resumable:
            raise InvalidJobState(f"job {job_id} is {record.state.value}: nothing to resume")
        async with self._lock:
            if record.key is not None:
                for other in await self.records.list(record.kind):
                    if other.key == record.key and other.state.active:
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
            return await self._schedule(queued, version=doc.version)

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
            if not record.state.active or record.id in self._live:
                continue
            owner = record.owner or ""
            if owner not in alive:
                alive[owner] = bool(owner) and await self.replicas.alive(owner)
            if alive[owner] and owner != self.instance:
                continue
            error = JobError("the gateway instance running this job stopped", "INTERRUPTED")
            with contextlib.suppress(ConflictError):  # someone else got there first
                await self._write(
                    self._finished(record, JobState.INTERRUPTED, error=error), version=doc.version
                )
                count += 1
        if count:
            log.warning("marked %d orphaned job(s) interrupted", count)
        return count

    # -- running -----------------------------------------------------------------------------
    async def _schedule(self, record: JobRecord, *, version: int) -> JobRecord:
        ctx = JobContext(record=record, report=self._report)
        live = _Live(record=record, ctx=ctx)
        self._live[record.id] = live
        try:
            live.record = await self._write(record, version=version)
        except BaseException:
            self._live.pop(record.id, None)
            raise
        ctx.record = live.record
        live.task = asyncio.create_task(self._run(live), name=f"job-{record.kind}-{record.id}")
        return live.record

    async def _run(self, live: _Live) -> None:
        spec = self._kinds[live.record.kind]
        try:
            try:
                async with spec.slots:
                    now = self._clock()
                    running = live.record.evolve(state=JobState.RUNNING, started_at=now)
                    await self._save(live, running, force=True)
                    live.ctx.record = live.record
                    result = await spec.handler(live.ctx)
                await self._end(live, JobState.SUCCEEDED, result=result)
            except asyncio.CancelledError:
                live.ctx.cancelled.set()
                if self._stopping:
                    error = JobError("the gateway stopped while the job ran", "INTERRUPTED")
                    await self._end(live, JobState.INTERRUPTED, error=error)
                else:
                    await self._end(live, JobState.CANCELLED)
            except JobFailed as exc:
                await self._end(live, JobState.FAILED, error=JobError(exc.message, exc.code))
            except GatewayError as exc:
                error = JobError(exc.message, exc.code.value)
                await self._end(live, JobState.FAILED, error=error)
            except Exception:
                log.exception("job %s (%s) failed", live.record.id, live.record.kind)
                error = JobError("internal error (see the gateway log)", "INTERNAL")
                await self._end(live, JobState.FAILED, error=error)
        except Exception:  # the store or pub/sub failed while recording the outcome
            log.exception("job %s: could not record its outcome", live.record.id)
        finally:
            live.ctx.cancelled.set()
            self._live.pop(live.record.id, None)

    async def _end(
        self,
        live: _Live,
        state: JobState,
        *,
        result: JSON | None = None,
        error: JobError | None = None,
    ) -> None:
        record = self._finished(live.record, state, error=error).evolve(result=result)
        await self._save(live, record, force=True)
        await self.records.prune(record.kind)

    def _finished(
        self, record: JobRecord, state: JobState, *, error: JobError | None = None
    ) -> JobRecord:
        now = self._clock()
        return record.evolve(
            state=state,
            error=error,
            finished_at=now,
            updated_at=now,
            owner=None,
            seq=record.seq + 1,
        )

    async def _report(self, job_id: str, progress: JSON) -> None:
        live = self._live.get(job_id)
        if live is None or live.record.finished:
            return
        await self._save(live, live.record.evolve(progress=progress))

    async def _save(self, live: _Live, record: JobRecord, *, force: bool = False) -> None:
        """Publish every change; persist state changes at once, progress at a bounded rate."""
        now = self._clock()
        if record.seq <= live.record.seq:
            record = record.evolve(seq=live.record.seq + 1)
        live.record = record.evolve(updated_at=now)
        if force or now - live.persisted_at >= self._persist_interval:
            live.persisted_at = now
            await self.records.put(live.record)
        await self._publish(live.record)

    async def _write(self, record: JobRecord, *, version: int | None) -> JobRecord:
        record = record.evolve(updated_at=self._clock())
        await self.records.put(record, version=version)
        await self._publish(record)
        return record

    async def _publish(self, record: JobRecord) -> None:
        try:
            await self._pubsub.publish(channel(record.id), record.to_json())
        except Exception as exc:  # live progress is best effort; the store has the truth
            log.warning("job %s: publish failed (%s)", record.id, exc)

    # -- helpers -----------------------------------------------------------------------------
    def _spec(self, kind: str) -> _Kind:
        spec = self._kinds.get(kind)
        if spec is None:
            raise InvalidJobState(f"no handler for job kind {kind!r}")
        return spec

    def _fresh(self, record: JobRecord) -> JobRecord:
        live = self._live.get(record.id)
        return live.record if live is not None else record

    async def _require(self, job_id: str) -> JobRecord:
        record = await self.get(job_id)
        if record is None:
            raise JobNotFound(job_id)
        return record

    def _cancel_local(self, job_id: str) -> None:
        live = self._live.get(job_id)
        if live is not None and live.task is not None:
            live.ctx.cancelled.set()
            live.task.cancel()
