"""Who is calling: the result of authentication, before RBAC resolves permissions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AuthKind(StrEnum):
    API_TOKEN = "api_token"
    OIDC = "oidc"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    roles: frozenset[str]
    kind: AuthKind
    token_id: str | None = None
    """API token id (never the token itself)."""
    bearer: str | None = field(default=None, repr=False)
    """The caller's OIDC JWT, kept only to forward it to backends that accept it (Brigade)."""
    expires_at: float | None = None
    capped: bool = False
    """An API token minted for this subject by someone else: it holds its own roles only,
    never the roles assigned to the subject (see :mod:`gateway.auth.guard`)."""
    claims: dict[str, object] = field(default_factory=dict, repr=False)
