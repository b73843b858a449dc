"""OIDC JWTs end to end: a signed token through /graphql and the websocket, bad ones 401."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.auth.jwks_server import SigningKey, unsigned_token
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.oidc import IdP
from tests.plugins.ws import session

ROLES = ("analyst", "offline_access")


async def test_a_valid_jwt_is_a_principal_with_its_roles(
    gateway_factory: GatewayFactory, idp: IdP
) -> None:
    gw = await gateway_factory(oidc=idp.settings)
    body = await gw.gql(
        "{ me { subject roles authKind } access { roles { name } } }",
        token=idp.token("alice", *ROLES),
    )
    assert "errors" not in body, body
    assert body["data"]["me"] == {
        "subject": "alice",
        "roles": ["analyst", "offline_access"],
        "authKind": "oidc",
    }
    # Roles assigned in the gateway add to the JWT's roles.
    await gw.gql('mutation { assignRole(subject: "alice", role: "developer") { __typename } }')
    me = await gw.gql("{ me { roles permissions { key } } }", token=idp.token("alice", *ROLES))
    assert "developer" in me["data"]["me"]["roles"]
    assert "models:write" in {p["key"] for p in me["data"]["me"]["permissions"]}


@pytest.mark.parametrize(
    "bad",
    [
        {"exp": int(time.time()) - 120},
        {"nbf": int(time.time()) + 600},
        {"iss": "https://evil.test/realms/ops"},
        {"aud": "another-client"},
    ],
    ids=["expired", "not-yet-valid", "wrong-issuer", "wrong-audience"],
)
async def test_bad_jwts_get_401(
    gateway_factory: GatewayFactory, idp: IdP, bad: dict[str, Any]
) -> None:
    gw = await gateway_factory(oidc=idp.settings)
    response = await gw.post("{ me { subject } }", token=idp.token("alice", *ROLES, **bad))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_forged_jwts_get_401(gateway_factory: GatewayFactory, idp: IdP) -> None:
    gw = await gateway_factory(oidc=idp.settings)
    claims = idp.claims("alice", *ROLES)
    forged = SigningKey.rsa(idp.key.kid).sign(claims)  # same kid, another key
    unknown_kid = SigningKey.rsa("nobody").sign(claims)
    for token in (forged, unknown_kid, unsigned_token(claims, kid=idp.key.kid)):
        assert (await gw.post("{ me { subject } }", token=token)).status_code == 401


async def test_websocket_accepts_a_jwt_in_connection_init(
    live_gateway_factory: GatewayFactory, idp: IdP
) -> None:
    gw: Gateway = await live_gateway_factory(oidc=idp.settings)
    async with session(gw, idp.token("alice", *ROLES)):
        pass  # the session asserts the first message back is the connection_ack
