"""Model downloads: the ``model_download`` job and the checks before one is queued.

A download resolves the revision to a commit and lists its files (one model-info call), skips
what the cache already holds, checks the disk, then fetches each file with
``hf_hub_download`` into the shared cache, a few files at a time. Resuming an interrupted
download is running it again: finished files are in the cache and are skipped.
"""

from __future__ import annotations

import asyncio
import functools
import time
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from typing import Any

from huggingface_hub.utils import filter_repo_objects

from gateway.backends.hub.client import HubClient
from gateway.backends.hub.failures import map_hub_error
from gateway.errors import BackendError, GatewayError
from gateway.jobs import JobContext, JobFailed
from gateway.models import ids
from gateway.models.cache import LocalCache
from gateway.models.credentials import HubCredentials
from gateway.models.failures import ModelsFailure, ModelsFailureCode
from gateway.models.ids import COMMIT
from gateway.models.progress import DownloadCancelled, FileBar, Progress

KIND = "model_download"


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    repo_id: str
    revision: str | None = None
    allow: list[str] | None = None
    ignore: list[str] | None = None

    @property
    def key(self) -> str:
        """Same repo, revision and patterns: the same download (deduplicated)."""
        return f"{self.repo_id}@{self.revision or 'main'}|{self.allow}|{self.ignore}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DownloadRequest:
        return cls(
            repo_id=data["repo_id"],
            revision=data.get("revision"),
            allow=data.get("allow"),
            ignore=data.get("ignore"),
        )


@dataclass(frozen=True, slots=True)
class Plan:
    commit: str
    files: list[tuple[str, int | None]]
    missing: list[str]
    missing_bytes: int
    gated: bool


