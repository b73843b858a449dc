"""The generic job framework (gateway/jobs) on every Store implementation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.errors import BackendUnavailable
from gateway.jobs import (
    InvalidJobState,
    JobContext,
    JobFailed,
    JobNotFound,
    JobRecord,
    JobRunner,
    JobState,
)
from gateway.jobs.replicas import liveness_key
from gateway.pubsub import MemoryPubSub, RedisPubSub
from gateway.store.base import Store


@pytest.fixture
async def pubsub() -> AsyncIterator[MemoryPubSub]:
    bus = MemoryPubSub()
    yield bus
    await bus.close()


class Work:
    """Handlers whose pace the test controls."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.running = 0
        self.most = 0
        self.started = asyncio.Event()

    async def slow(self, ctx: JobContext) -> dict[str, Any]:
        self.running += 1
        self.most = max(self.most, self.running)
        self.started.set()
        try:
            for step in range(1, 4):
                await ctx.report({"step": step})
            await self.release.wait()
        finally:
            self.running -= 1
        return {"echo": ctx.params.get("n")}


async def runner_for(store: Store, pubsub: Any, work: Work, **kw: Any) -> JobRunner:
    runner = JobRunner(store=store, pubsub=pubsub, persist_interval=0.0, **kw)
    runner.register("slow", work.slow, concurrency=2)

    async def fail(ctx: JobContext) -> None:
        kind = ctx.params["how"]
        if kind == "expected":
            raise JobFailed("disk is full", code="INSUFFICIENT_DISK")
        if kind == "backend":
            raise BackendUnavailable("the Hub is down", backend="hub")
        raise RuntimeError("secret detail")

    runner.register("fail", fail)
    await runner.start()
    return runner


async def finished(runner: JobRunner, job_id: str) -> JobRecord:
    async with runner.watch(job_id) as updates:
        async for record in updates:
            last = record
    return last


async def test_a_job_runs_reports_and_succeeds(store: Store, pubsub: MemoryPubSub) -> None:
    work = Work()
    runner = await runner_for(store, pubsub, work)
    try:
        record = await runner.submit("slow", {"n": 7}, actor="alice")
        assert record.state is JobState.QUEUED
        seen: list[JobRecord] = []
        async with runner.watch(record.id) as updates:
            async for update in updates:
                seen.append(update)
                if update.progress.get("step") == 3:
                    work.release.set()
        assert seen[0].state in (JobState.QUEUED, JobState.RUNNING)
        assert seen[-1].state is JobState.SUCCEEDED
        assert seen[-1].result == {"echo": 7}
        assert [r.progress.get("step") for r in seen if r.progress].count(3) >= 1
        stored = await runner.records.get(record.id)
        assert stored is not None and stored.state is JobState.SUCCEEDED
        assert stored.actor == "alice" and stored.owner is None and stored.finished_at
    finally:
        await runner.stop()


async def test_failures_are_recorded_without_internals(store: Store, pubsub: MemoryPubSub) -> None:
    runner = await runner_for(store, pubsub, Work())
    try:
        results = {}
        for how in ("expected", "backend", "bug"):
            job = await runner.submit("fail", {"how": how})
            results[how] = await finished(runner, job.id)
        assert results["expected"].error is not None
        assert (results["expected"].error.code, results["expected"].error.message) == (
            "INSUFFICIENT_DISK",
            "disk is full",
        )
        assert results["backend"].error.code == "BACKEND_UNAVAILABLE"  # type: ignore[union-attr]
        assert results["bug"].error.code == "INTERNAL"  # type: ignore[union-attr]
        assert "secret" not in results["bug"].error.message  # type: ignore[union-attr]
        assert {r.state for r in results.values()} == {JobState.FAILED}
    finally:
        await runner.stop()


async def test_concurrency_cancel_resume_and_dedupe(store: Store, pubsub: MemoryPubSub) -> None:
    work = Work()
    runner = await runner_for(store, pubsub, work)
    try:
        jobs = [await runner.submit("slow", {"n": n}) for n in range(4)]
        again = await runner.submit("slow", {"n": 9}, key="k")
        assert (await runner.submit("slow", {"n": 10}, key="k")).id == again.id
        await asyncio.wait_for(work.started.wait(), 5)
        await asyncio.sleep(0.05)
        assert work.running == 2  # the kind's bound

        queued = jobs[-1]
        cancelled = await runner.cancel(queued.id)
        assert cancelled.state is JobState.CANCELLED
        with pytest.raises(InvalidJobState):
            await runner.cancel(queued.id)
        with pytest.raises(JobNotFound):
            await runner.cancel("nope")

        work.release.set()
        for job in (*jobs[:-1], again):
            assert (await finished(runner, job.id)).state is JobState.SUCCEEDED
        assert work.most == 2
        with pytest.raises(InvalidJobState):
            await runner.resume(jobs[0].id)  # succeeded: nothing to resume
        resumed = await runner.resume(queued.id)
        assert (resumed.id, resumed.attempts) == (queued.id, 2)
        done = await finished(runner, queued.id)
        assert done.state is JobState.SUCCEEDED and done.result == {"echo": 3}
        newest = await runner.list("slow")
        assert [r.id for r in newest][:1] == [again.id]  # newest first
    finally:
        await runner.stop()


