"""What a background job is: its states and the record persisted in the Store.

A record is a plain JSON document in the ``jobs`` collection; every change is also published
whole on the job's own channel (:func:`channel`), so a subscriber never has to merge deltas.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from gateway.store.base import JSON


def channel(job_id: str) -> str:
    return f"jobs:{job_id}"


def new_job_id() -> str:
    return secrets.token_hex(8)


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    """The gateway stopped (or crashed) while the job was queued or running."""

    @property
    def active(self) -> bool:
        return self in (JobState.QUEUED, JobState.RUNNING)

    @property
    def resumable(self) -> bool:
        return self in (JobState.INTERRUPTED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True, slots=True)
class JobError:
    message: str
    code: str = "FAILED"


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: str
    kind: str
    state: JobState
    params: JSON
    created_at: float
    updated_at: float
    progress: JSON = field(default_factory=dict)
    result: JSON | None = None
    error: JobError | None = None
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    owner: str | None = None
    """The runner instance that queued or runs the job (None once it is finished)."""
    actor: str | None = None
    key: str | None = None
    """Deduplication key: at most one active job of a kind per key."""
    cancel_requested: bool = False
    seq: int = 0
    """Increases with every published change, so watchers can drop stale messages."""

    @property
    def finished(self) -> bool:
        return not self.state.active

    def evolve(self, **changes: Any) -> JobRecord:
        return replace(self, **changes)

    def to_json(self) -> JSON:
        data = asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_json(cls, data: JSON) -> JobRecord:
        error = data.get("error")
        return cls(
            id=data["id"],
            kind=data["kind"],
            state=JobState(data["state"]),
            params=dict(data.get("params") or {}),
            created_at=float(data["created_at"]),
            updated_at=float(data["updated_at"]),
            progress=dict(data.get("progress") or {}),
            result=data.get("result"),
            error=JobError(**error) if isinstance(error, dict) else None,
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            attempts=int(data.get("attempts") or 0),
            owner=data.get("owner"),
            actor=data.get("actor"),
            key=data.get("key"),
            cancel_requested=bool(data.get("cancel_requested")),
            seq=int(data.get("seq") or 0),
        )
