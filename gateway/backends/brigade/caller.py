"""Whose credential goes to Brigade, and whose cache entries a call may read.

An OIDC caller's own JWT is forwarded, so Brigade applies its own per-user scoping; any other
caller (API token) is represented by the service key ``BRIGADE_API_KEY``. Cache keys always
carry the caller's identity, so one caller's data is never served to another.

What is forwarded is the verified token exactly, and only if it has the shape of a compact
JWS (three base64url segments, at most :data:`MAX_FORWARDED` characters): nothing else can
reach the ``Authorization`` header, so no CR/LF, control character or other header can ride
along with it, and an absurd token is refused here rather than sent upstream. A token that
cannot be forwarded is never replaced by the service key (that would widen what the caller
sees): the field fails with UNAUTHENTICATED.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from gateway.auth.principal import AuthKind, Principal
from gateway.errors import Unauthenticated

COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
MAX_FORWARDED = 16 * 1024
"""Characters of a forwarded JWT: the common 8-16 KiB header limits of proxies and servers."""


def forwardable(token: str) -> bool:
    """Whether ``token`` may go into an ``Authorization`` header as it is."""
    return len(token) <= MAX_FORWARDED and COMPACT_JWS.fullmatch(token) is not None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Caller:
    identity: str
    """Who is asking, for cache scoping; never a secret (credentials appear only hashed)."""
    bearer: str | None = field(default=None, repr=False)
    """The caller's JWT to forward; ``None`` means "send the service key"."""

    def __post_init__(self) -> None:
        if self.bearer is not None and not forwardable(self.bearer):
            raise Unauthenticated(
                "the caller's token cannot be forwarded to Brigade: not a compact JWT of at "
                f"most {MAX_FORWARDED} characters"
            )

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