async def test_stop_interrupts_and_another_runner_resumes(
    store: Store, pubsub: MemoryPubSub
) -> None:
    work = Work()
    first = await runner_for(store, pubsub, work)
    job = await first.submit("slow", {"n": 1})
    await asyncio.wait_for(work.started.wait(), 5)
    await first.stop()
    record = await first.records.get(job.id)
    assert record is not None and record.state is JobState.INTERRUPTED
    assert record.error is not None and record.error.code == "INTERRUPTED"

    second_work = Work()
    second_work.release.set()
    second = await runner_for(store, pubsub, second_work)
    try:
        await second.resume(job.id)
        assert (await finished(second, job.id)).state is JobState.SUCCEEDED
    finally:
        await second.stop()


async def test_jobs_of_a_vanished_runner_are_found_at_startup(
    store: Store, pubsub: MemoryPubSub
) -> None:
    now = time.time()

    def running(job_id: str, owner: str) -> dict[str, Any]:
        record = JobRecord(
            id=job_id,
            kind="slow",
            state=JobState.RUNNING,
            params={},
            created_at=now,
            updated_at=now,
            owner=owner,
            attempts=1,
        )
        return record.to_json()

    await store.put("jobs", "orphan", running("orphan", "crashed-instance"))
    await store.put("jobs", "elsewhere", running("elsewhere", "live-instance"))
    await store.set_ttl(liveness_key("live-instance"), {"at": now}, 30)
    runner = await runner_for(store, pubsub, Work())
    try:
        orphan = await runner.get("orphan")
        elsewhere = await runner.get("elsewhere")
        assert orphan is not None and orphan.state is JobState.INTERRUPTED
        assert elsewhere is not None and elsewhere.state is JobState.RUNNING
        assert await runner.sweep() == 0
    finally:
        await runner.stop()


async def test_finished_jobs_are_pruned(store: Store, pubsub: MemoryPubSub) -> None:
    work = Work()
    work.release.set()
    runner = await runner_for(store, pubsub, work, keep_finished=2)
    try:
        for n in range(4):
            job = await runner.submit("slow", {"n": n})
            await finished(runner, job.id)
        assert [r.params["n"] for r in await runner.list("slow")] == [3, 2]
    finally:
        await runner.stop()


@pytest.mark.redis
async def test_cancel_reaches_the_replica_running_the_job(
    store: Store, redis_url: str, redis_prefix: str
) -> None:
    buses = [RedisPubSub(url=redis_url, prefix=redis_prefix) for _ in range(2)]
    for bus in buses:
        await bus.open()
    work = Work()
    owner = await runner_for(store, buses[0], work)
    other = await runner_for(store, buses[1], Work())
    try:
        job = await owner.submit("slow", {"n": 1})
        await asyncio.wait_for(work.started.wait(), 5)
        requested = await other.cancel(job.id)
        assert requested.cancel_requested
        assert (await finished(other, job.id)).state is JobState.CANCELLED
    finally:
        await owner.stop()
        await other.stop()
        for bus in buses:
            await bus.close()


async def test_replicas_asked_for_the_same_key_at_once_run_one_job(
    store: Store, pubsub: MemoryPubSub
) -> None:
    works = [Work() for _ in range(3)]
    runners = [await runner_for(store, pubsub, w) for w in works]
    try:
        jobs = await asyncio.gather(
            *(r.submit("slow", {"n": 1}, key="repo/x") for r in runners for _ in range(3))
        )
        assert len({j.id for j in jobs}) == 1, "one job for the key across the replicas"
        owner = next(r for r in runners if r.instance == jobs[0].owner)
        await asyncio.sleep(0.1)
        assert sum(w.running for w in works) == 1
        other = await runners[0].submit("slow", {"n": 2}, key="repo/y")
        assert other.id != jobs[0].id, "another key is another job"
        for w in works:
            w.release.set()
        await finished(owner, jobs[0].id)
        again = await runners[1].submit("slow", {"n": 3}, key="repo/x")
        assert again.id != jobs[0].id, "a finished job frees its key"
    finally:
        for r in runners:
            await r.stop()
