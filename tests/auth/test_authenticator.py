"""Authenticator: API tokens (real store) and OIDC JWTs (real JWKS server) behind one header."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from gateway.auth.authenticator import Authenticator, authorization_from_params, extract_bearer
from gateway.auth.oidc import OIDCVerifier
from gateway.auth.principal import AuthKind
from gateway.auth.tokens import TokenService
from gateway.errors import Unauthenticated
from gateway.settings import OIDCSettings
from gateway.store.base import Store
from tests.auth.jwks_server import ISSUER, JWKSServer, SigningKey


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey.ec("ec-auth")


@pytest.fixture(scope="module")
def jwks(signing_key: SigningKey) -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.publish(signing_key)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def tokens(store: Store) -> TokenService:
    return TokenService(store=store)


@pytest.fixture
def oidc(jwks: JWKSServer, http: httpx.AsyncClient) -> OIDCVerifier:
    settings = OIDCSettings(
        issuer=ISSUER, jwks_url=jwks.url, roles_claim="resource_access.ops-gateway.roles"
    )
    return OIDCVerifier(settings=settings, http=http)


@pytest.fixture
def auth(tokens: TokenService, oidc: OIDCVerifier) -> Authenticator:
    return Authenticator(tokens=tokens, oidc=oidc)


def jwt_for(key: SigningKey, **claims: Any) -> str:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "sub": "user-42",
        "iat": now,
        "exp": now + 300,
        "realm_access": {"roles": ["viewer"]},
        "resource_access": {"ops-gateway": {"roles": ["analyst"]}},
    }
    return key.sign({**base, **claims})


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER   abc  ", "abc"),
        ("  Bearer\tabc", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer a b", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_extract_bearer(header: str | None, token: str | None) -> None:
    assert extract_bearer(header) == token


async def test_api_token_principal(auth: Authenticator, tokens: TokenService) -> None:
    plaintext, created = await tokens.create(subject="ci-bot", roles=["developer"], expires_in=3600)
    principal = await auth.authenticate(f"bearer   {plaintext} ")
    assert principal.kind is AuthKind.API_TOKEN
    assert principal.subject == "ci-bot"
    assert principal.roles == {"developer"}
    assert principal.token_id == created.id
    assert principal.expires_at == created.expires_at
    assert principal.bearer is None  # API tokens are never forwarded to backends
    assert plaintext not in repr(principal)


async def test_revoked_api_token_is_rejected(auth: Authenticator, tokens: TokenService) -> None:
    plaintext, created = await tokens.create(subject="s", roles=["viewer"], expires_in=None)
    await tokens.revoke(created.id)
    with pytest.raises(Unauthenticated):
        await auth.authenticate(f"Bearer {plaintext}")


async def test_oidc_principal_uses_the_configured_roles_claim(
    auth: Authenticator, signing_key: SigningKey
) -> None:
    token = jwt_for(signing_key)
    principal = await auth.authenticate(f"Bearer {token}")
    assert principal.kind is AuthKind.OIDC
    assert principal.subject == "user-42"
    assert principal.roles == {"analyst"}
    assert principal.bearer == token
    assert principal.token_id is None


async def test_invalid_jwt_is_rejected(auth: Authenticator) -> None:
    forged = jwt_for(SigningKey.ec("ec-auth"))  # right kid, wrong key
    with pytest.raises(Unauthenticated):
        await auth.authenticate(f"Bearer {forged}")


async def test_jwt_without_oidc_configured_is_rejected(
    tokens: TokenService, signing_key: SigningKey
) -> None:
    auth = Authenticator(tokens=tokens, oidc=None)
    with pytest.raises(Unauthenticated):
        await auth.authenticate(f"Bearer {jwt_for(signing_key)}")


@pytest.mark.parametrize("header", [None, "", "   "])
async def test_missing_header(auth: Authenticator, header: str | None) -> None:
    with pytest.raises(Unauthenticated, match="authentication required"):
        await auth.authenticate(header)


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "token"])
async def test_garbled_header(auth: Authenticator, header: str) -> None:
    with pytest.raises(Unauthenticated, match="malformed"):
        await auth.authenticate(header)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda v: {"Authorization": v},
        lambda v: {"authorization": v},
        lambda v: {"AUTHORIZATION": v},
        lambda v: {"headers": {"Authorization": v}},
        lambda v: {"headers": {"authorization": v}},
    ],
)
async def test_connection_params_forms(
    auth: Authenticator, tokens: TokenService, wrap: Any
) -> None:
    plaintext, created = await tokens.create(subject="ws", roles=["viewer"], expires_in=None)
    principal = await auth.authenticate_connection_params(wrap(f"Bearer {plaintext}"))
    assert principal.token_id == created.id


@pytest.mark.parametrize(
    "params",
    [None, {}, {"Authorization": 123}, {"headers": "Bearer x"}, {"headers": {}}, ["Bearer x"]],
)
async def test_connection_params_without_credentials(auth: Authenticator, params: Any) -> None:
    assert authorization_from_params(params) is None
    with pytest.raises(Unauthenticated):
        await auth.authenticate_connection_params(params)


async def test_connection_params_with_jwt(auth: Authenticator, signing_key: SigningKey) -> None:
    token = jwt_for(signing_key)
    principal = await auth.authenticate_connection_params(
        {"headers": {"Authorization": f"Bearer {token}"}}
    )
    assert principal.kind is AuthKind.OIDC and principal.subject == "user-42"
