"""The audit log: every change to roles, grants, assignments and tokens (DESIGN §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, fields
from typing import Any

from gateway.pubsub.base import Message, PubSub
from gateway.store import names
from gateway.store.base import LogEntry, Store


@dataclass(frozen=True, slots=True)
class AuditEntry:
    cursor: int
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    at: float

    @classmethod
    def from_entry(cls, entry: LogEntry) -> AuditEntry:
        return cls.from_message({**entry.data, "cursor": entry.cursor, "at": entry.ts})

    def to_message(self) -> dict[str, Any]:
        """What :class:`AuditLog` publishes on the audit channel."""
        return asdict(self)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> AuditEntry:
        return cls(**{f.name: message.get(f.name) for f in fields(cls)})


class AuditLog:
    def __init__(self, *, store: Store, pubsub: PubSub | None = None) -> None:
        self._store = store
        self._pubsub = pubsub

    async def record(
        self, *, actor: str, action: str, target: str, before: Any, after: Any
    ) -> AuditEntry:
        data = {"actor": actor, "action": action, "target": target}
        data |= {"before": before, "after": after}
        result = await self._store.append(names.AUDIT_STREAM, [(None, data)])
        entry = AuditEntry.from_entry(result.entries[0])
        if self._pubsub is not None:
            await self._pubsub.publish(names.AUDIT_CHANNEL, entry.to_message())
        return entry

    def live(self) -> AbstractAsyncContextManager[AsyncIterator[Message]]:
        """Entries as they are written, on any replica (as messages: AuditEntry.from_message)."""
        if self._pubsub is None:
            raise RuntimeError("AuditLog has no pub/sub: live entries need one")
        return self._pubsub.subscribe(names.AUDIT_CHANNEL)

    async def page(self, *, before: int | None, limit: int) -> list[AuditEntry]:
        """Newest first, strictly older than ``before``."""
        entries = await self._store.read(
            names.AUDIT_STREAM, before=before, limit=limit, reverse=True
        )
        return [AuditEntry.from_entry(e) for e in entries]

    async def total(self) -> int:
        return await self._store.log_length(names.AUDIT_STREAM)
