"""Running jobs in this process: bounded concurrency per kind, cancellation that sticks,
progress published on every report and persisted at a bounded rate."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.errors import GatewayError
from gateway.jobs.context import Handler, InvalidJobState, JobContext, JobFailed
from gateway.jobs.records import JobError, JobRecord, JobState, channel
from gateway.jobs.store import JobStore
from gateway.pubsub.base import PubSub
from gateway.store.base import JSON
from gateway.tasks import cancel_and_wait

log = logging.getLogger("gateway.jobs")


@dataclass(slots=True)
class Kind:
    handler: Handler
    slots: asyncio.Semaphore
    max_queued: int


@dataclass(slots=True)
class LiveJob:
    record: JobRecord
    ctx: JobContext
    task: asyncio.Task[None] | None = None
    persisted_at: float = field(default=0.0)
    halted: bool = False
    """The task saw its cancellation (see :meth:`Execution.halt`)."""


class Execution:
    def __init__(
        self,
        *,
        records: JobStore,
        pubsub: PubSub,
        clock: Callable[[], float],
        persist_interval: float,
    ) -> None:
        self.records = records
        self.kinds: dict[str, Kind] = {}
        self.live: dict[str, LiveJob] = {}
        self.stopping = False
        self._pubsub = pubsub
        self._clock = clock
        self._persist_interval = persist_interval
        self._halting: set[asyncio.Future[None]] = set()

    def register(self, kind: str, handler: Handler, *, concurrency: int, max_queued: int) -> None:
        if kind in self.kinds:
            raise ValueError(f"job kind {kind!r} is registered twice")
        self.kinds[kind] = Kind(handler, asyncio.Semaphore(max(1, concurrency)), max_queued)

    def spec(self, kind: str) -> Kind:
        spec = self.kinds.get(kind)
        if spec is None:
            raise InvalidJobState(f"no handler for job kind {kind!r}")
        return spec

    def fresh(self, record: JobRecord) -> JobRecord:
        live = self.live.get(record.id)
        return live.record if live is not None else record

    def queued(self, kind: str) -> int:
        return sum(
            1
            for live in self.live.values()
            if live.record.kind == kind and live.record.state is JobState.QUEUED
        )

    async def start(self, record: JobRecord, *, version: int) -> JobRecord:
        """Persist ``record`` (queued; ``version`` as for the Store) and run it."""
        ctx = JobContext(record=record, report=self._report)
        live = LiveJob(record=record, ctx=ctx)
        self.live[record.id] = live
        try:
            live.record = await self.write(record, version=version)
        except BaseException:
            self.live.pop(record.id, None)
            raise
        ctx.record = live.record
        live.task = asyncio.create_task(self._run(live), name=f"job-{record.kind}-{record.id}")
        return live.record

    async def write(self, record: JobRecord, *, version: int | None) -> JobRecord:
        record = record.evolve(updated_at=self._clock())
        await self.records.put(record, version=version)
        await self._publish(record)
        return record

    def finished(
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

    async def cancel(self, live: LiveJob) -> None:
        """Cancel a job running here (a caller asked): it ends as ``cancelled``."""
        live.record = live.record.evolve(cancel_requested=True)
        await self.halt(live, within=10.0)

    def cancel_soon(self, job_id: str) -> None:
        """Cancel a job running here, from a callback (the control channel)."""
        live = self.live.get(job_id)
        if live is not None and live.task is not None:
            halting = asyncio.ensure_future(self.cancel(live))
            self._halting.add(halting)  # a reference, until it is done
            halting.add_done_callback(self._halting.discard)

    async def halt_all(self, *, within: float) -> None:
        await asyncio.gather(*(self.halt(live, within=within) for live in list(self.live.values())))

    async def _run(self, live: LiveJob) -> None:
        spec = self.kinds[live.record.kind]
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
                live.halted = True
                live.ctx.cancelled.set()
                task = asyncio.current_task()
                while task is not None and task.cancelling():  # handled here: the outcome
                    task.uncancel()  # is recorded below, without a pending cancellation
                if self.stopping:
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
            self.live.pop(live.record.id, None)

    async def _end(
        self,
        live: LiveJob,
        state: JobState,
        *,
        result: JSON | None = None,
        error: JobError | None = None,
    ) -> None:
        record = self.finished(live.record, state, error=error).evolve(result=result)
        await self._save(live, record, force=True, publish=False)
        await self.records.prune(record.kind)
        await self._publish(live.record)  # last: a watcher that saw the end sees it all done

    async def _report(self, job_id: str, progress: JSON) -> None:
        live = self.live.get(job_id)
        if live is None or live.record.finished:
            return
        await self._save(live, live.record.evolve(progress=progress))

    async def _save(
        self, live: LiveJob, record: JobRecord, *, force: bool = False, publish: bool = True
    ) -> None:
        """Publish every change; persist state changes at once, progress at a bounded rate."""
        now = self._clock()
        if record.seq <= live.record.seq:
            record = record.evolve(seq=live.record.seq + 1)
        live.record = record.evolve(updated_at=now)
        if force or now - live.persisted_at >= self._persist_interval:
            live.persisted_at = now
            await self.records.put(live.record)
        if publish:
            await self._publish(live.record)

    async def _publish(self, record: JobRecord) -> None:
        try:
            await self._pubsub.publish(channel(record.id), record.to_json())
        except Exception as exc:  # live progress is best effort; the store has the truth
            log.warning("job %s: publish failed (%s)", record.id, exc)

    async def halt(self, live: LiveJob, *, within: float) -> None:
        """Cancel the job's task and wait (up to ``within`` seconds) for it to end.

        The cancel is repeated until the task has seen it (see :mod:`gateway.tasks`), but not
        after: once it has, the task is recording the outcome, which must not be cut short.
        """
        live.ctx.cancelled.set()
        if live.task is not None:
            await cancel_and_wait([live.task], within=within, seen=lambda _: live.halted)
