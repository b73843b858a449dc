"""The model the platform serves: one document, ``models.state/active``."""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.store import names
from gateway.store.base import Store

DOC_ID = "active"


@dataclass(frozen=True, slots=True)
class ActiveRecord:
    repo_id: str
    commit: str
    refs: tuple[str, ...]
    activated_at: float
    activated_by: str


class ActiveModel:
    def __init__(self, *, store: Store) -> None:
        self._store = store

    async def get(self) -> ActiveRecord | None:
        doc = await self._store.get(names.MODELS_STATE, DOC_ID)
        if doc is None:
            return None
        d = doc.data
        return ActiveRecord(
            d["repo_id"], d["commit"], tuple(d.get("refs") or ()), d["at"], d.get("by", "")
        )

    async def set(
        self, *, repo_id: str, commit: str, refs: tuple[str, ...], actor: str
    ) -> ActiveRecord:
        record = ActiveRecord(repo_id, commit, refs, time.time(), actor)
        data = {"repo_id": repo_id, "commit": commit, "refs": list(refs)}
        await self._store.put(
            names.MODELS_STATE, DOC_ID, data | {"at": record.activated_at, "by": actor}
        )
        return record

    async def clear(self) -> None:
        await self._store.delete(names.MODELS_STATE, DOC_ID)
