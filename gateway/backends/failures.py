"""What a failed backend call becomes (DESIGN §8).

:func:`map_error` is the ONE place where transport errors and error statuses become
:mod:`gateway.errors` classes. Backend bodies and URLs reach messages only sanitised: a short
excerpt of a 4xx (what was wrong with our request), none of a 5xx (logged instead), no query
string, none of our credentials.
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
from collections.abc import Mapping

import httpx

from gateway.errors import BackendError, BackendNotFound, BackendTimeout, BackendUnavailable

log = logging.getLogger(__name__)

# Answers that say "this backend is in trouble" and so count against the breaker; any other
# answer (even a 4xx) proves the backend is up.
BREAKER_STATUSES = frozenset({429, *range(500, 600)})
# Header names that carry our credentials: stripped on cross-origin redirects, and their
# values redacted from error bodies.
SENSITIVE_HEADER = re.compile(r"authorization|cookie|token|secret|key|password", re.I)
_SECRETISH = re.compile(
    r"(?i)(bearer\s+|basic\s+|(?:api[_-]?key|token|secret|password)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"',&}]+"
)


def map_error(
    name: str,
    method: str,
    path: str,
    failure: httpx.HTTPError | httpx.Response,
    credentials_var: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> BackendError:
    """The gateway error for backend ``name`` failing ``method path``, from a transport error
    or an error response. ``headers`` are the ones we sent: their secrets are redacted from
    any body excerpt; ``credentials_var`` is named in the hint for a 401/403."""
    where = f"{method} {short_path(path)}"
    if not isinstance(failure, httpx.Response):
        if isinstance(failure, httpx.TimeoutException):  # connect, read, write or pool
            return BackendTimeout(f"{name} timed out on {where}", backend=name)
        if isinstance(failure, httpx.ConnectError):  # refused, DNS, unreachable
            return BackendUnavailable(f"cannot connect to {name}", backend=name)
        if isinstance(failure, httpx.NetworkError | httpx.RemoteProtocolError):
            return BackendUnavailable(f"connection to {name} failed on {where}", backend=name)
        return BackendError(f"{name} request failed ({type(failure).__name__})", backend=name)
    response, status = failure, failure.status_code
    if status == 404:
        return BackendNotFound(f"{name}: not found ({where})", backend=name, status=404)
    if status in (401, 403):  # the gateway's own credentials, not the caller's
        hint = f"; check {credentials_var}" if credentials_var else ""
        message = f"{name} rejected the gateway's credentials (HTTP {status}){hint}"
        return BackendError(message, backend=name, status=status)
    if status == 429:
        return BackendError(f"{name} is rate limiting the gateway", backend=name, status=429)
    excerpt = snippet(response, headers or {})
    if status >= 500:
        # The backend's own words stay in our log: a caller gets what failed, not its body
        # (a stack trace or an internal hostname of the backend's would travel with it).
        log.warning("%s failed with HTTP %s on %s: %s", name, status, where, excerpt or "-")
        return BackendError(f"{name} failed with HTTP {status}", backend=name, status=status)
    detail = f": {excerpt}" if excerpt else ""  # a 4xx says what was wrong with the request
    message = f"{name} rejected {where} (HTTP {status}){detail}"
    return BackendError(message, backend=name, status=status)


def snippet(response: httpx.Response, headers: Mapping[str, str], limit: int = 160) -> str:
    """A short, sanitized excerpt of an error body: never verbatim, never our secrets."""
    ctype = response.headers.get("content-type", "")
    if "json" not in ctype and not ctype.startswith("text/plain"):
        return ""  # HTML error pages and binary bodies say nothing useful
    text = response.text
    try:
        body = jsonlib.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        text = next(
            (
                body[k]
                for k in ("message", "error", "detail", "error_details")
                if isinstance(body.get(k), str)
            ),
            text,
        )
    for header, value in headers.items():
        if SENSITIVE_HEADER.search(header):
            for secret in {value, *value.split()[-1:]}:
                if len(secret) >= 4:
                    text = text.replace(secret, "[redacted]")
    text = " ".join(
        "".join(c for c in _SECRETISH.sub(r"\1[redacted]", text) if c.isprintable()).split()
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_path(path: str) -> str:
    """The path without its query string (which may carry keys), for messages and logs."""
    return path.split("?", 1)[0][:120]
