"""GraphQL types of the models domain's background jobs: downloads and uploads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from gateway.jobs import JobRecord, JobState
from schema.models.types import ModelsError
from schema.scalars import Bytes
from schema.timestamps import ts

ModelJobState = strawberry.enum(JobState, name="ModelJobState")


@strawberry.type
class ModelJobError:
    message: str
    code: str = strawberry.field(description="GATED, INSUFFICIENT_DISK, BACKEND_*...")


def _error(record: JobRecord) -> ModelJobError | None:
    e = record.error
    return ModelJobError(message=e.message, code=e.code) if e is not None else None


@strawberry.type(description="Where a download is: bytes and files done, rate and ETA.")
class DownloadProgress:
    job_id: strawberry.ID
    state: ModelJobState  # type: ignore[valid-type]
    phase: str | None = strawberry.field(description="resolving, downloading or done.")
    commit: str | None
    bytes_done: Bytes
    bytes_total: Bytes
    files_done: int
    files_total: int
    current_files: list[str]
    rate_bytes_per_second: float
    eta_seconds: float | None
    percent: float
    error: ModelJobError | None
    updated_at: datetime

    @classmethod
    def build(cls, r: JobRecord) -> DownloadProgress:
        p: dict[str, Any] = r.progress or {}
        done, total = int(p.get("bytes_done") or 0), int(p.get("bytes_total") or 0)
        if r.state is JobState.SUCCEEDED:
            percent = 100.0
        else:
            percent = round(100.0 * done / total, 2) if total else 0.0
        return cls(
            job_id=strawberry.ID(r.id),
            state=r.state,
            phase=p.get("phase"),
            commit=p.get("commit") or (r.result or {}).get("commit"),
            bytes_done=Bytes(done),
            bytes_total=Bytes(total),
            files_done=int(p.get("files_done") or 0),
            files_total=int(p.get("files_total") or 0),
            current_files=list(p.get("current_files") or []),
            rate_bytes_per_second=float(p.get("rate") or 0.0),
            eta_seconds=p.get("eta_seconds"),
            percent=percent,
            error=_error(r),
            updated_at=ts(r.updated_at),  # type: ignore[arg-type]
        )


@strawberry.type(description="A model download running in the background.")
class DownloadJob:
    id: strawberry.ID
    repo_id: str
    revision: str | None
    allow_patterns: list[str] | None
    ignore_patterns: list[str] | None
    state: ModelJobState  # type: ignore[valid-type]
    resumable: bool = strawberry.field(description="Interrupted, failed or cancelled.")
    cancel_requested: bool
    progress: DownloadProgress
    error: ModelJobError | None
    commit: str | None = strawberry.field(description="The commit downloaded, once known.")
    attempts: int
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def build(cls, r: JobRecord) -> DownloadJob:
        progress = DownloadProgress.build(r)
        return cls(
            id=strawberry.ID(r.id),
            repo_id=str(r.params.get("repo_id")),
            revision=r.params.get("revision"),
            allow_patterns=r.params.get("allow"),
            ignore_patterns=r.params.get("ignore"),
            state=r.state,
            resumable=r.state.resumable,
            cancel_requested=r.cancel_requested,
            progress=progress,
            error=progress.error,
            commit=progress.commit,
            attempts=r.attempts,
            requested_by=r.actor,
            created_at=ts(r.created_at),  # type: ignore[arg-type]
            started_at=ts(r.started_at),
            finished_at=ts(r.finished_at),
            updated_at=ts(r.updated_at),  # type: ignore[arg-type]
        )


@strawberry.type(description="A folder being committed to a Hub repo in the background.")
class UploadJob:
    id: strawberry.ID
    repo_id: str
    source: str = strawberry.field(description='"folder:<path>" or "cache:<model>@<commit>".')
    private: bool
    state: ModelJobState  # type: ignore[valid-type]
    resumable: bool
    files: int | None
    commit: str | None
    commit_url: str | None
    error: ModelJobError | None
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def build(cls, r: JobRecord) -> UploadJob:
        p, result = r.params, r.result or {}
        if p.get("source_repo"):
            source = f"cache:{p['source_repo']}@{p.get('source_commit')}"
        else:
            source = f"folder:{p.get('folder')}"
        files = result.get("files", (r.progress or {}).get("files_total"))
        return cls(
            id=strawberry.ID(r.id),
            repo_id=str(p.get("repo_id")),
            source=source,
            private=bool(p.get("private")),
            state=r.state,
            resumable=r.state.resumable,
            files=files,
            commit=result.get("commit"),
            commit_url=result.get("commit_url"),
            error=_error(r),
            requested_by=r.actor,
            created_at=ts(r.created_at),  # type: ignore[arg-type]
            started_at=ts(r.started_at),
            finished_at=ts(r.finished_at),
        )


DownloadModelResult = Annotated[DownloadJob | ModelsError, strawberry.union("DownloadModelResult")]
DownloadJobResult = Annotated[DownloadJob | ModelsError, strawberry.union("DownloadJobResult")]
UploadModelResult = Annotated[UploadJob | ModelsError, strawberry.union("UploadModelResult")]
