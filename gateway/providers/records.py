"""Provider records as stored: documents in the ``providers`` collection.

The API key is stored only as a :class:`~gateway.secrets.SecretBox` ciphertext in ``api_key``
(registered in ``ENCRYPTED_FIELDS`` so ``ops-gateway keys rotate`` re-encrypts it), next to a
hint of its last characters computed when it was set, so listing never decrypts anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.backends.providers import KINDS, ProbeResult, ProviderKind
from gateway.store.base import Document

MAX_STORED_MODELS = 500


@dataclass(frozen=True, slots=True)
class LastTest:
    config_rev: int
    """The provider's ``config_rev`` when tested: a later URL or key change makes it stale."""
    ok: bool
    at: float
    latency_ms: float
    model_count: int
    models: tuple[str, ...]
    truncated: bool
    error_code: str | None
    message: str | None
    status: int | None

    @classmethod
    def from_probe(cls, result: ProbeResult, *, at: float, config_rev: int) -> LastTest:
        error = result.error
        return cls(
            config_rev=config_rev,
            ok=result.ok,
            at=at,
            latency_ms=result.latency_ms,
            model_count=len(result.models),
            models=tuple(m.id for m in result.models[:MAX_STORED_MODELS]),
            truncated=result.truncated,
            error_code=error.code.value if error else None,
            message=error.message if error else None,
            status=error.status if error else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "config_rev": self.config_rev,
            "ok": self.ok,
            "at": self.at,
            "latency_ms": self.latency_ms,
            "model_count": self.model_count,
            "models": list(self.models),
            "truncated": self.truncated,
            "error_code": self.error_code,
            "message": self.message,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LastTest:
        return cls(
            config_rev=int(d.get("config_rev", 0)),
            ok=bool(d.get("ok")),
            at=float(d.get("at", 0.0)),
            latency_ms=float(d.get("latency_ms", 0.0)),
            model_count=int(d.get("model_count", 0)),
            models=tuple(d.get("models") or ()),
            truncated=bool(d.get("truncated")),
            error_code=d.get("error_code"),
            message=d.get("message"),
            status=d.get("status"),
        )


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    id: str
    name: str
    kind: str
    base_url: str | None
    """As configured; None means the kind's default."""
    api_key: str | None
    """Ciphertext; never leaves the domain layer."""
    api_key_hint: str | None
    enabled: bool
    created_at: float
    updated_at: float
    created_by: str
    updated_by: str
    version: int
    config_rev: int = 1
    """Bumped when the base URL or the key changes (not by renames, toggles, rotation)."""
    owner: str | None = None
    """The subject whose provider it is (bring-your-own-key); None: the platform's."""

    @property
    def spec(self) -> ProviderKind:
        return KINDS[self.kind]

    @property
    def effective_base_url(self) -> str:
        url = self.base_url or self.spec.default_base_url
        assert url is not None  # custom providers cannot be saved without one
        return url

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key)

    @classmethod
    def from_document(cls, doc: Document) -> ProviderRecord:
        d = doc.data
        return cls(
            id=doc.id,
            name=d["name"],
            kind=d["kind"],
            base_url=d.get("base_url"),
            api_key=d.get("api_key"),
            api_key_hint=d.get("api_key_hint"),
            enabled=bool(d.get("enabled", True)),
            created_at=float(d.get("created_at", doc.updated_at)),
            updated_at=float(d.get("updated_at", doc.updated_at)),
            created_by=d.get("created_by", ""),
            updated_by=d.get("updated_by", ""),
            version=doc.version,
            config_rev=int(d.get("config_rev", 1)),
            owner=d.get("owner"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "base_url": self.base_url,
            "api_key": self.api_key,
            "api_key_hint": self.api_key_hint,
            "enabled": self.enabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "created_by": self.created_by,
            "updated_by": self.updated_by,
            "config_rev": self.config_rev,
            "owner": self.owner,
        }

    def public(self) -> dict[str, Any]:
        """What the audit log may keep: everything but the ciphertext."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "base_url": self.base_url,
            "api_key_hint": self.api_key_hint,
            "has_api_key": self.has_api_key,
            "enabled": self.enabled,
            "owner": self.owner,
        }
