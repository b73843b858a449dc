"""What a job handler sees (:class:`JobContext`) and the errors of the job framework."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from gateway.errors import ErrorCode, GatewayError, NotFound
from gateway.store.base import JSON

if TYPE_CHECKING:
    from gateway.jobs.records import JobRecord

Handler = Callable[["JobContext"], Awaitable[JSON | None]]
"""``async def handler(ctx) -> result``: runs one job; its return value is stored as the
job's ``result``. Raise :class:`JobFailed` for an expected failure."""


class JobFailed(Exception):
    """An expected failure, raised by a handler: stored as the job's error, as is."""

    def __init__(self, message: str, *, code: str = "FAILED") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class JobNotFound(NotFound):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id!r} not found")
        self.job_id = job_id


class InvalidJobState(GatewayError):
    """The job cannot do that in its current state (cancel a finished job, resume a running
    one, queue more than the runner accepts)."""

    code = ErrorCode.BAD_USER_INPUT
    http_status = 409


class JobContext:
    """One run of one job. ``cancelled`` is a :class:`threading.Event` so work running in a
    worker thread can poll it; the handler's task is also cancelled, as asyncio does."""

    def __init__(self, *, record: JobRecord, report: Callable[[str, JSON], Awaitable[None]]):
        self.record = record
        self.cancelled = threading.Event()
        self._report = report

    @property
    def job_id(self) -> str:
        return self.record.id

    @property
    def params(self) -> JSON:
        return self.record.params

    async def report(self, progress: JSON) -> None:
        """Publish ``progress`` (the whole progress document) to watchers; it is persisted
        at a bounded rate and always when the job finishes."""
        await self._report(self.record.id, progress)
