"""Connection tests: one real call to a provider's model-list endpoint, classified.

Every outcome is a :class:`ProbeResult`, never an exception: "the key is wrong" and "the host
does not answer" are answers a settings page shows, not failures of the gateway. Messages are
written here, from the status and a sanitised excerpt at most, and scrubbed of the key.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from gateway.backends.failures import snippet
from gateway.backends.providers.client import ProviderClient, ProviderHTTPStatus
from gateway.backends.providers.guard import blocked_cause
from gateway.backends.providers.kinds import ProviderKind
from gateway.backends.providers.parsing import DiscoveredModel, MalformedListing
from gateway.errors import BackendError, BackendTimeout, BackendUnavailable


class ProbeErrorCode(StrEnum):
    INVALID_KEY = "INVALID_KEY"
    """The provider refused the key (401; Google: 400 API_KEY_INVALID or 403)."""
    PERMISSION_DENIED = "PERMISSION_DENIED"
    """The key is known but may not list models (403)."""
    KEY_MISSING = "KEY_MISSING"
    """This kind needs a key and none is stored; nothing was sent."""
    KEY_UNREADABLE = "KEY_UNREADABLE"
    """The stored key cannot be decrypted with GATEWAY_SECRET_KEYS; nothing was sent."""
    NOT_FOUND = "NOT_FOUND"
    """404: the base URL is probably wrong (a missing /v1, say)."""
    RATE_LIMITED = "RATE_LIMITED"
    REJECTED = "REJECTED"
    """Another 4xx."""
    UPSTREAM_ERROR = "UPSTREAM_ERROR"
    """5xx."""
    REDIRECTED = "REDIRECTED"
    BAD_RESPONSE = "BAD_RESPONSE"
    """200 but not this kind's model list (not JSON, wrong shape)."""
    TIMEOUT = "TIMEOUT"
    UNREACHABLE = "UNREACHABLE"
    """DNS failure, connection refused or reset."""
    BLOCKED_ADDRESS = "BLOCKED_ADDRESS"
    """The address is refused by the SSRF policy; nothing was sent."""


@dataclass(frozen=True, slots=True)
class ProbeError:
    code: ProbeErrorCode
    message: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    latency_ms: float
    models: list[DiscoveredModel] = field(default_factory=list)
    truncated: bool = False
    error: ProbeError | None = None


def failed(code: ProbeErrorCode, message: str, *, latency_ms: float = 0.0) -> ProbeResult:
    return ProbeResult(ok=False, latency_ms=latency_ms, error=ProbeError(code, message))


async def probe(
    client: ProviderClient,
    *,
    api_key: str | None,
    timeout: float,  # noqa: ASYNC109
) -> ProbeResult:
    """List the provider's models within ``timeout`` seconds in all (every page included);
    the client is closed afterwards."""
    kind = client.kind
    started = time.perf_counter()
    error: ProbeError | None = None
    models: list[DiscoveredModel] = []
    truncated = False
    try:
        async with client, asyncio.timeout(timeout):
            models, truncated = await client.list_models()
    except TimeoutError:
        error = ProbeError(ProbeErrorCode.TIMEOUT, f"no answer within {timeout:g} s")
    except ProviderHTTPStatus as exc:
        error = _status_error(kind, exc.response, client.headers)
    except MalformedListing as exc:
        error = ProbeError(ProbeErrorCode.BAD_RESPONSE, f"not a {kind.label} model list: {exc}")
    except BackendError as exc:
        error = _transport_error(kind, exc, timeout)
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    if error is not None and api_key:
        error = ProbeError(error.code, scrub(error.message, api_key), error.status)
    return ProbeResult(
        ok=error is None, latency_ms=latency_ms, models=models, truncated=truncated, error=error
    )


def scrub(text: str, secret: str) -> str:
    """Belt and braces: the messages above never quote a key, but an upstream excerpt might."""
    if not secret:
        return text
    for part in {secret, secret[: len(secret) // 2], secret[len(secret) // 2 :]}:
        if len(part) >= 6:
            text = text.replace(part, "[redacted]")
    return text


def _transport_error(kind: ProviderKind, exc: BackendError, timeout: float) -> ProbeError:
    blocked = blocked_cause(exc)
    if blocked is not None:
        return ProbeError(ProbeErrorCode.BLOCKED_ADDRESS, str(blocked))
    if isinstance(exc, BackendTimeout):
        return ProbeError(ProbeErrorCode.TIMEOUT, f"no answer within {timeout:g} s")
    if isinstance(exc, BackendUnavailable):
        cause = exc.__cause__
        detail = "connection refused or host unknown"
        if cause is not None and not isinstance(cause, httpx.ConnectError):
            detail = "the connection failed"
        return ProbeError(ProbeErrorCode.UNREACHABLE, f"cannot reach {kind.label}: {detail}")
    if exc.message.startswith("invalid JSON"):
        return ProbeError(ProbeErrorCode.BAD_RESPONSE, f"{kind.label} answered with invalid JSON")
    return ProbeError(ProbeErrorCode.UNREACHABLE, f"the call to {kind.label} failed")


def _google_reason(response: httpx.Response) -> str | None:
    try:
        error = json.loads(response.content).get("error", {})
        details = error.get("details") or []
        return next((d.get("reason") for d in details if isinstance(d, dict)), None)
    except (ValueError, AttributeError):
        return None


def _status_error(kind: ProviderKind, response: httpx.Response, sent: dict[str, str]) -> ProbeError:
    status = response.status_code
    excerpt = snippet(response, sent)
    detail = f": {excerpt}" if excerpt else ""
    if 300 <= status < 400:
        # Where it points is not shown: the Location may be on a host the user cannot see.
        message = f"{kind.label} redirected (HTTP {status}); set the base URL to the final address"
        return ProbeError(ProbeErrorCode.REDIRECTED, message, status)
    invalid_key = status == 401 or (
        kind.id == "google"
        and (status == 403 or (status == 400 and _google_reason(response) == "API_KEY_INVALID"))
    )
    if invalid_key:
        # No upstream detail: some providers echo part of the key they refused.
        return ProbeError(
            ProbeErrorCode.INVALID_KEY, f"{kind.label} rejected the API key (HTTP {status})", status
        )
    if status == 403:
        message = f"{kind.label} refused to list models with this key (HTTP 403){detail}"
        return ProbeError(ProbeErrorCode.PERMISSION_DENIED, message, status)
    if status == 404:
        message = (
            f"{kind.label}: {kind.models_path} not found under the base URL (HTTP 404); "
            "check the base URL"
        )
        return ProbeError(ProbeErrorCode.NOT_FOUND, message, status)
    if status == 429:
        return ProbeError(
            ProbeErrorCode.RATE_LIMITED, f"{kind.label} is rate limiting (HTTP 429)", status
        )
    if status >= 500:
        message = f"{kind.label} failed (HTTP {status}){detail}"
        return ProbeError(ProbeErrorCode.UPSTREAM_ERROR, message, status)
    message = f"{kind.label} rejected the request (HTTP {status}){detail}"
    return ProbeError(ProbeErrorCode.REJECTED, message, status)
