"""The Lago sandbox's webhooks: endpoints, signing and delivery, as Lago does them.

``POST /webhook_endpoints`` registers a URL with ``signature_algo`` ``jwt`` (the default) or
``hmac``; ``GET /webhooks/public_key`` serves the RSA key that signs JWTs (base64 of a PEM).
Every message is ``{"webhook_type", "object_type", <object_type>: {...}}``, POSTed with
``X-Lago-Signature``, ``X-Lago-Signature-Algorithm`` and ``X-Lago-Unique-Key``; a delivery that
fails is tried again, three times in all, like Lago.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

log = logging.getLogger(__name__)
ATTEMPTS = 3


@dataclass
class Endpoint:
    url: str
    signature_algo: str = "jwt"
    lago_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_wire(self) -> dict[str, Any]:
        return {"lago_id": self.lago_id, "webhook_url": self.url,
                "signature_algo": self.signature_algo}  # fmt: skip


class WebhookSender:
    def __init__(self, *, hmac_key: str) -> None:
        self.hmac_key = hmac_key
        self.issuer = "https://api.getlago.com"
        """The JWT issuer: the Lago server's URL (the sandbox sets its own when served)."""
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.endpoints: list[Endpoint] = []
        self.delivered: list[dict[str, Any]] = []
        """Every delivery attempt: url, status (None when unreachable), unique key."""
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def public_key(self) -> str:
        pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(pem).decode()

    def add(self, url: str, signature_algo: str = "jwt") -> Endpoint:
        endpoint = Endpoint(url=url, signature_algo=signature_algo)
        with self._lock:
            self.endpoints.append(endpoint)
        return endpoint

    def sign(self, body: str, algo: str) -> str:
        if algo == "hmac":
            digest = hmac.new(self.hmac_key.encode(), body.encode(), hashlib.sha256).digest()
            return base64.b64encode(digest).decode()
        return jwt.encode({"data": body, "iss": self.issuer}, self._key, algorithm="RS256")

    def send(self, webhook_type: str, object_type: str, obj: dict[str, Any]) -> None:
        """Deliver to every endpoint in the background (call from the serving loop)."""
        body = json.dumps({"webhook_type": webhook_type, "object_type": object_type,
                           object_type: obj})  # fmt: skip
        key = str(uuid.uuid4())
        with self._lock:
            endpoints = list(self.endpoints)
        for endpoint in endpoints:
            task = asyncio.get_running_loop().create_task(self._deliver(endpoint, body, key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, endpoint: Endpoint, body: str, key: str) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Lago-Signature": self.sign(body, endpoint.signature_algo),
            "X-Lago-Signature-Algorithm": endpoint.signature_algo,
            "X-Lago-Unique-Key": key,
        }
        async with httpx.AsyncClient(timeout=10) as client:
            for attempt in range(ATTEMPTS):
                status: int | None = None
                try:
                    response = await client.post(endpoint.url, content=body, headers=headers)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    log.info("lago sandbox webhook to %s failed: %s", endpoint.url, exc)
                with self._lock:
                    self.delivered.append({"url": endpoint.url, "status": status, "key": key})
                if status is not None and 200 <= status < 300:
                    return
                await asyncio.sleep(0.2 * (attempt + 1))
