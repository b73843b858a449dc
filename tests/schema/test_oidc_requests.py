"""OIDC JWTs end to end: a signed token through /graphql and the websocket, bad ones 401."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from gateway.settings import OIDCSettings
from tests.auth.jwks_server import JWKSServer, SigningKey, unsigned_token
from tests.plugins.app import Gateway, GatewayFactory

ISSUER = "https://keycloak.test/realms/ops"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.rsa("gw-1")


@pytest.fixture(scope="module")
def jwks(key: SigningKey) -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.start()
    server.publish(key)
    yield server
    server.stop()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": "ops-gateway",
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
        "realm_access": {"roles": ["analyst", "offline_access"]},
    }
    return base | overrides


def oidc(jwks: JWKSServer) -> OIDCSettings:
    return OIDCSettings(issuer=ISSUER, audience="ops-gateway", jwks_url=jwks.url)


async def test_a_valid_jwt_is_a_principal_with_its_roles(
    gateway_factory: GatewayFactory, jwks: JWKSServer, key: SigningKey
) -> None:
    gw = await gateway_factory(oidc=oidc(jwks))
    body = await gw.gql(
        "{ me { subject roles authKind } access { roles { name } } }", token=key.sign(claims())
    )
    assert "errors" not in body, body
    assert body["data"]["me"] == {
        "subject": "alice",
        "roles": ["analyst", "offline_access"],
        "authKind": "oidc",
    }
    # Roles assigned in the gateway add to the JWT's roles.
    await gw.gql('mutation { assignRole(subject: "alice", role: "developer") { __typename } }')
    me = await gw.gql("{ me { roles permissions { key } } }", token=key.sign(claims()))
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
    gateway_factory: GatewayFactory, jwks: JWKSServer, key: SigningKey, bad: dict[str, Any]
) -> None:
    gw = await gateway_factory(oidc=oidc(jwks))
    response = await gw.post("{ me { subject } }", token=key.sign(claims(**bad)))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_forged_jwts_get_401(gateway_factory: GatewayFactory, jwks: JWKSServer) -> None:
    gw = await gateway_factory(oidc=oidc(jwks))
    forged = SigningKey.rsa("gw-1").sign(claims())  # same kid, another key
    unknown_kid = SigningKey.rsa("nobody").sign(claims())
    for token in (forged, unknown_kid, unsigned_token(claims(), kid="gw-1")):
        assert (await gw.post("{ me { subject } }", token=token)).status_code == 401


async def test_websocket_accepts_a_jwt_in_connection_init(
    live_gateway_factory: GatewayFactory, jwks: JWKSServer, key: SigningKey
) -> None:
    gw: Gateway = await live_gateway_factory(oidc=oidc(jwks))
    url = gw.url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        auth = {"Authorization": f"Bearer {key.sign(claims())}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": auth}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
