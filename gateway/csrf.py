"""CSRF prevention as Apollo Server does it (``csrfPrevention``).

A browser sends a cross-site request without asking first (no CORS preflight) only when it is
"simple": a GET, or a POST whose content type is one of the three a form can send. Such a
request must prove it was not forged by a page: a JSON content type (which a form cannot
send) or one of the headers below (which only a preflighted request can carry).
"""

from __future__ import annotations

from collections.abc import Mapping

SIMPLE_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
PREFLIGHT_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight")

REFUSAL = (
    "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
    "Please either specify a 'content-type' header (with a type that is not one of "
    "application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a "
    "non-empty value for one of the following headers: x-apollo-operation-name, "
    "apollo-require-preflight"
)


def csrf_refusal(method: str, headers: Mapping[str, str]) -> str | None:
    """Why this request must be refused, or ``None`` when it could not have been forged."""
    if method not in ("GET", "POST"):
        return None
    content_type = headers.get("content-type")
    if content_type is not None:
        media = content_type.partition(";")[0].strip().lower()
        if media and media not in SIMPLE_TYPES:
            return None  # the browser preflighted it: CORS decided
    if any(headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
        return None
    return REFUSAL
