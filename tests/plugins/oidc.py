"""``idp``: a Keycloak-like identity provider for gateway tests, one per run.

Its signing key's JWKS is served over real HTTP (tests/auth/jwks_server.py), and it issues
JWTs for any subject and roles. The OIDCVerifier's own tests build their servers and keys
themselves, since they change what the JWKS serves.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.settings import OIDCSettings
from tests.auth.jwks_server import AUDIENCE, ISSUER, JWKSServer, SigningKey


@dataclass(frozen=True)
class IdP:
    key: SigningKey
    jwks: JWKSServer

    @property
    def settings(self) -> OIDCSettings:
        """The gateway's ``oidc`` setting that trusts this IdP."""
        return OIDCSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url=self.jwks.url)

    def claims(self, subject: str, *roles: str, **overrides: Any) -> dict[str, Any]:
        """Claims valid for five minutes from now; realm roles ``roles`` (else viewer)."""
        now = int(time.time())
        base = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + 300,
            "realm_access": {"roles": list(roles or ("viewer",))},
        }
        return base | overrides

    def token(self, subject: str, *roles: str, **overrides: Any) -> str:
        """A JWT of :meth:`claims`, signed with the published key."""
        return self.key.sign(self.claims(subject, *roles, **overrides))


@pytest.fixture(scope="session")
def idp() -> Iterator[IdP]:
    key = SigningKey.rsa("idp-1")
    server = JWKSServer()
    server.start()
    server.publish(key)
    yield IdP(key=key, jwks=server)
    server.stop()
