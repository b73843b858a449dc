"""The agents domain against the Brigade sandbox over real HTTP, and OIDC callers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from gateway.sandbox.brigade import BrigadeSandbox
from gateway.settings import OIDCSettings
from tests.auth.jwks_server import JWKSServer, SigningKey
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.servers import ServeApp

ISSUER = "https://keycloak.test/realms/ops"
AUDIENCE = "ops-gateway"


@pytest.fixture(scope="session")
def idp_key() -> SigningKey:
    return SigningKey.rsa("idp-1")


@pytest.fixture(scope="session")
def jwks(idp_key: SigningKey) -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.start()
    server.publish(idp_key)
    yield server
    server.stop()


def jwt_for(key: SigningKey, subject: str, *roles: str) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now,
        "exp": now + 300,
        "realm_access": {"roles": list(roles or ("viewer",))},
    }
    return key.sign(claims)


@pytest.fixture
def brigade(idp_key: SigningKey) -> BrigadeSandbox:
    """A Brigade that trusts the test IdP's key, as a real one behind Keycloak would."""
    return BrigadeSandbox(jwt_keys=[idp_key.public_pem()], jwt_issuer=ISSUER, jwt_audience=AUDIENCE)


AgentsGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
def agents_gateway(
    gateway_factory: GatewayFactory, serve_app: ServeApp, brigade: BrigadeSandbox, jwks: JWKSServer
) -> AgentsGateway:
    """``gw = await agents_gateway(**overrides)``: a gateway pointed at the served sandbox,
    accepting the test IdP's JWTs; ``brigade_api_url=None`` etc. override."""
    served: list[str] = []

    async def make(**overrides: Any) -> Gateway:
        if not served:
            served.append(await serve_app(brigade))
        settings: dict[str, Any] = {
            "brigade_api_url": served[0],
            "brigade_api_key": brigade.api_key,
            "oidc": OIDCSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks.url),
            "backend_timeout": 2.0,
        }
        return await gateway_factory(**(settings | overrides))

    return make
