"""A real JWKS endpoint on 127.0.0.1 (the sandbox server, in a thread) and key helpers.

Tests change what it serves (`keys`, `status`, `delay`) and read how often it was asked
(`requests`), so they can assert how many JWKS fetches the verifier made.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.sandbox.base import serve_in_thread

ISSUER = "https://keycloak.test/realms/ops"
AUDIENCE = "ops-gateway"
JWKS_PATH = "/realms/ops/protocol/openid-connect/certs"


@dataclass
class SigningKey:
    """A private key plus the public JWK the server publishes for it."""

    kid: str
    alg: str
    private: Any

    @classmethod
    def rsa(cls, kid: str) -> SigningKey:
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def ec(cls, kid: str) -> SigningKey:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        algorithm = RSAAlgorithm if self.alg == "RS256" else ECAlgorithm
        data = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": self.alg}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.alg, headers={"kid": kid or self.kid}
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_token(claims: dict[str, Any], *, kid: str) -> str:
    """An ``alg: none`` token, built by hand since PyJWT rightly refuses to make one."""
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def hs256_token(claims: dict[str, Any], *, secret: bytes, kid: str) -> str:
    """An HS256 token keyed with ``secret`` (built by hand: PyJWT refuses PEM HMAC keys)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


@dataclass
class JWKSServer:
    keys: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""
    _stop: Callable[[], None] | None = None

    @property
    def url(self) -> str:
        return self.base_url + JWKS_PATH

    def publish(self, *keys: SigningKey, extra: list[dict[str, Any]] | None = None) -> None:
        self.keys = [k.jwk() for k in keys] + list(extra or [])

    def reset(self) -> None:
        with self._lock:
            self.keys, self.status, self.delay, self.requests = [], 200, 0.0, 0

    async def _jwks(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
            keys, status, delay = list(self.keys), self.status, self.delay
        if delay:
            await asyncio.sleep(delay)
        if status != 200:
            return Response("unavailable", status_code=status)
        return JSONResponse({"keys": keys})

    def start(self) -> None:
        # In a thread: the server outlives the event loop of the test that started it.
        app = Starlette(routes=[Route(JWKS_PATH, self._jwks)])
        self.base_url, self._stop = serve_in_thread(app)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()


class FakeClock:
    """An injectable clock that only moves when a test says so."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
