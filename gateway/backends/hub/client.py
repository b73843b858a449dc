"""HubClient: the Hugging Face Hub through huggingface_hub itself, off the event loop.

huggingface_hub is synchronous, so every call runs in this client's own small thread pool
(never the loop's default executor, which other code needs) with the same circuit breaker,
metrics observer and counters as every other backend, and errors mapped in one place
(:mod:`gateway.backends.hub.failures`). ``HF_ENDPOINT`` is read by the library at import:
the endpoint is always passed explicitly.

The base class's httpx pool serves only the readiness probe and the tag catalogue (the
library offers no timeout for that one call).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from huggingface_hub import HfApi, hf_hub_download

from gateway.backends.base import BackendClient, CallObserver
from gateway.backends.breaker import BreakerState
from gateway.backends.hub import guard
from gateway.backends.hub.failures import NAME, counts_against_hub, map_hub_error
from gateway.backends.hub.models import HubCategory, HubModel, HubSearch
from gateway.backends.observer import notify, outcome_of
from gateway.errors import BackendError, CircuitOpen, GatewayError
from gateway.settings import Settings

T = TypeVar("T")
DEFAULT_ENDPOINT = "https://huggingface.co"  # huggingface_hub's own default
SORTS = ("downloads", "likes", "last_modified", "created_at", "trending_score")


async def drain(*executors: ThreadPoolExecutor, grace: float) -> None:
    """Shut thread pools down, waiting up to ``grace`` seconds for calls in progress. A
    thread blocked in huggingface_hub cannot be interrupted; past the grace it is left to
    end with its call rather than hold up the app's shutdown."""
    for executor in executors:
        executor.shutdown(wait=False, cancel_futures=True)

    loop, drained = asyncio.get_running_loop(), asyncio.Event()

    def join() -> None:
        for executor in executors:
            executor.shutdown(wait=True)
        with contextlib.suppress(RuntimeError):  # the loop may be gone by then
            loop.call_soon_threadsafe(drained.set)

    threading.Thread(target=join, name="hub-drain", daemon=True).start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(drained.wait(), grace)


class HubClient(BackendClient):
    health_path = "/api/models?limit=1"

    def __init__(
        self,
        *,
        endpoint: str | None,
        timeout: float = 10.0,
        observer: CallObserver | None = None,
        max_workers: int = 8,
    ) -> None:
        # An unset HF_ENDPOINT means the public Hub (the library's default): usable, but not
        # "configured", so /readyz does not probe huggingface.co from offline deployments.
        self._explicit = endpoint is not None
        super().__init__(
            name=NAME,
            base_url=endpoint or DEFAULT_ENDPOINT,
            config_var="HF_ENDPOINT",
            credentials_var="HF_TOKEN",
            timeout=timeout,
            observer=observer,
            max_connections=4,
        )
        assert self.base_url is not None
        self.endpoint: str = self.base_url
        self.api = HfApi(endpoint=self.endpoint, token=False, library_name="ops-gateway")
        guard.install()  # no Hub answer may name a path outside the cache
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="hub")

    @classmethod
    def from_settings(
        cls, settings: Settings, *, observer: CallObserver | None = None
    ) -> HubClient:
        timeout = settings.backend_timeout
        return cls(endpoint=settings.hf_endpoint, timeout=timeout, observer=observer)

    @property
    def configured(self) -> bool:
        return self._explicit

    async def aclose(self) -> None:
        await super().aclose()
        await drain(self._executor, grace=2.0)

    # -- typed calls -------------------------------------------------------------------------
    async def search(self, search: HubSearch, *, token: str | None = None) -> list[HubModel]:
        def run() -> list[HubModel]:
            found = self.api.list_models(
                search=search.query or None,
                pipeline_tag=search.task or None,
                filter=search.library or None,
                author=search.author or None,
                sort=search.sort,  # type: ignore[arg-type]
                limit=search.limit,
                full=True,
                token=token or False,
            )
            return [HubModel.from_info(info) for info in found]

        return await self.call("list_models", run)

    async def model(
        self, repo_id: str, *, revision: str | None = None, token: str | None = None
    ) -> HubModel:
        def run() -> HubModel:
            info = self.api.model_info(
                repo_id,
                revision=revision,
                files_metadata=True,
                timeout=self.timeout,
                token=token or False,
            )
            return HubModel.from_info(info)

        subject = repo_id if revision is None else f"{repo_id}@{revision}"
        return await self.call("model_info", run, subject=subject)

    async def categories(self) -> list[HubCategory]:
        data = await self.get_json("/api/models-tags-by-type")
        categories: list[HubCategory] = []
        for kind, items in (data or {}).items():
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    label = str(item.get("label") or item["id"])
                    group = item.get("subType")
                    categories.append(HubCategory(item["id"], label, kind, group))
        return categories

    async def upload_folder(
        self,
        *,
        repo_id: str,
        folder: Path,
        token: str,
        private: bool,
        message: str,
        allow: list[str] | None = None,
        ignore: list[str] | None = None,
    ) -> tuple[str, str]:
        """Create the repo if needed and commit ``folder`` to it; return (url, commit)."""

        def run() -> tuple[str, str]:
            self.api.create_repo(repo_id, private=private, exist_ok=True, token=token)
            info = self.api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                commit_message=message,
                allow_patterns=allow,
                ignore_patterns=ignore,
                token=token,
            )
            return str(info.commit_url), str(info.oid)

        return await self.call("upload_folder", run, subject=repo_id, timeout=3600.0)

    def download_file(
        self,
        *,
        repo_id: str,
        filename: str,
        commit: str,
        cache_dir: Path,
        token: str | None,
        progress: Callable[..., Any],
    ) -> str:
        """Blocking: fetch one file into the cache (a worker thread of the caller's runs
        this). ``progress`` is a tqdm-like factory; errors are the library's: map them with
        :func:`~gateway.backends.hub.failures.map_hub_error`."""
        return hf_hub_download(
            repo_id,
            filename,
            revision=commit,
            cache_dir=cache_dir,
            endpoint=self.endpoint,
            token=token or False,
            etag_timeout=self.timeout,
            tqdm_class=progress,  # type: ignore[arg-type]
            library_name="ops-gateway",
        )

    # -- plumbing ----------------------------------------------------------------------------
    async def call(
        self,
        operation: str,
        fn: Callable[[], T],
        *,
        subject: str = "",
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> T:
        """Run ``fn`` in a worker thread with the breaker, a deadline and error mapping."""
        if self._closed:
            raise RuntimeError("hub client is closed")
        if not self.breaker.allow():
            raise CircuitOpen(f"{NAME}: circuit open", backend=NAME)
        self.calls += 1
        self.attempts += 1
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        error: GatewayError | None = None
        try:
            future = loop.run_in_executor(self._executor, fn)
            return await asyncio.wait_for(future, self.timeout if timeout is None else timeout)
        except Exception as exc:
            error = map_hub_error(exc, subject=subject)
            raise error from None
        finally:
            self._account(operation, error, time.perf_counter() - started)

    def _account(self, operation: str, error: GatewayError | None, seconds: float) -> None:
        if error is not None and counts_against_hub(error):
            self.breaker.record_failure()
        elif self.breaker.state is not BreakerState.OPEN:
            self.breaker.record_success()
        outcome = outcome_of(error) if isinstance(error, BackendError) else "ok"
        self.failures += outcome != "ok"
        notify(self.observer, self.name, operation, outcome, seconds)
