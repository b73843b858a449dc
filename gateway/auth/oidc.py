"""OIDC access-token (JWT) verification against a Keycloak realm's JWKS.

Clients only ever see one generic message; the specific reason (expired, wrong issuer, ...)
goes to the log, because telling an attacker which check failed helps them forge the next try.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt

from gateway.auth.principal import AuthKind, Principal
from gateway.errors import ConfigurationError, Unauthenticated
from gateway.settings import OIDCSettings

log = logging.getLogger(__name__)

# Asymmetric only, fixed here and never taken from the token: accepting HS256 would let anyone
# holding the (public) JWKS sign tokens with it as an HMAC secret; "none" needs no comment.
ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"RS256", "ES256"})
_INVALID = "invalid or expired token"


class _Reject(Exception):
    """Internal: a specific rejection reason, logged and turned into a generic error."""


class OIDCVerifier:
    """Verifies bearer JWTs: algorithm, signature (JWKS), ``iss``, ``aud``, times, ``sub``."""

    def __init__(
        self,
        *,
        settings: OIDCSettings,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.time,
        leeway: float = 30.0,
        refetch_interval: float = 30.0,
        max_key_age: float = 3600.0,
        fetch_timeout: float = 5.0,
    ) -> None:
        if not settings.jwks_url or not settings.issuer:
            raise ConfigurationError("OIDC needs both OIDC_ISSUER and OIDC_JWKS_URL")
        self._settings = settings
        self._http = http
        self._clock = clock
        self._leeway = leeway
        self._refetch_interval = refetch_interval
        self._max_key_age = max_key_age
        self._fetch_timeout = fetch_timeout
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()
        self.fetch_count = 0
        """JWKS requests made (for metrics and tests)."""

    @property
    def roles_claim(self) -> str:
        return self._settings.roles_claim

    async def verify(self, token: str) -> dict[str, Any]:
        """Return the verified claims or raise :class:`Unauthenticated`."""
        try:
            return await self._verify(token)
        except _Reject as reason:
            log.info("OIDC token rejected: %s", reason)
            raise Unauthenticated(_INVALID) from None

    async def principal(self, token: str) -> Principal:
        return principal_from_claims(await self.verify(token), token, self.roles_claim)

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _Reject(f"malformed token: {exc}") from None
        # Check the algorithm before looking at keys, so forged headers cost us nothing.
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise _Reject(f"algorithm {alg!r} is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _Reject("token has no key id (kid)")
        key = await self._key_for(kid)
        if key.algorithm_name != alg:
            raise _Reject(
                f"token algorithm {alg} does not match key {kid[:64]!r} ({key.algorithm_name})"
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=self._settings.issuer,
                audience=self._settings.audience,
                options={
                    # Times are checked below against our clock (injectable, with leeway).
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": self._settings.audience is not None,
                    "require": ["iss", "sub", "exp"],
                },
            )
        except jwt.PyJWTError as exc:
            raise _Reject(f"{type(exc).__name__}: {exc}") from None
        self._check_times(claims)
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise _Reject("sub is missing or empty")
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        times: dict[str, float] = {}
        for name in ("exp", "nbf", "iat"):
            if name in claims:
                value = claims[name]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise _Reject(f"{name} is not a number")
                times[name] = float(value)
        if now - self._leeway >= times["exp"]:
            raise _Reject(f"expired at {times['exp']:.0f} (now {now:.0f})")
        if "nbf" in times and now + self._leeway < times["nbf"]:
            raise _Reject(f"not valid before {times['nbf']:.0f} (now {now:.0f})")
        if "iat" in times and now + self._leeway < times["iat"]:
            raise _Reject(f"issued in the future at {times['iat']:.0f} (now {now:.0f})")

    # -- keys ----------------------------------------------------------------------------
    async def _key_for(self, kid: str) -> jwt.PyJWK:
        if not self._stale() and (key := self._keys.get(kid)) is not None:
            return key
        if self._lock.locked() or self._may_fetch():
            # Single flight: requests arriving during a fetch wait for it instead of starting
            # their own, then find the keys refreshed (or the attempt too recent) inside.
            async with self._lock:
                if (kid not in self._keys or self._stale()) and self._may_fetch():
                    await self._fetch()
        key = self._keys.get(kid)
        if key is None:
            raise _Reject(f"unknown key id {kid[:64]!r}")
        return key

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._max_key_age

    def _may_fetch(self) -> bool:
        # Unknown kids are attacker-controlled: without this limit every forged token would
        # cost a request to Keycloak. One fetch per interval still picks up a key rotation.
        return (
            self._attempted_at is None
            or self._clock() - self._attempted_at >= self._refetch_interval
        )

    async def _fetch(self) -> None:
        self._attempted_at = self._clock()
        self.fetch_count += 1
        url = self._settings.jwks_url
        assert url is not None  # checked in __init__
        try:
            response = await self._http.get(url, timeout=self._fetch_timeout)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            # Keep serving with the keys we have: a JWKS outage should not log everyone out.
            log.warning("JWKS fetch from %s failed: %s", url, exc)
            return
        keys = parse_jwks(document)
        if not keys:
            log.warning("JWKS from %s holds no usable RS256/ES256 signing key", url)
            return
        self._keys = keys
        self._fetched_at = self._clock()
        log.debug("JWKS refreshed from %s: %s", url, sorted(keys))


def parse_jwks(document: object) -> dict[str, jwt.PyJWK]:
    """The signing keys of a JWKS by kid; keys for encryption or other algorithms are skipped
    (Keycloak publishes an RSA-OAEP encryption key next to its signing keys)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        return {}
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError as exc:
            log.debug("skipping JWKS key %s: %s", kid, exc)
            continue
        if key.algorithm_name in ALLOWED_ALGORITHMS:
            keys[kid] = key
    return keys


def roles_from_claims(
    claims: Mapping[str, Any], path: str = "realm_access.roles"
) -> frozenset[str]:
    """Roles found at a dotted path such as ``realm_access.roles`` or
    ``resource_access.<client>.roles``; several paths may be given separated by commas.

    Keycloak client ids may contain dots, so at each level the longest matching key wins.
    A string value counts as space-separated names (like ``scope``); anything else is empty.
    """
    roles: set[str] = set()
    for one in path.split(","):
        parts = [p for p in one.strip().split(".") if p]
        if parts:
            roles |= _as_roles(_lookup(claims, parts))
    return frozenset(roles)


def _lookup(node: object, parts: list[str]) -> object:
    if not parts:
        return node
    if not isinstance(node, Mapping):
        return None
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        if name in node:
            found = _lookup(node[name], parts[cut:])
            if found is not None:
                return found
    return None


def _as_roles(value: object) -> set[str]:
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, list | tuple):
        return {v for v in value if isinstance(v, str) and v}
    return set()


def principal_from_claims(
    claims: Mapping[str, Any], token: str, roles_claim: str = "realm_access.roles"
) -> Principal:
    exp = claims.get("exp")
    return Principal(
        subject=str(claims["sub"]),
        roles=roles_from_claims(claims, roles_claim),
        kind=AuthKind.OIDC,
        bearer=token,
        expires_at=float(exp) if isinstance(exp, int | float) else None,
        claims=dict(claims),
    )
