"""Creating, changing, deleting and testing LLM provider records.

Expected failures are :class:`ProviderFailure` (the schema reports them as data). The API key
is encrypted before it is stored, decrypted only to make a call, and never put into a
message, a log line or the audit log (which gets :meth:`ProviderRecord.public`).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any

from gateway.auth.actor import Actor
from gateway.auth.audit import AuditLog
from gateway.backends.providers import (
    KINDS,
    ProbeErrorCode,
    ProbeResult,
    ProviderConnector,
    ProviderKind,
)
from gateway.backends.providers.probe import failed
from gateway.errors import ConflictError
from gateway.providers.failures import (
    ProviderFailure,
    ProviderFailureCode,
    check_key,
    check_name,
    invalid,
)
from gateway.providers.loaders import ProviderLoader, ProviderTestLoader
from gateway.providers.owners import check_owner, visible
from gateway.providers.records import LastTest, ProviderRecord
from gateway.providers.urls import BaseURLError, check_base_url, normalise_base_url
from gateway.secrets import SecretBox, SecretDecryptionError
from gateway.store import names
from gateway.store.base import Store, all_documents

UNCHANGED: Any = object()
"""Marks an update argument that was not given (None means "reset")."""


class ProviderService:
    def __init__(
        self,
        *,
        store: Store,
        secrets: SecretBox,
        connector: ProviderConnector,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._connector = connector
        self._audit = audit
        self._clock = clock

    # -- reads -------------------------------------------------------------------------
    async def get(self, id: str) -> ProviderRecord | None:
        doc = await self._store.get(names.PROVIDERS, id)
        return ProviderRecord.from_document(doc) if doc else None

    async def visible_to(
        self, actor: Actor, *, owner: str | None = None, platform: bool | None = None
    ) -> list[ProviderRecord]:
        """What ``actor`` may see, by name; ``owner``/``platform`` narrow it."""
        records = [r for r in await self.all() if visible(r, actor)]
        if owner is not None:
            records = [r for r in records if r.owner == owner]
        if platform is not None:
            records = [r for r in records if (r.owner is None) == platform]
        return records

    async def all(self) -> list[ProviderRecord]:
        """Every provider, by name (there are tens, not thousands)."""
        records = [
            ProviderRecord.from_document(d)
            async for d in all_documents(self._store, names.PROVIDERS)
        ]
        return sorted(records, key=lambda r: (r.name.lower(), r.id))

    def record_loader(self) -> ProviderLoader:
        """A request's loader of records by id (one store call for a request's ids)."""
        return ProviderLoader(self._store)

    def test_loader(self) -> ProviderTestLoader:
        return ProviderTestLoader(self._store)

    # -- changes -----------------------------------------------------------------------
    async def create(
        self,
        actor: Actor,
        *,
        name: str,
        kind: str,
        base_url: str | None = None,
        api_key: str | None = None,
        enabled: bool = True,
        owner: str | None = None,
    ) -> ProviderRecord:
        spec = KINDS.get(kind)
        if spec is None:
            raise invalid(f"unknown provider kind {kind!r}", "kind")
        name = check_name(name)
        url = await self._base_url(base_url, required=spec.base_url_required)
        key_fields = self._key_fields(spec, api_key)
        owner = check_owner(owner, actor)
        await self._unique(name, owner)
        now = self._clock()
        record = ProviderRecord(
            id=f"prv_{uuid.uuid4().hex[:16]}",
            name=name,
            kind=kind,
            base_url=url,
            **key_fields,
            enabled=enabled,
            created_at=now,
            updated_at=now,
            created_by=actor.subject,
            updated_by=actor.subject,
            version=0,
            owner=owner,
        )
        saved = await self._put(record, expected_version=0)
        await self._record(actor, "provider.create", saved, before=None, after=saved.public())
        return saved

    async def update(
        self,
        actor: Actor,
        *,
        id: str,
        name: Any = UNCHANGED,
        base_url: Any = UNCHANGED,
        api_key: Any = UNCHANGED,
        enabled: Any = UNCHANGED,
        expected_version: int | None = None,
    ) -> ProviderRecord:
        """``base_url=None`` resets to the kind's default; ``api_key=None`` removes the key."""
        current = await self._require(actor, id, expected_version)
        spec = current.spec
        changes: dict[str, Any] = {}
        if name is not UNCHANGED:
            changes["name"] = check_name(name)
            if changes["name"].lower() != current.name.lower():
                await self._unique(changes["name"], current.owner)
        if base_url is not UNCHANGED:
            changes["base_url"] = await self._base_url(base_url, required=spec.base_url_required)
        if api_key is not UNCHANGED:
            changes |= self._key_fields(spec, api_key)
        if enabled is not UNCHANGED:
            if not isinstance(enabled, bool):
                raise invalid("enabled must be true or false", "enabled")
            changes["enabled"] = enabled
        if not changes:
            return current
        return await self._change(actor, current, changes, action="provider.update")

    async def toggle(self, actor: Actor, *, id: str, enabled: bool | None = None) -> ProviderRecord:
        current = await self._require(actor, id, None)
        target = (not current.enabled) if enabled is None else enabled
        if target == current.enabled:
            return current
        return await self._change(actor, current, {"enabled": target}, action="provider.toggle")

    async def delete(
        self, actor: Actor, *, id: str, expected_version: int | None = None
    ) -> ProviderRecord:
        current = await self._require(actor, id, expected_version)
        if current.owner != actor.subject and "providers:delete" not in actor.permissions:
            raise ProviderFailure(
                ProviderFailureCode.FORBIDDEN,
                "deleting a provider that is not your own needs providers:delete",
                field="id",
            )
        try:
            await self._store.delete(names.PROVIDERS, id, expected_version=current.version)
        except ConflictError:
            raise self._conflict() from None
        await self._store.delete(names.PROVIDER_TESTS, id)
        await self._record(actor, "provider.delete", current, before=current.public(), after=None)
        return current

    async def test(
        self,
        actor: Actor,
        *,
        id: str,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> tuple[ProviderRecord, ProbeResult]:
        """Call the provider's model list now; remember the outcome for ``last_test``."""
        current = await self._require(actor, id, None)
        try:
            key = self._secrets.decrypt(current.api_key) if current.api_key else None
        except SecretDecryptionError:
            result = failed(
                ProbeErrorCode.KEY_UNREADABLE,
                "the stored API key cannot be decrypted with GATEWAY_SECRET_KEYS; set it again",
            )
        else:
            result = await self._connector.test(
                kind=current.spec, base_url=current.effective_base_url, api_key=key, timeout=timeout
            )
        last = LastTest.from_probe(result, at=self._clock(), config_rev=current.config_rev)
        if await self.get(id) is not None:  # deleted meanwhile: nothing to remember it for
            await self._store.put(names.PROVIDER_TESTS, id, last.to_json())
        return current, result

    # -- helpers -----------------------------------------------------------------------
    def _key_fields(self, spec: ProviderKind, api_key: str | None) -> dict[str, str | None]:
        """The stored form of ``api_key`` (None removes the key): ciphertext and hint."""
        key = check_key(api_key) if api_key is not None else None
        if spec.key_required and not key:
            raise invalid(f"{spec.label} needs an API key", "apiKey")
        return {
            "api_key": self._secrets.encrypt(key) if key else None,
            "api_key_hint": SecretBox.hint(key) if key else None,
        }

    async def _base_url(self, raw: str | None, *, required: bool) -> str | None:
        if raw is None or not raw.strip():
            if required:
                raise invalid("this kind of provider needs a base URL", "baseUrl")
            return None
        try:
            url = normalise_base_url(raw)
            await check_base_url(url, self._connector.policy)
        except BaseURLError as exc:
            code = ProviderFailureCode.BLOCKED_URL if exc.blocked else ProviderFailureCode.INVALID
            raise ProviderFailure(code, exc.message, field="baseUrl") from None
        return url

    async def _unique(self, name: str, owner: str | None) -> None:
        """Names are unique per owner: one subject's names say nothing of another's."""
        records = await self.all()
        if any(r.name.lower() == name.lower() and r.owner == owner for r in records):
            raise ProviderFailure(
                ProviderFailureCode.ALREADY_EXISTS,
                f"a provider named {name!r} exists",
                field="name",
            )

    async def _require(self, actor: Actor, id: str, expected_version: int | None) -> ProviderRecord:
        record = await self.get(id)
        if record is None or not visible(record, actor):
            raise ProviderFailure(
                ProviderFailureCode.NOT_FOUND, f"no provider with id {id!r}", field="id"
            )
        if expected_version is not None and expected_version != record.version:
            raise self._conflict()
        return record

    def _conflict(self) -> ProviderFailure:
        return ProviderFailure(
            ProviderFailureCode.CONFLICT,
            "the provider was changed by someone else; reload and try again",
            field="expectedVersion",
        )

    async def _change(
        self, actor: Actor, current: ProviderRecord, changes: dict[str, Any], *, action: str
    ) -> ProviderRecord:
        changes |= {"updated_at": self._clock(), "updated_by": actor.subject}
        if {"base_url", "api_key"} & changes.keys():
            changes["config_rev"] = current.config_rev + 1  # the last test is now stale
        updated = dataclasses.replace(current, **changes)
        saved = await self._put(updated, current.version)
        after = saved.public() | ({"api_key_changed": True} if "api_key" in changes else {})
        await self._record(actor, action, saved, before=current.public(), after=after)
        return saved

    async def _put(self, record: ProviderRecord, expected_version: int) -> ProviderRecord:
        try:
            doc = await self._store.put(
                names.PROVIDERS, record.id, record.to_json(), expected_version=expected_version
            )
        except ConflictError:
            if expected_version == 0:
                raise
            raise self._conflict() from None
        return ProviderRecord.from_document(doc)

    async def _record(
        self, actor: Actor, action: str, record: ProviderRecord, *, before: Any, after: Any
    ) -> None:
        if self._audit is not None:
            target = f"provider:{record.id}"
            await self._audit.record(
                actor=actor.subject, action=action, target=target, before=before, after=after
            )
