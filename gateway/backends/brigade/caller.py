"""Whose credential goes to Brigade, and whose cache entries a call may read.

An OIDC caller's own JWT is forwarded, so Brigade applies its own per-user scoping; any other
caller (API token) is represented by the service key ``BRIGADE_API_KEY``. Cache keys always
carry the caller's identity, so one caller's data is never served to another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from gateway.auth.principal import AuthKind, Principal


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Caller:
    identity: str
    """Who is asking, for cache scoping; never a secret (credentials appear only hashed)."""
    bearer: str | None = field(default=None, repr=False)
    """The caller's JWT to forward; ``None`` means "send the service key"."""

    @property
    def forwards_token(self) -> bool:
        return self.bearer is not None

    def headers(self) -> dict[str, str]:
        """Per-call headers: the JWT overrides the client's default service-key header."""
        return {"Authorization": f"Bearer {self.bearer}"} if self.bearer else {}

    @classmethod
    def of(cls, principal: Principal | None) -> Caller:
        if principal is None:
            return cls(identity="anonymous")
        if principal.kind is AuthKind.OIDC and principal.bearer:
            # The token itself is part of the identity: a new token (other roles, other
            # scopes at Brigade) never reads what an older one cached.
            identity = f"oidc:{principal.subject}:{_digest(principal.bearer)}"
            return cls(identity=identity, bearer=principal.bearer)
        who = principal.token_id or principal.subject
        return cls(identity=f"{principal.kind.value}:{principal.subject}:{who}")


def cache_key(caller: Caller, path: str, params: Mapping[str, object]) -> str:
    """A fixed-length key for (caller, path, params); parameter order does not matter."""
    raw = orjson.dumps([caller.identity, path, sorted((k, str(v)) for k, v in params.items())])
    return hashlib.sha256(raw).hexdigest()
