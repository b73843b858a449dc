"""Validation of user-supplied provider base URLs (the SSRF guard's first line).

:func:`normalise_base_url` checks the form; :func:`check_base_url` checks where it points
with the :class:`~gateway.backends.providers.AddressPolicy`. A name that does not resolve now
is accepted (it may resolve from where the gateway runs later): every connection is checked
again by the client's guarded transport.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from gateway.backends.providers import AddressPolicy, BlockedAddress

MAX_URL_LENGTH = 2048


class BaseURLError(ValueError):
    """The base URL is refused; ``blocked`` tells the SSRF policy apart from bad form."""

    def __init__(self, message: str, *, blocked: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.blocked = blocked


def normalise_base_url(raw: str) -> str:
    """``raw`` stripped, with a lower-case scheme and host and no trailing slash."""
    url = raw.strip()
    if not url:
        raise BaseURLError("the base URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise BaseURLError(f"the base URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise BaseURLError("the base URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        raise BaseURLError("the base URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BaseURLError("the base URL must start with http:// or https://")
    if not parts.hostname:
        raise BaseURLError("the base URL has no host")
    if parts.username is not None or parts.password is not None:
        # A key belongs in the API key field, where it is encrypted, not in the URL.
        raise BaseURLError("the base URL must not contain credentials (user:password@)")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise BaseURLError("the base URL must not have a query string or fragment")
    host = parts.hostname.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


async def check_base_url(url: str, policy: AddressPolicy) -> None:
    """Raise :class:`BaseURLError` (``blocked=True``) if ``url`` points somewhere refused."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await policy.check(host, port)
    except BlockedAddress as exc:
        message = str(exc).removeprefix("refused to connect: ")
        raise BaseURLError(
            f"the base URL is not allowed: {message}; an operator can allow it with "
            "GATEWAY_PROVIDER_ALLOW_HOSTS",
            blocked=True,
        ) from None
    except (OSError, TimeoutError):
        return  # unresolvable now; the transport checks again on every connection
