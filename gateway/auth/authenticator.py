"""Turns an ``Authorization`` header (or a WebSocket ``connection_init`` payload) into a
:class:`Principal`: ``ogw_`` tokens are API tokens, any other bearer is an OIDC JWT."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from gateway.auth.oidc import OIDCVerifier
from gateway.auth.principal import AuthKind, Principal
from gateway.auth.tokens import PREFIX, TokenService
from gateway.errors import Unauthenticated

log = logging.getLogger(__name__)

_MISSING = "authentication required: send 'Authorization: Bearer <token>'"
_MALFORMED = "malformed Authorization header: expected 'Bearer <token>'"
_INVALID = "invalid or expired token"


MAX_BEARER = 16 * 1024
"""Longer than any real JWT or API token: refused before anything parses it."""
_BEARER = re.compile(r"[ \t]*([Bb][Ee][Aa][Rr][Ee][Rr])[ \t]+([\x21-\x7e]+)[ \t]*")


def extract_bearer(value: str | None) -> str | None:
    """The token of ``Bearer <token>`` (scheme case-insensitive, surrounding spaces and tabs
    ignored); ``None`` for anything else: other schemes, tokens with spaces or characters
    outside visible ASCII (no control or Unicode space may reach a backend header), tokens
    over :data:`MAX_BEARER`."""
    if not isinstance(value, str) or len(value) > MAX_BEARER + 64:
        return None
    match = _BEARER.fullmatch(value)
    if match is None or len(match.group(2)) > MAX_BEARER:
        return None
    return match.group(2)


def authorization_from_params(params: Mapping[str, Any] | None) -> str | None:
    """The Authorization value of a ``connection_init`` payload: ``{"Authorization": ...}``
    (any case) or ``{"headers": {"Authorization": ...}}``."""
    if not isinstance(params, Mapping):
        return None
    value = _get_ci(params, "authorization")
    if value is None:
        headers = _get_ci(params, "headers")
        if isinstance(headers, Mapping):
            value = _get_ci(headers, "authorization")
    return value if isinstance(value, str) else None


def _get_ci(mapping: Mapping[str, Any], name: str) -> Any:
    if name in mapping:
        return mapping[name]
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


class Authenticator:
    def __init__(self, *, tokens: TokenService, oidc: OIDCVerifier | None) -> None:
        self._tokens = tokens
        self._oidc = oidc

    async def authenticate(self, authorization: str | None) -> Principal:
        """Raise :class:`Unauthenticated` unless the header carries a valid credential."""
        if authorization is None or not authorization.strip():
            raise Unauthenticated(_MISSING)
        token = extract_bearer(authorization)
        if token is None:
            raise Unauthenticated(_MALFORMED)
        if token.startswith(PREFIX):
            api_token = await self._tokens.verify(token)
            return Principal(
                subject=api_token.subject,
                roles=frozenset(api_token.roles),
                kind=AuthKind.API_TOKEN,
                token_id=api_token.id,
                expires_at=api_token.expires_at,
                capped=api_token.capped,
            )
        if self._oidc is None:
            # Without OIDC configured, a JWT is just an unknown token: same answer as any.
            log.debug("bearer token rejected: not an API token and OIDC is not configured")
            raise Unauthenticated(_INVALID)
        return await self._oidc.principal(token)

    async def authenticate_connection_params(self, params: Mapping[str, Any] | None) -> Principal:
        """Authenticate a WebSocket from its ``connection_init`` payload."""
        return await self.authenticate(authorization_from_params(params))
