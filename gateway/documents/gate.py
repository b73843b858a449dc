"""Which document a request runs: its own text, a trusted document named by id, or an
automatic persisted query; and whether the caller may send free-form documents at all
(``GATEWAY_DOCUMENTS``).

The request shapes are the ones clients already send: GraphQL over HTTP's ``documentId``,
and Apollo's ``extensions.persistedQuery {version: 1, sha256Hash}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateway.auth.permissions import is_admin
from gateway.documents.manifest import sha256_hex
from gateway.documents.registry import DocumentRegistry
from gateway.errors import (
    BadUserInput,
    PersistedQueryNotFound,
    PersistedQueryNotInList,
    QueryNotInSafelist,
)

_SHA256 = re.compile(r"[0-9a-f]{64}")


class DocumentMode(StrEnum):
    OPEN = "open"
    """Any document; automatic persisted queries for everyone."""
    TRUSTED = "trusted"
    """Only trusted documents, by id or by a body equal to one of them."""
    TRUSTED_EXCEPT_ADMINS = "trusted-except-admins"
    """``trusted`` for everyone but admins (GraphiQL and ad-hoc queries keep working)."""


@dataclass(frozen=True, slots=True)
class Resolved:
    query: str | None
    register: str | None = None
    """A persisted query hash to register once the document proved valid (it executed)."""


class DocumentGate:
    def __init__(self, *, mode: DocumentMode, registry: DocumentRegistry) -> None:
        self.mode = mode
        self.registry = registry

    def free_form(self, permissions: frozenset[str]) -> bool:
        """May this caller send documents that are not trusted?"""
        if self.mode is DocumentMode.OPEN:
            return True
        return self.mode is DocumentMode.TRUSTED_EXCEPT_ADMINS and is_admin(permissions)

    async def resolve(
        self,
        *,
        query: str | None,
        document_id: str | None,
        extensions: Mapping[str, Any] | None,
        permissions: frozenset[str],
    ) -> Resolved:
        free = self.free_form(permissions)
        persisted = _persisted_hash(extensions)
        if document_id is not None:
            if query is not None:
                raise BadUserInput("send either `documentId` or `query`, not both")
            body = await self.registry.trusted(document_id)
            if body is None:
                raise PersistedQueryNotInList(f"no trusted document with id {document_id!r}")
            return Resolved(body)
        if persisted is not None:
            return await self._persisted(persisted, query, free)
        if query is None or free or await self.registry.is_trusted_body(query):
            return Resolved(query)
        raise QueryNotInSafelist(_NOT_IN_SAFELIST)

    async def _persisted(self, sha256: str, query: str | None, free: bool) -> Resolved:
        if query is not None:
            if sha256_hex(query) != sha256:
                raise BadUserInput("provided sha does not match query")
            if free:
                known = await self.registry.persisted(sha256) is not None
                return Resolved(query, register=None if known else sha256)
            if await self.registry.is_trusted_body(query):
                return Resolved(query)
            raise QueryNotInSafelist(_NOT_IN_SAFELIST)
        body = await self.registry.trusted(sha256) or await self.registry.trusted_by_hash(sha256)
        if body is None and free:
            body = await self.registry.persisted(sha256)
            if body is None:
                raise PersistedQueryNotFound("PersistedQueryNotFound")
        if body is None:
            raise PersistedQueryNotInList(f"no trusted document with hash {sha256}")
        return Resolved(body)


_NOT_IN_SAFELIST = (
    "this gateway only runs trusted documents: send a `documentId` (or a persisted query "
    "hash) from the imported manifest, or exactly one of its documents"
)


def _persisted_hash(extensions: Mapping[str, Any] | None) -> str | None:
    if not extensions or "persistedQuery" not in extensions:
        return None
    pq = extensions["persistedQuery"]
    if not isinstance(pq, dict) or pq.get("version") != 1:
        raise BadUserInput("Unsupported persisted query version: use version 1")
    sha256 = pq.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise BadUserInput("`persistedQuery.sha256Hash` must be 64 lowercase hex digits")
    return sha256