class Downloads:
    def __init__(
        self,
        *,
        hub: HubClient,
        cache: LocalCache,
        credentials: HubCredentials,
        executor: Executor,
        file_workers: int = 4,
        report_every: float = 0.25,
    ) -> None:
        self.hub = hub
        self.cache = cache
        self.credentials = credentials
        self._executor = executor
        self._file_workers = file_workers
        self._report_every = report_every

    async def plan(self, request: DownloadRequest, token: str | None) -> Plan:
        """What the download would fetch; raises :class:`ModelsFailure` when it cannot
        start (gated without a token, no matching file, not enough disk)."""
        # Before anything is written there: no link in the repo's folder may lead out.
        await asyncio.get_running_loop().run_in_executor(
            self._executor, self.cache.check_confined, request.repo_id
        )
        model = await self.hub.model(request.repo_id, revision=request.revision, token=token)
        if model.gated and not token:
            raise ModelsFailure(
                ModelsFailureCode.GATED,
                f"{request.repo_id} is gated: accept its conditions on the Hub, then set a "
                "token of that account (HF_TOKEN or setHubToken)",
                field="repoId",
            )
        if model.sha is None or not COMMIT.fullmatch(model.sha):
            raise GatewayError("the Hub did not say which commit to download")
        files = [(f.path, f.size) for f in model.files or ()]
        unsafe = [p for p, _ in files if not ids.repo_path(p)]
        if unsafe:  # only a hostile or broken HF_ENDPOINT lists such names
            names = ", ".join(repr(p[:80]) for p in unsafe[:3])
            raise BackendError(
                f"the Hub lists files of {request.repo_id} with unsafe paths ({names}): "
                "refusing to download it (check HF_ENDPOINT)",
                backend="hub",
            )
        chosen = list(
            filter_repo_objects(
                files, allow_patterns=request.allow, ignore_patterns=request.ignore, key=_path
            )
        )
        if not chosen:
            raise ModelsFailure(
                ModelsFailureCode.BAD_USER_INPUT,
                "no file of the repo matches the allow/ignore patterns",
                field="allowPatterns",
            )
        missing = [p for p, _ in chosen if not self.cache.has_file(request.repo_id, model.sha, p)]
        sizes = dict(chosen)
        missing_bytes = sum(sizes[p] or 0 for p in missing)
        self.cache.check_space(missing_bytes)
        return Plan(model.sha, chosen, missing, missing_bytes, bool(model.gated))

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        request = DownloadRequest.from_json(ctx.params)
        await ctx.report({"phase": "resolving"})
        token = await self.credentials.token()
        try:
            plan = await self.plan(request, token)
        except GatewayError as exc:
            raise _job_failure(exc) from None
        cached = {p for p, _ in plan.files} - set(plan.missing)
        progress = Progress(files=plan.files, cached=cached)
        started = time.monotonic()
        phase = {"phase": "downloading", "commit": plan.commit}
        await ctx.report(progress.snapshot(**phase))
        reporter = asyncio.create_task(self._report(ctx, progress, phase))
        try:
            await self._fetch_all(request, plan, token, progress, ctx)
        except GatewayError as exc:
            raise _job_failure(exc) from None
        except DownloadCancelled:  # a worker saw the flag before the task was cancelled
            raise asyncio.CancelledError from None
        finally:
            ctx.cancelled.set()  # stops sibling files after a failure or a cancel
            reporter.cancel()
        ref = request.revision or "main"
        if not COMMIT.fullmatch(ref):
            await asyncio.get_running_loop().run_in_executor(
                self._executor, self.cache.write_ref, request.repo_id, ref, plan.commit
            )
        await ctx.report(progress.snapshot(phase="done", commit=plan.commit))
        return {
            "commit": plan.commit,
            "files": len(plan.files),
            "downloaded_files": len(plan.missing),
            "bytes": progress.bytes_total,
            "downloaded_bytes": progress.transferred,
            "seconds": round(time.monotonic() - started, 3),
        }

    async def _fetch_all(
        self,
        request: DownloadRequest,
        plan: Plan,
        token: str | None,
        progress: Progress,
        ctx: JobContext,
    ) -> None:
        slots = asyncio.Semaphore(self._file_workers)
        loop = asyncio.get_running_loop()

        async def one(path: str) -> None:
            async with slots:
                fetch = functools.partial(
                    self._fetch, request.repo_id, path, plan.commit, token, progress, ctx
                )
                await loop.run_in_executor(self._executor, fetch)

        tasks = [asyncio.ensure_future(one(path)) for path in plan.missing]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    def _fetch(
        self,
        repo_id: str,
        path: str,
        commit: str,
        token: str | None,
        progress: Progress,
        ctx: JobContext,
    ) -> None:
        """In a worker thread: one file into the cache."""
        if ctx.cancelled.is_set():
            raise DownloadCancelled(path)
        progress.start(path)
        try:
            self.hub.download_file(
                repo_id=repo_id,
                filename=path,
                commit=commit,
                cache_dir=self.cache.root,
                token=token,
                progress=functools.partial(FileBar, progress, path, ctx.cancelled),
            )
        except DownloadCancelled:
            progress.abandon(path)
            raise
        except Exception as exc:
            progress.abandon(path)
            raise map_hub_error(exc, subject=f"{repo_id}/{path}") from None
        progress.finish(path)

    async def _report(self, ctx: JobContext, progress: Progress, extra: dict[str, Any]) -> None:
        last: tuple[int, int, tuple[str, ...]] | None = None
        # The flag ends the loop even if the cancel below is swallowed mid-publish (redis-py).
        while not ctx.cancelled.is_set():
            await asyncio.sleep(self._report_every)
            snap = progress.snapshot(**extra)
            state = (snap["bytes_done"], snap["files_done"], tuple(snap["current_files"]))
            if state != last:
                last = state
                await ctx.report(snap)


def _path(item: tuple[str, int | None]) -> str:
    return item[0]


def _job_failure(exc: GatewayError) -> Exception:
    """The job's error: models failures and gated repos by their own code."""
    if isinstance(exc, ModelsFailure):
        return JobFailed(exc.message, code=exc.failure.value)
    if exc.extensions.get("reason") == "GATED":
        return JobFailed(exc.message, code=ModelsFailureCode.GATED.value)
    return exc
