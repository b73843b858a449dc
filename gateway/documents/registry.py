"""Where persisted documents live: the trusted set (imported from manifests) and automatic
persisted queries, both in the store so every replica shares them, with a short-lived local
cache in front so that a request by id costs a dict lookup, not a store round trip."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.documents.manifest import ManifestDocument, sha256_hex
from gateway.errors import ConflictError
from gateway.store import names
from gateway.store.base import Store, all_documents


@dataclass(frozen=True, slots=True)
class TrustedDocument:
    id: str
    body: str
    name: str | None
    type: str | None
    source: str
    imported_at: float


def normalised(body: str) -> str:
    """The body with whitespace runs collapsed: a document pasted into GraphiQL or
    re-indented by a formatter is still the document that was trusted."""
    return " ".join(body.split())


class _Recent:
    """A bounded LRU of lookups that expire after ``seconds`` (misses are cached too, so a
    flood of unknown ids costs the store one read per id and period)."""

    def __init__(self, *, size: int, seconds: float, clock: Callable[[], float]) -> None:
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._size, self._seconds, self._clock = size, seconds, clock

    def get(self, key: str) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            return False, None
        self._entries.move_to_end(key)
        return True, entry[1]

    def put(self, key: str, value: Any) -> None:
        if self._seconds <= 0:
            return
        self._entries[key] = (self._clock() + self._seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class DocumentRegistry:
    def __init__(
        self,
        *,
        store: Store,
        apq_max_entries: int = 10_000,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._apq_max = max(1, apq_max_entries)
        self._cache = _Recent(size=10_000, seconds=cache_seconds, clock=clock)

    # -- lookups (hot path) ------------------------------------------------------------
    async def trusted(self, id: str) -> str | None:
        """The body of the trusted document ``id``."""
        return await self._cached(f"id:{id}", self._trusted_body, id)

    async def trusted_by_hash(self, sha256: str) -> str | None:
        """The trusted document whose exact body has this SHA-256 (an Apollo client's
        persisted query hash), whatever its id."""
        id = await self._cached(f"exact:{sha256}", self._hash_id, f"exact:{sha256}")
        return await self.trusted(id) if id else None

    async def is_trusted_body(self, body: str) -> bool:
        key = f"norm:{sha256_hex(normalised(body))}"
        id = await self._cached(key, self._hash_id, key)
        return id is not None and await self.trusted(id) is not None

    async def persisted(self, sha256: str) -> str | None:
        """A body registered with this hash by a client (automatic persisted queries)."""
        return await self._cached(f"apq:{sha256}", self._apq_body, sha256)

    async def _cached(self, key: str, load: Callable[[str], Any], arg: str) -> Any:
        hit, value = self._cache.get(key)
        if not hit:
            value = await load(arg)
            self._cache.put(key, value)
        return value

    async def _trusted_body(self, id: str) -> str | None:
        doc = await self._store.get(names.TRUSTED_DOCUMENTS, id)
        return doc.data["body"] if doc is not None else None

    async def _hash_id(self, key: str) -> str | None:
        doc = await self._store.get(names.TRUSTED_DOCUMENT_HASHES, key)
        return doc.data["id"] if doc is not None else None

    async def _apq_body(self, sha256: str) -> str | None:
        doc = await self._store.get(names.PERSISTED_QUERIES, sha256)
        return doc.data["body"] if doc is not None else None

    # -- automatic persisted queries ---------------------------------------------------
    async def register(self, sha256: str, body: str) -> None:
        """Keep ``body`` under its hash (verified by the caller). The set is bounded: past
        ``apq_max_entries`` a random entry makes room (a client whose document went just
        sends it again, as the protocol has it)."""
        if await self.persisted(sha256) is not None:
            return
        if await self._store.count(names.PERSISTED_QUERIES) >= self._apq_max:
            victims = await self._store.list(
                names.PERSISTED_QUERIES, after=secrets.token_hex(32), limit=1
            )
            victims = victims or await self._store.list(names.PERSISTED_QUERIES, limit=1)
            for victim in victims:
                await self._store.delete(names.PERSISTED_QUERIES, victim.id)
        # Another replica may have registered it first: same hash, same body.
        with contextlib.suppress(ConflictError):
            data = {"body": body, "at": time.time()}
            await self._store.put(names.PERSISTED_QUERIES, sha256, data, expected_version=0)
        self._cache.put(f"apq:{sha256}", body)

    # -- the trusted set (ops-gateway documents ...) -----------------------------------
    async def import_documents(
        self, documents: Sequence[ManifestDocument], *, source: str
    ) -> tuple[int, int]:
        """Store these documents as trusted; return (new, already there). An id imported
        again with another body is replaced (a new build of the same operation id)."""
        added = kept = 0
        now = time.time()
        for doc in documents:
            old = await self._store.get(names.TRUSTED_DOCUMENTS, doc.id)
            if old is not None and old.data["body"] == doc.body:
                kept += 1
                continue
            if old is not None:
                await self._drop_hashes(old.data["body"], doc.id)
            data = {"body": doc.body, "name": doc.name, "type": doc.type}
            await self._store.put(
                names.TRUSTED_DOCUMENTS, doc.id, {**data, "source": source, "at": now}
            )
            for key in _hash_keys(doc.body):
                await self._store.put(names.TRUSTED_DOCUMENT_HASHES, key, {"id": doc.id})
            added += 1
        self._cache.clear()
        return added, kept

    async def list(self) -> list[TrustedDocument]:
        return [
            TrustedDocument(
                id=doc.id,
                body=doc.data["body"],
                name=doc.data.get("name"),
                type=doc.data.get("type"),
                source=doc.data.get("source", ""),
                imported_at=doc.data.get("at", 0.0),
            )
            async for doc in all_documents(self._store, names.TRUSTED_DOCUMENTS)
        ]

    async def revoke(self, id: str) -> bool:
        doc = await self._store.get(names.TRUSTED_DOCUMENTS, id)
        if doc is None:
            return False
        await self._store.delete(names.TRUSTED_DOCUMENTS, id)
        await self._drop_hashes(doc.data["body"], id)
        self._cache.clear()
        return True

    async def _drop_hashes(self, body: str, id: str) -> None:
        for key in _hash_keys(body):
            entry = await self._store.get(names.TRUSTED_DOCUMENT_HASHES, key)
            if entry is not None and entry.data["id"] == id:
                await self._store.delete(names.TRUSTED_DOCUMENT_HASHES, key)


def _hash_keys(body: str) -> tuple[str, str]:
    return f"exact:{sha256_hex(body)}", f"norm:{sha256_hex(normalised(body))}"
