"""A model repo on the Hugging Face Hub and its copy in the local cache.

``HubModel.local`` and ``LocalModel.hub`` lead to each other, so the two types live in one
module: neither needs a lazy import of the other.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.context import Info
from gateway.errors import BackendNotFound
from gateway.models.cache import CachedModel, CachedRevision
from gateway.models.hub import HubModel as HubRecord
from gateway.models.hub import detect
from schema.mirror import mirror
from schema.models.loaders import active_record, hub_model, local_model
from schema.models.types import DetectedQuantization, ModelFile
from schema.scalars import Bytes
from schema.timestamps import ts


@strawberry.type(description="A model repo on the Hugging Face Hub.")
class HubModel:
    id: str
    author: str | None
    sha: str | None = strawberry.field(description="The commit of the revision asked for.")
    private: bool
    gated: bool = strawberry.field(description="Access must be requested on the Hub.")
    gated_mode: str | None = strawberry.field(description='"auto" or "manual" when gated.')
    disabled: bool
    downloads: int
    likes: int
    library: str | None
    task: str | None = strawberry.field(description="The pipeline tag, e.g. text-generation.")
    tags: list[str]
    license: str | None
    created_at: datetime | None
    last_modified: datetime | None
    parameters: Bytes | None
    context_length: int | None
    size: Bytes | None = strawberry.field(description="All files, when the Hub listed sizes.")
    files: list[ModelFile] | None = strawberry.field(
        description="Null in search results, which do not list sizes."
    )
    _record: strawberry.Private[HubRecord]

    @strawberry.field(description="Weight formats and quantizations found in the repo.")
    def quantizations(self) -> list[DetectedQuantization]:
        return [DetectedQuantization.from_detected(d) for d in self._record.quantizations()]

    @strawberry.field(description="This model in the local cache, if it was downloaded.")
    async def local(self, info: Info) -> LocalModel | None:
        found = await local_model(info, self.id)
        return LocalModel.build(found) if found else None

    @classmethod
    def build(cls, m: HubRecord, *, with_files: bool = True) -> HubModel:
        files = None
        if m.files is not None and with_files:
            files = [ModelFile(path=f.path, size=_bytes(f.size), lfs=f.lfs) for f in m.files]
        return mirror(
            cls,
            m,
            gated=m.gated is not None,
            gated_mode=m.gated,
            task=m.pipeline_tag,
            tags=list(m.tags),
            parameters=_bytes(m.parameters),
            size=_bytes(m.total_size),
            files=files,
            _record=m,
        )


@strawberry.type
class LocalRevision:
    commit: str
    refs: list[str]
    size: Bytes
    file_count: int
    last_modified: datetime | None
    _revision: strawberry.Private[CachedRevision]

    @strawberry.field
    def files(self) -> list[ModelFile]:
        return [ModelFile(path=p, size=Bytes(s)) for p, s in self._revision.files]


@strawberry.type(description="A model in the local Hugging Face cache (HF_HUB_CACHE).")
class LocalModel:
    id: str
    size: Bytes = strawberry.field(description="Bytes on disk, all revisions.")
    file_count: int
    revisions: list[LocalRevision] = strawberry.field(description="Newest first.")
    last_accessed: datetime | None
    last_modified: datetime | None
    _model: strawberry.Private[CachedModel]

    @strawberry.field(description="Formats found in the default revision's files.")
    async def quantizations(self, info: Info) -> list[DetectedQuantization]:
        rev = self._model.revision()
        if rev is None:
            return []
        config = await info.context.services.models.cache.config(self.id, rev.commit)
        found = detect(repo_id=self.id, files=list(rev.files), config=config)
        return [DetectedQuantization.from_detected(d) for d in found]

    @strawberry.field
    async def active(self, info: Info) -> bool:
        record = await active_record(info)
        return record is not None and record.repo_id == self.id

    @strawberry.field(description="The model on the Hub (null if the Hub does not know it).")
    async def hub(self, info: Info) -> HubModel | None:
        try:
            return HubModel.build(await hub_model(info, self.id, None))
        except BackendNotFound:
            return None

    @classmethod
    def build(cls, m: CachedModel) -> LocalModel:
        revisions = [
            LocalRevision(
                commit=r.commit,
                refs=list(r.refs),
                size=Bytes(r.size),
                file_count=len(r.files),
                last_modified=ts(r.last_modified),
                _revision=r,
            )
            for r in m.revisions
        ]
        return cls(
            id=m.repo_id,
            size=Bytes(m.size),
            file_count=m.nb_files,
            revisions=revisions,
            last_accessed=ts(m.last_accessed),
            last_modified=ts(m.last_modified),
            _model=m,
        )


def _bytes(value: int | None) -> Bytes | None:
    return None if value is None else Bytes(value)
