"""Mutations of the models domain. Expected failures come back as ``ModelsError`` data;
a failing Hub is a GraphQL error with its BACKEND_* code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry

from gateway.context import Info
from gateway.errors import GatewayError
from gateway.jobs import InvalidJobState, JobNotFound, JobRecord
from gateway.models import ids
from gateway.models.downloads import DownloadRequest
from gateway.models.failures import ModelsFailure, ModelsFailureCode, failure_of
from gateway.models.serving import NAMES
from gateway.models.uploads import UploadRequest
from schema.models.jobs import (
    DownloadJob,
    DownloadJobResult,
    DownloadModelResult,
    UploadJob,
    UploadModelResult,
)
from schema.models.local import (
    ActivateModelResult,
    ActiveModel,
    DeletedModel,
    DeleteModelResult,
    HubSettings,
    ModelSettings,
    SetHubTokenResult,
    UpdateModelSettingsResult,
)
from schema.models.types import ModelDtype, ModelsError, ServingQuantization
from schema.permissions import require

T = TypeVar("T")
MAX_BATCH = 20


async def _attempt(make: Callable[[], Awaitable[T]]) -> T | ModelsError:
    try:
        return await make()
    except JobNotFound as exc:
        return ModelsError(field="jobId", message=exc.message, code=ModelsFailureCode.NOT_FOUND)
    except InvalidJobState as exc:
        return ModelsError(field=None, message=exc.message, code=ModelsFailureCode.INVALID_STATE)
    except GatewayError as exc:  # backend failures other than "not found" are raised again
        return ModelsError.build(failure_of(exc))


async def _job(
    change: Callable[[str], Awaitable[JobRecord]], job_id: strawberry.ID
) -> DownloadJob | ModelsError:
    """Cancel or resume a download: the job as it is after the change."""

    async def run() -> DownloadJob:
        return DownloadJob.build(await change(str(job_id)))

    return await _attempt(run)


@strawberry.input
class DownloadModelInput:
    repo_id: str
    revision: str | None = strawberry.field(default=None, description="Default: main.")
    allow_patterns: list[str] | None = strawberry.field(
        default=None, description='Only files matching one of these globs, e.g. "*.Q4_K_M.gguf".'
    )
    ignore_patterns: list[str] | None = None

    def request(self) -> DownloadRequest:
        return DownloadRequest(
            repo_id=ids.repo_id(self.repo_id, field="repoId"),
            revision=ids.revision(self.revision),
            allow=ids.patterns(self.allow_patterns, field="allowPatterns"),
            ignore=ids.patterns(self.ignore_patterns, field="ignorePatterns"),
        )


@strawberry.input
class UploadModelInput:
    repo_id: str = strawberry.field(description="The Hub repo to commit to (created if new).")
    folder: str | None = strawberry.field(
        default=None, description="A folder under the upload root (see models.hub.uploadRoot)."
    )
    source_model_id: str | None = strawberry.field(
        default=None, description="Or: a model in the local cache."
    )
    source_revision: str | None = None
    private: bool = True
    commit_message: str | None = None
    allow_patterns: list[str] | None = None
    ignore_patterns: list[str] | None = None


@strawberry.input
class UpdateModelSettingsInput:
    model_id: str | None = strawberry.field(default=None, description="Omit for the defaults.")
    context_length: int | None = strawberry.UNSET
    dtype: ModelDtype | None = strawberry.UNSET  # type: ignore[valid-type]
    quantization: ServingQuantization | None = strawberry.UNSET  # type: ignore[valid-type]
    gpu_memory_fraction: float | None = strawberry.UNSET
    max_concurrent_requests: int | None = strawberry.UNSET
    tensor_parallel_size: int | None = strawberry.UNSET
    max_batch_tokens: int | None = strawberry.UNSET
    trust_remote_code: bool | None = strawberry.UNSET
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT if the settings changed since."
    )

    def changes(self) -> dict[str, Any]:
        """Fields given (null resets a model's field to the default)."""
        changes: dict[str, Any] = {}
        for name in NAMES:
            value = getattr(self, name)
            if value is not strawberry.UNSET:
                changes[name] = getattr(value, "value", value)
        return changes


def _actor(info: Info) -> str:
    return info.context.actor.subject


async def _download(info: Info, item: DownloadModelInput) -> DownloadJob | ModelsError:
    async def run() -> DownloadJob:
        record = await info.context.services.models.download(item.request(), actor=_actor(info))
        return DownloadJob.build(record)

    return await _attempt(run)


@strawberry.type
class ModelsMutation:
    @strawberry.mutation(
        extensions=[require("models", "execute")],
        description="Queue a download into the local cache (the same active download is "
        "returned instead of a second one).",
    )
    async def download_model(self, info: Info, input: DownloadModelInput) -> DownloadModelResult:
        return await _download(info, input)

    @strawberry.mutation(
        extensions=[require("models", "execute")],
        description=f"Queue up to {MAX_BATCH} downloads; they run a few at a time.",
    )
    async def download_models(
        self, info: Info, inputs: list[DownloadModelInput]
    ) -> list[DownloadModelResult]:
        if len(inputs) > MAX_BATCH:
            error = ModelsError(
                field="inputs",
                message=f"at most {MAX_BATCH} downloads per call",
                code=ModelsFailureCode.BAD_USER_INPUT,
            )
            return [error]
        slots = asyncio.Semaphore(4)  # each checks the Hub first; do not flood it

        async def one(item: DownloadModelInput) -> DownloadJob | ModelsError:
            async with slots:
                return await _download(info, item)

        return list(await asyncio.gather(*(one(i) for i in inputs)))

    @strawberry.mutation(extensions=[require("models", "execute")])
    async def cancel_download(self, info: Info, job_id: strawberry.ID) -> DownloadJobResult:
        return await _job(info.context.services.models.cancel_download, job_id)

    @strawberry.mutation(
        extensions=[require("models", "execute")],
        description="Run an interrupted, failed or cancelled download again (same job id); "
        "files already in the cache are kept.",
    )
    async def resume_download(self, info: Info, job_id: strawberry.ID) -> DownloadJobResult:
        return await _job(info.context.services.models.resume_download, job_id)

    @strawberry.mutation(
        extensions=[require("models", "write")],
        description="Serve a model from the local cache (it must be downloaded).",
    )
    async def activate_model(
        self, info: Info, id: str, revision: str | None = None
    ) -> ActivateModelResult:
        async def run() -> ActiveModel:
            repo, rev = ids.repo_id(id), ids.revision(revision)
            record = await info.context.services.models.activate(repo, rev, actor=_actor(info))
            return ActiveModel.build(record)

        return await _attempt(run)

    @strawberry.mutation(
        extensions=[require("models", "delete")],
        description="Remove a model's revisions (all without revision) from the cache.",
    )
    async def delete_model(
        self, info: Info, id: str, revision: str | None = None, force: bool = False
    ) -> DeleteModelResult:
        async def run() -> DeletedModel:
            repo, rev = ids.repo_id(id), ids.revision(revision)
            models = info.context.services.models
            deleted = await models.delete(repo, rev, force=force, actor=_actor(info))
            return DeletedModel(
                id=deleted.repo_id, commits=list(deleted.commits), freed_bytes=deleted.freed
            )

        return await _attempt(run)

    @strawberry.mutation(
        extensions=[require("models", "write")],
        description="Commit a folder (or a cached model) to a Hub repo, in the background.",
    )
    async def upload_model(self, info: Info, input: UploadModelInput) -> UploadModelResult:
        async def run() -> UploadJob:
            request = await _upload_request(info, input)
            record = await info.context.services.models.upload(request, actor=_actor(info))
            return UploadJob.build(record)

        return await _attempt(run)

    @strawberry.mutation(extensions=[require("models", "write")])
    async def update_model_settings(
        self, info: Info, input: UpdateModelSettingsInput
    ) -> UpdateModelSettingsResult:
        async def run() -> ModelSettings:
            view = await info.context.services.models.update_settings(
                input.model_id,
                input.changes(),
                actor=_actor(info),
                expected_version=input.expected_version,
            )
            return ModelSettings.build(view)

        return await _attempt(run)

    @strawberry.mutation(
        extensions=[require("models", "write")],
        description="Set the Hugging Face token (stored encrypted; null removes it).",
    )
    async def set_hub_token(self, info: Info, token: str | None = None) -> SetHubTokenResult:
        models = info.context.services.models

        async def run() -> HubSettings:
            await models.set_token(token, actor=_actor(info))
            return HubSettings.build(info, await models.credentials.info())

        return await _attempt(run)


async def _upload_request(info: Info, input: UploadModelInput) -> UploadRequest:
    target = ids.repo_id(input.repo_id, field="repoId")
    common: dict[str, Any] = {
        "repo_id": target,
        "private": input.private,
        "message": (input.commit_message or "Upload model with ops-gateway")[:500],
        "allow": ids.patterns(input.allow_patterns, field="allowPatterns"),
        "ignore": ids.patterns(input.ignore_patterns, field="ignorePatterns"),
    }
    if (input.folder is None) == (input.source_model_id is None):
        raise ModelsFailure(
            ModelsFailureCode.BAD_USER_INPUT,
            "give either folder or sourceModelId",
            field="folder",
        )
    if input.source_model_id is not None:
        source = ids.repo_id(input.source_model_id, field="sourceModelId")
        revision = ids.revision(input.source_revision, field="sourceRevision")
        models = info.context.services.models
        cached = await models.local_model(source, revision, field="sourceModelId")
        chosen = cached.revision(revision)
        assert chosen is not None
        return UploadRequest(source_repo=source, source_commit=chosen.commit, **common)
    return UploadRequest(folder=input.folder, **common)
