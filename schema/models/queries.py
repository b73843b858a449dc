"""Queries of the models domain: ``models { search model popular categories quantizations
local active settings hub downloads download uploads }``.

Each field that calls the Hub fails on its own (null plus its error, BACKEND_* or NOT_FOUND);
the local fields keep answering while the Hub is down.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import strawberry

from gateway.context import Info
from gateway.errors import BackendNotFound, BadUserInput, NotFound
from gateway.jobs import JobRecord, JobState
from gateway.models import ids
from gateway.models.downloads import KIND as DOWNLOAD
from gateway.models.formats import CATALOG
from gateway.models.hub import HubSearch
from schema.cache_control import cache_control
from schema.cost import BACKEND
from schema.models.jobs import DownloadJob, ModelJobState, UploadJob
from schema.models.loaders import hub_model, hub_token, local_models
from schema.models.local import ActiveModel, HubSettings, ModelSettings
from schema.models.repos import HubModel, LocalModel
from schema.models.types import ModelCategory, ModelSort, QuantizationInfo
from schema.pagination import (
    Connection,
    build_connection,
    check_first,
    decode_cursor,
    encode_cursor,
)
from schema.permissions import require

T = TypeVar("T")
_TERM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,99}$")
MAX_RESULTS = 100


def _term(value: str | None, field: str) -> str | None:
    if value is None or value.strip() == "":
        return None
    if not _TERM.fullmatch(value.strip()):
        raise BadUserInput(f"invalid {field} {value[:50]!r}", field=field)
    return value.strip()


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_RESULTS:
        raise BadUserInput(f"limit must be between 1 and {MAX_RESULTS}", field="limit")
    return limit


def _jobs(
    records: list[JobRecord], build: Callable[[JobRecord], T], first: int, after: str | None
) -> Connection[T]:
    """Keyset paging over jobs sorted newest first: the cursor is (created_at, id)."""
    check_first(first)
    start = 0
    cursor = decode_cursor("job", after)
    if cursor is not None:
        created, _, job_id = cursor.partition("|")
        try:
            key = (float(created), job_id)
        except ValueError:
            raise BadUserInput("invalid cursor", field="after") from None
        start = next((i for i, r in enumerate(records) if (r.created_at, r.id) < key), len(records))
    page = records[start : start + first]
    return build_connection(
        [build(r) for r in page],
        [encode_cursor("job", f"{r.created_at!r}|{r.id}") for r in page],
        has_next=start + first < len(records),
        has_previous=after is not None,
        total=len(records),
    )


@strawberry.type
class ModelsQuery:
    @strawberry.field(
        metadata=BACKEND, description="Search the Hub (by downloads unless sorted otherwise)."
    )
    async def search(
        self,
        info: Info,
        query: str | None = None,
        task: str | None = None,
        library: str | None = None,
        author: str | None = None,
        sort: ModelSort = ModelSort.DOWNLOADS,
        limit: int = 20,
    ) -> list[HubModel] | None:
        if query is not None and len(query) > 200:
            raise BadUserInput("query is limited to 200 characters", field="query")
        search = HubSearch(
            query=query.strip() if query else None,
            task=_term(task, "task"),
            library=_term(library, "library"),
            author=_term(author, "author"),
            sort=sort.value,
            limit=_limit(limit),
        )
        found = await info.context.services.models.search(search, token=await hub_token(info))
        return [HubModel.build(m) for m in found]

    @strawberry.field(
        metadata=BACKEND, description="One model with its files, sizes and quantizations."
    )
    async def model(self, info: Info, id: str, revision: str | None = None) -> HubModel | None:
        repo = ids.repo_id(id)
        try:
            return HubModel.build(await hub_model(info, repo, ids.revision(revision)))
        except BackendNotFound as exc:
            raise NotFound(exc.message, extensions={"backend": "hub"}) from None

    @strawberry.field(
        metadata=BACKEND, description="The most downloaded models, optionally for one task."
    )
    async def popular(
        self, info: Info, task: str | None = None, limit: int = 10
    ) -> list[HubModel] | None:
        search = HubSearch(
            task=_term(task, "task"), sort=ModelSort.DOWNLOADS.value, limit=_limit(limit)
        )
        found = await info.context.services.models.search(search, token=await hub_token(info))
        return [HubModel.build(m) for m in found]

    @strawberry.field(
        metadata=BACKEND, description="Tasks, libraries and licenses the Hub files models under."
    )
    async def categories(self, info: Info, kind: str | None = None) -> list[ModelCategory] | None:
        found = await info.context.services.models.categories()
        return [ModelCategory.build(c) for c in found if kind is None or c.kind == kind]

    @strawberry.field(description="The weight formats and quantizations the gateway detects.")
    def quantizations(self) -> list[QuantizationInfo]:
        return [QuantizationInfo.build(f) for f in CATALOG]

    @strawberry.field(description="Models in the local cache.")
    async def local(self, info: Info) -> list[LocalModel] | None:
        return [LocalModel.build(m) for m in await local_models(info)]

    @strawberry.field(description="The model the platform serves; null when none is active.")
    async def active(self, info: Info) -> ActiveModel | None:
        record = await info.context.services.models.active.get()
        return None if record is None else ActiveModel.build(record)

    @strawberry.field(description="Serving settings of a model (defaults without modelId).")
    async def settings(self, info: Info, model_id: str | None = None) -> ModelSettings | None:
        if model_id is not None:
            ids.repo_id(model_id, field="modelId")
        return ModelSettings.build(await info.context.services.models.serving.view(model_id))

    @strawberry.field(description="The Hub endpoint, the cache and the token in use (hint).")
    async def hub(self, info: Info) -> HubSettings:
        token = await info.context.services.models.credentials.info()
        return HubSettings.build(info, token)

    @strawberry.field(description="Download jobs, newest first.")
    async def downloads(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        states: list[ModelJobState] | None = None,  # type: ignore[valid-type]
        repo_id: str | None = None,
    ) -> Connection[DownloadJob]:
        wanted = {JobState(s.value) for s in states} if states else None
        if repo_id is not None:
            ids.repo_id(repo_id, field="repoId")
        records = await info.context.services.models.download_jobs(states=wanted, repo_id=repo_id)
        return _jobs(records, DownloadJob.build, first, after)

    @strawberry.field
    async def download(self, info: Info, id: strawberry.ID) -> DownloadJob | None:
        record = await info.context.services.models.find_job(str(id), DOWNLOAD)
        return DownloadJob.build(record) if record else None

    @strawberry.field(description="Upload jobs, newest first.")
    async def uploads(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[UploadJob]:
        records = await info.context.services.models.upload_jobs()
        return _jobs(records, UploadJob.build, first, after)


@strawberry.type
class Query:
    @strawberry.field(
        extensions=[require("models", "read")],
        directives=[cache_control(30, domain="models")],
    )
    def models(self) -> ModelsQuery | None:
        return ModelsQuery()
