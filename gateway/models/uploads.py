"""Model uploads: the ``model_upload`` job, a local folder committed to a Hub repo.

The folder is either a cached model's snapshot or a folder under the gateway's upload root
(``<data dir>/model-uploads``): callers name folders relative to it, never arbitrary paths on
the server.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gateway.backends.hub.client import HubClient
from gateway.errors import GatewayError
from gateway.jobs import JobContext, JobFailed
from gateway.models import ids
from gateway.models.cache import LocalCache
from gateway.models.confined import links_out, within
from gateway.models.credentials import HubCredentials
from gateway.models.failures import ModelsFailure, ModelsFailureCode

KIND = "model_upload"


@dataclass(frozen=True, slots=True)
class UploadRequest:
    repo_id: str
    """The target repo on the Hub."""
    folder: str | None = None
    """Relative to the upload root."""
    source_repo: str | None = None
    source_commit: str | None = None
    private: bool = True
    message: str = "Upload model with ops-gateway"
    allow: list[str] | None = None
    ignore: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadRequest:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class Uploads:
    def __init__(
        self, *, hub: HubClient, cache: LocalCache, credentials: HubCredentials, root: Path
    ) -> None:
        self.hub = hub
        self.cache = cache
        self.credentials = credentials
        self.root = root

    def folder(self, request: UploadRequest) -> Path:
        """The folder to upload; raises :class:`ModelsFailure` when it is not there, or when
        a link in it leads out of where uploads may read (huggingface_hub would follow it and
        send the target to the Hub): the cache for a cached model, else the upload root."""
        if request.source_repo is not None and request.source_commit is not None:
            path = self.cache.snapshot(request.source_repo, request.source_commit)
            if not path.is_dir():
                raise ModelsFailure(
                    ModelsFailureCode.NOT_LOCAL,
                    f"{request.source_repo}@{request.source_commit[:12]} is not in the cache",
                    field="sourceModelId",
                )
            _confine(path, self.cache.root, field="sourceModelId")
            return path
        path = ids.inside(self.root, request.folder or "", field="folder")
        if not path.is_dir():
            raise ModelsFailure(
                ModelsFailureCode.NOT_FOUND,
                f"no folder {request.folder!r} under the upload root {self.root}",
                field="folder",
            )
        _confine(path, self.root, field="folder")
        return path

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        request = UploadRequest.from_json(ctx.params)
        token = await self.credentials.token()
        if not token:
            raise JobFailed("uploading needs a Hugging Face token", code="NO_TOKEN")
        try:
            folder = self.folder(request)
            files = await asyncio.to_thread(_count_files, folder)
            await ctx.report({"phase": "uploading", "files_total": files, "files_done": 0})
            url, commit = await self.hub.upload_folder(
                repo_id=request.repo_id,
                folder=folder,
                token=token,
                private=request.private,
                message=request.message,
                allow=request.allow,
                ignore=request.ignore,
            )
        except ModelsFailure as exc:
            raise JobFailed(exc.message, code=exc.failure.value) from None
        except GatewayError as exc:
            if exc.extensions.get("reason") == "GATED":
                raise JobFailed(exc.message, code="GATED") from None
            raise
        await ctx.report({"phase": "done", "files_total": files, "files_done": files})
        return {"commit_url": url, "commit": commit, "files": files}


def _confine(folder: Path, root: Path, *, field: str) -> None:
    if not within(folder, root):
        raise ModelsFailure(
            ModelsFailureCode.BAD_USER_INPUT, f"{folder.name} leads out of {root}", field=field
        )
    found = links_out(folder, root, allow_linked_dirs=False)
    if found is not None:
        raise ModelsFailure(
            ModelsFailureCode.BAD_USER_INPUT,
            f"refusing to upload {folder.name}: {found} is a linked folder or a link leading "
            f"out of {root}",
            field=field,
        )


def _count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())
