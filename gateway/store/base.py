"""The Store protocol (DESIGN §7): what every domain needs from persistence, and no more.

Four shapes, each small:

- **documents**: JSON objects by ``(collection, id)`` with a version for optimistic updates;
- **logs**: append-only streams with idempotency keys and integer cursors (usage events, the
  audit log, outboxes);
- **counters**: integer counters grouped in a namespace (rollups);
- **TTL entries**: values that expire (caches, nonces).

Domain code depends only on this protocol, so the SQLite and Redis implementations pass one
parametrised test suite. An acknowledged write (the awaited call returned) is durable.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Document:
    collection: str
    id: str
    data: JSON
    version: int
    updated_at: float


@dataclass(frozen=True, slots=True)
class LogEntry:
    cursor: int
    """Strictly increasing per stream, starting at 1."""
    key: str | None
    """Idempotency key; an entry with a key already in the stream is not appended again."""
    data: JSON
    ts: float


@dataclass(frozen=True, slots=True)
class AppendResult:
    entries: list[LogEntry] = field(default_factory=list)
    """The entries that were appended, in order."""
    duplicates: list[str] = field(default_factory=list)
    """Keys that were already in the stream (or repeated within the batch) and were skipped."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a store holds, by name: for copying it whole (``ops-gateway store copy``)."""

    collections: list[str]
    streams: list[str]
    namespaces: list[str]


KeyRecord = tuple[str, float]
"""An idempotency key and the time it was recorded."""


@runtime_checkable
class Store(Protocol):
    """Async persistence used by every domain. Implementations: SQLite and Redis."""

    # -- lifecycle ---------------------------------------------------------------------
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None:
        """Raise if the store cannot serve requests."""

    # -- documents ---------------------------------------------------------------------
    async def get(self, collection: str, id: str) -> Document | None: ...

    async def get_many(self, collection: str, ids: Sequence[str]) -> dict[str, Document]: ...

    async def put(
        self, collection: str, id: str, data: JSON, *, expected_version: int | None = None
    ) -> Document:
        """Create or replace a document and return it with its new version.

        ``expected_version=None`` writes unconditionally; ``0`` means "must not exist yet";
        any other value must equal the stored version, else :class:`ConflictError`.
        """

    async def delete(
        self, collection: str, id: str, *, expected_version: int | None = None
    ) -> bool:
        """Remove a document; return whether it existed."""

    async def list(
        self, collection: str, *, after: str | None = None, limit: int = 100
    ) -> builtins.list[Document]:
        """Documents ordered by id, strictly after ``after``."""

    async def count(self, collection: str) -> int: ...

    # -- append-only logs --------------------------------------------------------------
    async def append(self, stream: str, items: Sequence[tuple[str | None, JSON]]) -> AppendResult:
        """Append ``(key, data)`` items atomically; keys already present are skipped."""

    async def read(
        self,
        stream: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
        reverse: bool = False,
    ) -> builtins.list[LogEntry]:
        """Entries with ``after < cursor < before``; oldest first, or newest first if reverse."""

    async def log_length(self, stream: str) -> int: ...

    async def trim(self, stream: str, *, upto: int) -> int:
        """Drop entries with ``cursor <= upto`` (idempotency keys are kept); return count."""

    async def prune_keys(self, *, older_than: float) -> int:
        """Forget idempotency keys recorded before ``older_than`` (epoch seconds), in every
        stream: a key is remembered for a retention window, not forever. Returns how many."""

    # -- copying a whole store --------------------------------------------------------
    async def catalog(self) -> Catalog: ...

    async def export_keys(self, stream: str, *, offset: int, limit: int) -> list[KeyRecord]:
        """A stream's idempotency keys, ``limit`` from ``offset`` (in a stable order)."""

    async def restore(
        self, stream: str, entries: Sequence[LogEntry], keys: Sequence[KeyRecord]
    ) -> None:
        """Write entries at their own cursors and claim keys with their times (into a store
        being filled by a copy, in cursor order): the counterpart of ``read``/``export_keys``."""

    # -- counters ----------------------------------------------------------------------
    async def incr(self, namespace: str, deltas: Mapping[str, int]) -> dict[str, int]:
        """Add each delta to its counter atomically; return the new values."""

    async def incr_many(
        self,
        deltas: Mapping[str, Mapping[str, int]],
        *,
        guard: tuple[str, str, int] | None = None,
    ) -> bool:
        """Add deltas to counters of several namespaces (``{namespace: {name: delta}}``) in one
        atomic step; return whether they were applied.

        With ``guard=(namespace, name, expected)`` nothing is applied unless that counter's
        value (0 when missing) equals ``expected``. A projector keeps its log cursor in such a
        counter and advances it in the same step as the rollups it derives, so a crash between
        steps never applies a range twice, and two replicas never both apply it.
        """

    async def counters(self, namespace: str, names: Sequence[str] | None = None) -> dict[str, int]:
        """Current values (missing counters are absent, not zero); all when ``names`` is None."""

    # -- TTL entries -------------------------------------------------------------------
    async def set_ttl(self, key: str, value: JSON, ttl_seconds: float) -> None: ...
    async def get_ttl(self, key: str) -> JSON | None: ...
    async def delete_ttl(self, key: str) -> None: ...


async def all_documents(
    store: Store, collection: str, *, page: int = 500
) -> AsyncIterator[Document]:
    """Every document of ``collection`` in id order, read ``page`` at a time (for the small
    collections a domain reads whole: roles, tokens, providers, prices, jobs)."""
    after: str | None = None
    while True:
        batch = await store.list(collection, after=after, limit=page)
        for doc in batch:
            yield doc
        if len(batch) < page:
            return
        after = batch[-1].id
