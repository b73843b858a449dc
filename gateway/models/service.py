"""ModelsService: what the models schema calls — the Hub, the local cache, the active model,
serving settings and the download/upload jobs. Built with the app's services, closed with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from gateway.auth.audit import AuditLog
from gateway.backends.hub.client import HubClient, drain
from gateway.backends.hub.models import HubCategory, HubModel, HubSearch
from gateway.backends.hub.quantization import QuantFormat, detect
from gateway.jobs import JobRecord, JobRunner, JobState
from gateway.models import ids
from gateway.models.active import ActiveModel, ActiveRecord
from gateway.models.cache import CachedModel, LocalCache
from gateway.models.credentials import HubCredentials
from gateway.models.downloads import KIND as DOWNLOAD
from gateway.models.downloads import DownloadRequest, Downloads
from gateway.models.failures import ModelsFailure, ModelsFailureCode
from gateway.models.serving import check_model
from gateway.models.serving_store import ServingStore, SettingsView
from gateway.models.uploads import KIND as UPLOAD
from gateway.models.uploads import UploadRequest, Uploads
from gateway.secrets import SecretBox
from gateway.settings import Settings
from gateway.store.base import Store

UPLOAD_DIR = "model-uploads"


@dataclass(frozen=True, slots=True)
class Deleted:
    repo_id: str
    commits: tuple[str, ...]
    freed: int


class ModelsService:
    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        secrets: SecretBox,
        hub: HubClient,
        jobs: JobRunner,
        audit: AuditLog | None = None,
        download_concurrency: int = 2,
        file_workers: int = 4,
    ) -> None:
        self.hub = hub
        self.jobs = jobs
        self._audit = audit
        self._cache_pool = ThreadPoolExecutor(2, thread_name_prefix="models-cache")
        self._download_pool = ThreadPoolExecutor(
            download_concurrency * file_workers, thread_name_prefix="models-download"
        )
        self.cache = LocalCache(root=settings.hf_hub_cache, executor=self._cache_pool)
        self.credentials = HubCredentials(store=store, secrets=secrets, env_token=settings.hf_token)
        self.active = ActiveModel(store=store)
        self.serving = ServingStore(store=store)
        self.downloads = Downloads(
            hub=hub,
            cache=self.cache,
            credentials=self.credentials,
            executor=self._download_pool,
            file_workers=file_workers,
        )
        self.uploads = Uploads(
            hub=hub,
            cache=self.cache,
            credentials=self.credentials,
            root=settings.data_dir / UPLOAD_DIR,
        )
        jobs.register(DOWNLOAD, self.downloads.run, concurrency=download_concurrency)
        jobs.register(UPLOAD, self.uploads.run, concurrency=1, max_queued=20)

    async def close(self, *, grace: float = 5.0) -> None:
        """Let worker threads finish the file they are on (the jobs were cancelled before
        this, so none starts another), for at most ``grace`` seconds: a thread blocked on a
        hung Hub cannot be interrupted and is left to end with its call."""
        await drain(self._download_pool, self._cache_pool, grace=grace)

    # -- downloads ---------------------------------------------------------------------------
    async def download(self, request: DownloadRequest, *, actor: str) -> JobRecord:
        """Check that the download can start (repo, gate, patterns, disk), then queue it."""
        token = await self.credentials.token()
        await self.downloads.plan(request, token)
        return await self.jobs.submit(DOWNLOAD, request.to_json(), actor=actor, key=request.key)

    async def download_jobs(
        self, *, states: set[JobState] | None = None, repo_id: str | None = None
    ) -> list[JobRecord]:
        jobs = await self.jobs.list(DOWNLOAD, states=states)
        return [j for j in jobs if repo_id is None or j.params.get("repo_id") == repo_id]

    async def job(self, job_id: str, kind: str = DOWNLOAD) -> JobRecord:
        record = await self.find_job(job_id, kind)
        if record is None:
            raise ModelsFailure(ModelsFailureCode.NOT_FOUND, f"no job {job_id!r}", field="jobId")
        return record

    async def find_job(self, job_id: str, kind: str = DOWNLOAD) -> JobRecord | None:
        """The job of that kind, or None (also for another kind's job)."""
        record = await self.jobs.get(job_id)
        return record if record is not None and record.kind == kind else None

    async def cancel_download(self, job_id: str) -> JobRecord:
        await self.job(job_id)  # NOT_FOUND for unknown ids and other kinds of job
        return await self.jobs.cancel(job_id)

    async def resume_download(self, job_id: str) -> JobRecord:
        """Run an interrupted, failed or cancelled download again (same job id)."""
        await self.job(job_id)
        return await self.jobs.resume(job_id)

    def watch(self, job_id: str) -> AbstractAsyncContextManager[AsyncIterator[JobRecord]]:
        """The job now, then every change until it finishes (from any replica)."""
        return self.jobs.watch(job_id)

    # -- the Hub -----------------------------------------------------------------------------
    @property
    def hub_endpoint(self) -> str:
        return self.hub.endpoint

    @property
    def hub_configured(self) -> bool:
        """HF_ENDPOINT is set (else the public Hub)."""
        return self.hub.configured

    async def search(self, search: HubSearch, *, token: str | None) -> list[HubModel]:
        return await self.hub.search(search, token=token)

    async def hub_model(self, repo_id: str, revision: str | None, token: str | None) -> HubModel:
        """The model's Hub info; raises the gateway error when the Hub fails or lacks it."""
        return await self.hub.model(repo_id, revision=revision, token=token)

    async def categories(self) -> list[HubCategory]:
        return await self.hub.categories()

    # -- uploads -----------------------------------------------------------------------------
    async def upload(self, request: UploadRequest, *, actor: str) -> JobRecord:
        if not await self.credentials.token():
            raise ModelsFailure(
                ModelsFailureCode.NO_TOKEN,
                "uploading needs a Hugging Face token with write access (HF_TOKEN or setHubToken)",
            )
        self.uploads.folder(request)  # fails now, not in the background, if it is missing
        return await self.jobs.submit(UPLOAD, request.to_json(), actor=actor)

    async def upload_jobs(self) -> list[JobRecord]:
        return await self.jobs.list(UPLOAD)

    # -- the local cache and the active model ------------------------------------------------
    async def local_model(
        self, repo_id: str, revision: str | None = None, *, field: str = "id"
    ) -> CachedModel:
        model = await self.cache.get(repo_id)
        if model is None or model.revision(revision) is None:
            at = f"@{revision}" if revision else ""
            raise ModelsFailure(
                ModelsFailureCode.NOT_LOCAL,
                f"{repo_id}{at} is not in the local cache: download it first",
                field=field,
            )
        return model

    async def activate(self, repo_id: str, revision: str | None, *, actor: str) -> ActiveRecord:
        model = await self.local_model(repo_id, revision)
        chosen = model.revision(revision)
        assert chosen is not None
        before = await self.active.get()
        record = await self.active.set(
            repo_id=repo_id, commit=chosen.commit, refs=chosen.refs, actor=actor
        )
        await self._record(
            actor,
            "activateModel",
            repo_id,
            before=_active_json(before),
            after=_active_json(record),
        )
        return record

    async def delete(
        self, repo_id: str, revision: str | None, *, force: bool, actor: str
    ) -> Deleted:
        model = await self.local_model(repo_id, revision)
        busy = await self.download_jobs(states={JobState.QUEUED, JobState.RUNNING}, repo_id=repo_id)
        if busy:
            raise ModelsFailure(
                ModelsFailureCode.CONFLICT,
                f"{repo_id} is being downloaded (job {busy[0].id}): cancel it first",
                field="id",
            )
        if revision is None:
            commits = tuple(r.commit for r in model.revisions)
        else:
            chosen = model.revision(revision)
            assert chosen is not None
            commits = (chosen.commit,)
        active = await self.active.get()
        serving = active is not None and active.repo_id == repo_id and active.commit in commits
        if serving and not force:
            raise ModelsFailure(
                ModelsFailureCode.CONFLICT,
                f"{repo_id} is the active model: activate another one first, or pass force",
                field="id",
            )
        freed = await self.cache.delete(list(commits))
        if serving:
            await self.active.clear()
        after = {"commits": list(commits), "freed": freed}
        await self._record(actor, "deleteModel", repo_id, before=None, after=after)
        return Deleted(repo_id, commits, freed)

    # -- serving settings --------------------------------------------------------------------
    async def update_settings(
        self,
        model_id: str | None,
        changes: dict[str, object],
        *,
        actor: str,
        expected_version: int | None,
    ) -> SettingsView:
        if model_id is not None:
            ids.repo_id(model_id, field="modelId")
        effective = await self.serving.preview(model_id, changes)
        if model_id is not None:
            max_context, formats = await self._limits(model_id)
            check_model(effective, max_context=max_context, formats=formats)
        before = await self.serving.view(model_id)
        view = await self.serving.update(
            model_id, changes, actor=actor, expected_version=expected_version
        )
        await self._record(
            actor,
            "updateModelSettings",
            model_id or "defaults",
            before=before.effective.to_json(),
            after=view.effective.to_json(),
        )
        return view

    async def _limits(self, repo_id: str) -> tuple[int | None, set[QuantFormat] | None]:
        """The model's maximum context and weight formats, from its local files (when it is
        in the cache; a model not downloaded yet gets only the generic checks)."""
        model = await self.cache.get(repo_id)
        revision = model.revision() if model is not None else None
        if model is None or revision is None:
            return None, None
        config = await self.cache.config(repo_id, revision.commit) or {}
        found = detect(repo_id=repo_id, files=list(revision.files), config=config)
        context = config.get("max_position_embeddings")
        return (context if isinstance(context, int) else None), {d.format for d in found}

    async def set_token(self, token: str | None, *, actor: str) -> None:
        info = await self.credentials.set(token, actor=actor)
        after = {"source": info.source, "hint": info.hint}
        await self._record(actor, "setHubToken", "hub", before=None, after=after)

    async def _record(
        self, actor: str, action: str, target: str, *, before: object, after: object
    ) -> None:
        if self._audit is not None:
            await self._audit.record(
                actor=actor, action=action, target=target, before=before, after=after
            )


def _active_json(record: ActiveRecord | None) -> dict[str, object] | None:
    if record is None:
        return None
    return {"repo_id": record.repo_id, "commit": record.commit}
