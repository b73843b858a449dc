"""Job records in the Store: one ``jobs`` collection, bounded by pruning finished jobs."""

from __future__ import annotations

import time

from gateway.errors import ConflictError
from gateway.jobs.records import JobRecord
from gateway.store import names
from gateway.store.base import Document, Store, all_documents

CLAIM_GRACE = 30.0


class JobStore:
    def __init__(self, *, store: Store, keep_finished: int = 200) -> None:
        self._store = store
        self.keep_finished = keep_finished

    async def get(self, job_id: str) -> JobRecord | None:
        doc = await self.document(job_id)
        return None if doc is None else JobRecord.from_json(doc.data)

    async def document(self, job_id: str) -> Document | None:
        return await self._store.get(names.JOBS, job_id)

    async def put(self, record: JobRecord, *, version: int | None = None) -> Document:
        """``version``: None writes unconditionally, 0 creates, else must match."""
        return await self._store.put(
            names.JOBS, record.id, record.to_json(), expected_version=version
        )

    async def claim(self, kind: str, key: str, job_id: str) -> str | None:
        """Make ``job_id`` the job of ``kind``/``key``; ``None`` when it is, else the id of
        the active job that holds the key (claimed by this or another replica)."""
        name = f"{kind}:{key}"
        doc = await self._store.get(names.JOB_KEYS, name)
        if doc is not None:
            holder = await self.get(doc.data["job"])
            # No record yet: being started (it holds the key), unless the claim is old (its
            # start failed, or the finished job was pruned).
            starting = holder is None and doc.updated_at > time.time() - CLAIM_GRACE
            if starting or (holder is not None and holder.state.active):
                return doc.data["job"]
        try:
            await self._store.put(
                names.JOB_KEYS, name, {"job": job_id}, expected_version=doc.version if doc else 0
            )
        except ConflictError:  # another replica claimed it between our read and write
            taken = await self._store.get(names.JOB_KEYS, name)
            return taken.data["job"] if taken else job_id
        return None

    async def documents(self) -> list[Document]:
        return [doc async for doc in all_documents(self._store, names.JOBS)]

    async def list(self, kind: str) -> list[JobRecord]:
        """Every job of ``kind``, newest first. The collection stays small (see prune)."""
        records = [JobRecord.from_json(d.data) for d in await self.documents()]
        records = [r for r in records if r.kind == kind]
        records.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return records

    async def prune(self, kind: str) -> int:
        """Delete the oldest finished jobs of ``kind`` beyond ``keep_finished``."""
        finished = [r for r in await self.list(kind) if r.finished]
        stale = finished[self.keep_finished :]
        for record in stale:
            await self._store.delete(names.JOBS, record.id)
        return len(stale)
