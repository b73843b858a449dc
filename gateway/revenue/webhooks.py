"""Lago's webhooks: the signature checked, the message applied to the revenue snapshot.

Lago signs each message one of two ways (``X-Lago-Signature-Algorithm``):

- ``jwt`` (the default): ``X-Lago-Signature`` is an RS256 JWT, issued by the Lago server,
  whose ``data`` claim is the raw body; the key is Lago's ``GET /webhooks/public_key``
  (base64 of a PEM or DER RSA key), fetched once and again when a signature fails to verify
  with it (a rotated key), at most once a minute;
- ``hmac``: ``X-Lago-Signature`` is base64(HMAC-SHA256(body)) keyed with the webhook HMAC
  token (``LAGO_WEBHOOK_HMAC_KEY``; Lago's API key when unset, as Lago's guide shows).

A message is ``{"webhook_type": "subscription.terminated", "object_type": "subscription",
"subscription": {...}}``; the snapshot takes subscription, customer, plan and invoice objects
and ignores the rest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.serialization import (
    load_der_public_key,
    load_pem_public_key,
)

from gateway.backends.lago.models import (
    LagoCustomer,
    LagoInvoice,
    LagoPlan,
    LagoSubscription,
    WireError,
)
from gateway.revenue.builder import record
from gateway.revenue.facts import invoice_fact
from gateway.revenue.snapshot import RevenueSnapshot

log = logging.getLogger(__name__)

KEY_REFRESH_SECONDS = 60.0


class WebhookRejected(Exception):
    """The message is not signed by Lago (or not a message at all); nothing was applied."""


@dataclass(frozen=True, slots=True)
class LagoWebhook:
    webhook_type: str
    object_type: str
    obj: Mapping[str, Any]

    @classmethod
    def parse(cls, body: bytes | str) -> LagoWebhook:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise WebhookRejected("the body is not JSON") from None
        if not isinstance(data, dict):
            raise WebhookRejected("the body is not a JSON object")
        return cls.parse_message(data)

    @classmethod
    def parse_message(cls, data: Mapping[str, Any]) -> LagoWebhook:
        kind, object_type = data.get("webhook_type"), data.get("object_type")
        if not isinstance(kind, str) or not isinstance(object_type, str):
            raise WebhookRejected("webhook_type and object_type are required")
        obj = data.get(object_type)
        return cls(kind, object_type, obj if isinstance(obj, dict) else {})

    def to_message(self) -> dict[str, Any]:
        return {"webhook_type": self.webhook_type, "object_type": self.object_type,
                self.object_type: dict(self.obj)}  # fmt: skip


class SignatureVerifier:
    def __init__(
        self,
        *,
        fetch_public_key: Callable[[], Awaitable[str]],
        hmac_key: str | None,
        issuer: str | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch_public_key
        self._hmac_key = hmac_key
        self._issuer = issuer
        self._clock = clock
        self._key: Any = None
        self._fetched_at = -float("inf")

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        signature = headers.get("x-lago-signature")
        if not signature:
            raise WebhookRejected("no X-Lago-Signature header")
        algorithm = (headers.get("x-lago-signature-algorithm") or "jwt").lower()
        if algorithm == "hmac":
            self._verify_hmac(body, signature)
        elif algorithm == "jwt":
            await self._verify_jwt(body, signature)
        else:
            raise WebhookRejected(f"unknown signature algorithm {algorithm[:20]!r}")

    def _verify_hmac(self, body: bytes, signature: str) -> None:
        if not self._hmac_key:
            raise WebhookRejected("no HMAC key configured")
        digest = hmac.new(self._hmac_key.encode(), body, hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), signature.strip()):
            raise WebhookRejected("HMAC signature mismatch")

    async def _verify_jwt(self, body: bytes, signature: str) -> None:
        key = await self._public_key(refresh=False)
        try:
            self._check_jwt(body, signature, key)
        except WebhookRejected:
            # A rotated key: fetch it again (rate-limited) and try once more.
            fresh = await self._public_key(refresh=True)
            if fresh is key:
                raise
            self._check_jwt(body, signature, fresh)

    def _check_jwt(self, body: bytes, signature: str, key: Any) -> None:
        options = {"require": ["data"], "verify_iss": self._issuer is not None}
        try:
            claims = jwt.decode(
                signature, key, algorithms=["RS256"], issuer=self._issuer, options=options
            )
        except jwt.PyJWTError as exc:
            raise WebhookRejected(f"JWT signature rejected: {exc}") from None
        data = claims.get("data")
        if not isinstance(data, str) or not hmac.compare_digest(data.encode(), body):
            raise WebhookRejected("the signed data is not this body")

    async def _public_key(self, *, refresh: bool) -> Any:
        stale = self._clock() - self._fetched_at >= KEY_REFRESH_SECONDS
        if self._key is None or (refresh and stale):
            self._fetched_at = self._clock()
            self._key = load_public_key(await self._fetch())
        return self._key


def load_public_key(text: str) -> Any:
    """Lago's public key: base64 of a PEM document (or of DER), or the PEM itself."""
    raw = text.strip().encode()
    if not raw.startswith(b"-----BEGIN"):
        try:
            raw = base64.b64decode(raw, validate=False)
        except binascii.Error:
            raise WebhookRejected("Lago's public key is not base64") from None
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return load_pem_public_key(raw.strip())
        return load_der_public_key(raw)
    except ValueError:
        try:  # PKCS#1 DER (``RSAPublicKey``), as older Lago versions publish it
            pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(raw)
            return load_pem_public_key(pem + b"-----END RSA PUBLIC KEY-----\n")
        except ValueError:
            raise WebhookRejected("Lago's public key does not load") from None


def apply(snapshot: RevenueSnapshot, hook: LagoWebhook) -> bool:
    """Apply one message to the snapshot; False when it carries nothing the snapshot holds."""
    try:
        match hook.object_type:
            case "subscription":
                snapshot.upsert_subscription(record(LagoSubscription.from_wire(hook.obj)))
            case "customer":
                snapshot.upsert_customer(LagoCustomer.from_wire(hook.obj))
            case "plan" if hook.webhook_type == "plan.deleted":
                code = hook.obj.get("code")
                if isinstance(code, str):
                    snapshot.delete_plan(code)
            case "plan":
                snapshot.upsert_plan(LagoPlan.from_wire(hook.obj))
            case "invoice":
                invoice = LagoInvoice.from_wire(hook.obj)
                snapshot.upsert_invoice(invoice.lago_id, invoice_fact(invoice))
            case _:
                return False
    except WireError as exc:
        log.warning("lago webhook %s of an unexpected shape: %s", hook.webhook_type, exc)
        return False
    return True
