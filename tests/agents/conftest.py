"""The agents domain against the Brigade sandbox over real HTTP, and OIDC callers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.sandbox.brigade import BrigadeSandbox
from tests.auth.jwks_server import AUDIENCE, ISSUER
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.oidc import IdP
from tests.plugins.servers import ServeApp


@pytest.fixture
def brigade(idp: IdP) -> BrigadeSandbox:
    """A Brigade that trusts the test IdP's key, as a real one behind Keycloak would."""
    return BrigadeSandbox(jwt_keys=[idp.key.public_pem()], jwt_issuer=ISSUER, jwt_audience=AUDIENCE)


AgentsGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
def agents_gateway(
    gateway_factory: GatewayFactory, serve_app: ServeApp, brigade: BrigadeSandbox, idp: IdP
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
            "oidc": idp.settings,
            "backend_timeout": 2.0,
        }
        return await gateway_factory(**(settings | overrides))

    return make
