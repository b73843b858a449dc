"""OIDCVerifier against a real JWKS server on 127.0.0.1 with real RS256/ES256 signatures."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from gateway.auth.oidc import OIDCVerifier, principal_from_claims, roles_from_claims
from gateway.auth.principal import AuthKind
from gateway.errors import ConfigurationError, Unauthenticated
from gateway.settings import OIDCSettings
from tests.auth.jwks_server import (
    AUDIENCE,
    ISSUER,
    JWKS_PATH,
    FakeClock,
    JWKSServer,
    SigningKey,
    hs256_token,
    unsigned_token,
)

GENERIC = "invalid or expired token"

# Keycloak publishes an encryption key next to its signing keys; it must be ignored.
ENC_KEY = {
    **SigningKey.rsa("enc-1").jwk(),
    "use": "enc",
    "alg": "RSA-OAEP",
}


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {
        "rsa": SigningKey.rsa("rsa-1"),
        "ec": SigningKey.ec("ec-1"),
        "rsa_next": SigningKey.rsa("rsa-2"),
        "attacker": SigningKey.rsa("rsa-1"),  # same kid as "rsa", different key
    }


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(jwks_server: JWKSServer, keys: dict[str, SigningKey]) -> JWKSServer:
    jwks_server.reset()
    jwks_server.publish(keys["rsa"], keys["ec"], extra=[ENC_KEY])
    return jwks_server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_verifier(
    server: JWKSServer, http: httpx.AsyncClient, clock: FakeClock
) -> Callable[..., OIDCVerifier]:
    def make(**overrides: Any) -> OIDCVerifier:
        settings = OIDCSettings(
            issuer=ISSUER,
            audience=overrides.pop("audience", AUDIENCE),
            jwks_url=overrides.pop("jwks_url", server.url),
        )
        return OIDCVerifier(settings=settings, http=http, clock=clock, **overrides)

    return make


@pytest.fixture
def verifier(make_verifier: Callable[..., OIDCVerifier]) -> OIDCVerifier:
    return make_verifier()


def claims(clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    now = int(clock.now)
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": [AUDIENCE, "account"],
        "sub": "7f0c6c1e-alice",
        "preferred_username": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "realm_access": {"roles": ["analyst", "viewer"]},
        "resource_access": {"ops.gateway": {"roles": ["developer"]}},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


async def rejected(verifier: OIDCVerifier, token: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as info:
        await verifier.verify(token)
    assert info.value.message == GENERIC  # the reason is never told to the client
    return info.value


async def test_rs256_token_is_accepted_and_roles_extracted(
    verifier: OIDCVerifier, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    token = keys["rsa"].sign(claims(clock))
    verified = await verifier.verify(token)
    assert verified["sub"] == "7f0c6c1e-alice"
    principal = principal_from_claims(verified, token, verifier.roles_claim)
    assert principal.kind is AuthKind.OIDC
    assert principal.roles == {"analyst", "viewer"}
    assert principal.bearer == token
    assert principal.expires_at == clock.now + 300
    assert token not in repr(principal)


async def test_es256_token_is_accepted(
    verifier: OIDCVerifier, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    principal = await verifier.principal(keys["ec"].sign(claims(clock)))
    assert principal.subject == "7f0c6c1e-alice"
    assert principal.roles == {"analyst", "viewer"}


async def test_leeway_accepts_a_token_that_just_expired(
    verifier: OIDCVerifier, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    token = keys["rsa"].sign(claims(clock, exp=int(clock.now) - 10))
    assert (await verifier.verify(token))["sub"]


async def test_audience_is_optional_when_not_configured(
    make_verifier: Callable[..., OIDCVerifier], keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    verifier = make_verifier(audience=None)
    assert await verifier.verify(keys["rsa"].sign(claims(clock, aud="someone-else")))


@pytest.mark.parametrize(
    ("case", "overrides", "logged"),
    [
        ("expired", {"exp": -3600, "iat": -7200, "nbf": -7200}, "expired"),
        ("not yet valid", {"nbf": 3600}, "not valid before"),
        ("issued in the future", {"iat": 3600}, "future"),
        ("wrong issuer", {"iss": "https://evil.test/realms/ops"}, "Issuer"),
        ("wrong audience", {"aud": "another-client"}, "Audience"),
        ("no sub", {"sub": None}, "sub"),
        ("empty sub", {"sub": ""}, "sub"),
        ("no exp", {"exp": None}, "exp"),
    ],
)
async def test_invalid_claims_are_rejected_with_the_reason_logged(
    verifier: OIDCVerifier,
    keys: dict[str, SigningKey],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    case: str,
    overrides: dict[str, Any],
    logged: str,
) -> None:
    now = int(clock.now)
    shifted = {
        k: (now + v if k in {"exp", "nbf", "iat"} and isinstance(v, int) else v)
        for k, v in overrides.items()
    }
    token = keys["rsa"].sign(claims(clock, **shifted))
    with caplog.at_level(logging.INFO, logger="gateway.auth.oidc"):
        await rejected(verifier, token)
    assert logged.lower() in caplog.text.lower(), case


async def test_signature_by_another_key_with_same_kid_is_rejected(
    verifier: OIDCVerifier, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    await rejected(verifier, keys["attacker"].sign(claims(clock)))


async def test_tampered_payload_is_rejected(
    verifier: OIDCVerifier, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    header, _, signature = keys["rsa"].sign(claims(clock)).split(".")
    forged = keys["rsa"].sign(claims(clock, realm_access={"roles": ["admin"]})).split(".")[1]
    await rejected(verifier, f"{header}.{forged}.{signature}")


async def test_alg_none_is_rejected_before_any_key_lookup(
    verifier: OIDCVerifier, server: JWKSServer, clock: FakeClock
) -> None:
    await rejected(verifier, unsigned_token(claims(clock), kid="rsa-1"))
    assert server.requests == 0


async def test_hs256_with_public_key_as_secret_is_rejected(
    verifier: OIDCVerifier, server: JWKSServer, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    # The classic key-confusion attack: the public key is public, so if HS256 were accepted
    # with it as the HMAC secret, anyone could mint tokens.
    token = hs256_token(claims(clock), secret=keys["rsa"].public_pem(), kid="rsa-1")
    await rejected(verifier, token)
    assert server.requests == 0


async def test_algorithm_must_match_the_key(
    verifier: OIDCVerifier, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    # A valid ES256 signature presented under the RSA key's kid.
    await rejected(verifier, keys["ec"].sign(claims(clock), kid="rsa-1"))


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "Bearer x.y.z"])
async def test_malformed_tokens_are_rejected(verifier: OIDCVerifier, token: str) -> None:
    await rejected(verifier, token)


async def test_unknown_kid_is_rejected(
    verifier: OIDCVerifier, server: JWKSServer, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    await rejected(verifier, keys["rsa_next"].sign(claims(clock)))
    assert server.requests == 1


async def test_encryption_key_in_jwks_is_not_usable_for_signatures(
    verifier: OIDCVerifier, server: JWKSServer, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    assert await verifier.verify(keys["rsa"].sign(claims(clock)))
    await rejected(verifier, keys["rsa"].sign(claims(clock), kid="enc-1"))


async def test_key_rotation_refetches_once_and_accepts_the_new_key(
    verifier: OIDCVerifier, server: JWKSServer, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    assert await verifier.verify(keys["rsa"].sign(claims(clock)))
    assert server.requests == 1
    server.publish(keys["rsa_next"], keys["ec"])  # Keycloak rotated its realm key
    clock.advance(31)
    for _ in range(3):
        assert await verifier.verify(keys["rsa_next"].sign(claims(clock)))
    assert server.requests == 2
    # The retired key is gone from the refreshed set.
    await rejected(verifier, keys["rsa"].sign(claims(clock)))


async def test_concurrent_cold_start_shares_one_fetch(
    verifier: OIDCVerifier, server: JWKSServer, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    server.delay = 0.2  # keep the fetch in flight while the others arrive
    tokens = [keys["rsa"].sign(claims(clock, sub=f"user-{i}")) for i in range(20)]
    results = await asyncio.gather(*(verifier.verify(t) for t in tokens))
    assert {r["sub"] for r in results} == {f"user-{i}" for i in range(20)}
    assert server.requests == 1


async def test_forged_kid_flood_refetches_at_most_once_per_interval(
    verifier: OIDCVerifier, server: JWKSServer, keys: dict[str, SigningKey], clock: FakeClock
) -> None:
    assert await verifier.verify(keys["rsa"].sign(claims(clock)))
    assert server.requests == 1
    clock.advance(31)
    server.delay = 0.05

    async def forged() -> None:
        await rejected(verifier, keys["attacker"].sign(claims(clock), kid=uuid.uuid4().hex))

    await asyncio.gather(*(forged() for _ in range(50)))
    assert server.requests == 2  # one refetch for the whole flood
    await asyncio.gather(*(forged() for _ in range(50)))
    assert server.requests == 2  # within the interval: none
    assert await verifier.verify(keys["rsa"].sign(claims(clock)))  # known kids unaffected
    clock.advance(31)
    await forged()
    assert server.requests == 3


async def test_jwks_server_down_is_unauthenticated_not_a_crash(
    make_verifier: Callable[..., OIDCVerifier],
    keys: dict[str, SigningKey],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    refused_url: str,
) -> None:
    verifier = make_verifier(jwks_url=refused_url + JWKS_PATH)
    with caplog.at_level(logging.WARNING, logger="gateway.auth.oidc"):
        await rejected(verifier, keys["rsa"].sign(claims(clock)))
    assert "JWKS fetch" in caplog.text


@pytest.mark.parametrize("status", [500, 503, 404])
async def test_jwks_error_status_is_unauthenticated(
    verifier: OIDCVerifier,
    server: JWKSServer,
    keys: dict[str, SigningKey],
    clock: FakeClock,
    status: int,
) -> None:
    server.status = status
    await rejected(verifier, keys["rsa"].sign(claims(clock)))


async def test_cached_keys_survive_a_jwks_outage(
    make_verifier: Callable[..., OIDCVerifier],
    server: JWKSServer,
    keys: dict[str, SigningKey],
    clock: FakeClock,
) -> None:
    verifier = make_verifier(max_key_age=600)
    assert await verifier.verify(keys["rsa"].sign(claims(clock)))
    server.status = 503
    clock.advance(601)  # keys are stale: a refresh is attempted, fails, old keys still serve
    assert await verifier.verify(keys["rsa"].sign(claims(clock)))
    assert server.requests == 2


def test_oidc_requires_issuer_and_jwks_url(http: httpx.AsyncClient) -> None:
    with pytest.raises(ConfigurationError):
        OIDCVerifier(settings=OIDCSettings(jwks_url="http://x"), http=http)
    with pytest.raises(ConfigurationError):
        OIDCVerifier(settings=OIDCSettings(issuer=ISSUER), http=http)


def test_roles_from_claims_paths() -> None:
    data: dict[str, Any] = {
        "realm_access": {"roles": ["admin", "viewer"]},
        "resource_access": {
            "ops-gateway": {"roles": ["developer"]},
            "ops.gateway": {"roles": ["analyst"]},
        },
        "scope": "openid profile",
        "groups": "not-a-list-of-dicts",
        "weird": {"roles": [1, None, "ok"]},
    }
    assert roles_from_claims(data) == {"admin", "viewer"}
    assert roles_from_claims(data, "resource_access.ops-gateway.roles") == {"developer"}
    assert roles_from_claims(data, "resource_access.ops.gateway.roles") == {"analyst"}
    assert roles_from_claims(data, "scope") == {"openid", "profile"}
    assert roles_from_claims(data, "weird.roles") == {"ok"}
    assert roles_from_claims(data, "missing.path") == frozenset()
    assert roles_from_claims(data, "realm_access") == frozenset()  # a dict is not roles
    union = roles_from_claims(data, "realm_access.roles, resource_access.ops-gateway.roles")
    assert union == {"admin", "viewer", "developer"}
