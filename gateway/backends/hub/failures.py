"""What a failed huggingface_hub call becomes: the ONE mapping for the hub backend.

huggingface_hub raises its own exceptions (and httpx2's); here they become the gateway's
errors, with messages of our own (theirs carry URLs and request ids, never useful to a
caller). :func:`counts_against_hub` says which failures should trip the circuit breaker.
"""

from __future__ import annotations

import httpx2
from huggingface_hub.errors import (
    DisabledRepoError,
    FileMetadataError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from gateway.backends.hub.guard import UnsafeHubAnswer
from gateway.errors import (
    BackendError,
    BackendNotFound,
    BackendTimeout,
    BackendUnavailable,
    BadUserInput,
    GatewayError,
)

NAME = "hub"
TOKEN_HINT = "set HF_TOKEN, or a token through the API, with access to it"


class GatedRepo(BackendError):
    """The repo is gated and the gateway's token (if any) has not been granted access."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, backend=NAME, status=status)
        self.extensions["reason"] = "GATED"


def map_hub_error(exc: BaseException, *, subject: str = "") -> GatewayError:
    """The gateway error for ``exc``; ``subject`` names what was asked for (a repo id,
    ``repo/file``) for the message."""
    what = f" {subject}" if subject else ""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, GatedRepoError):
        status = _status(exc)
        if status == 401:
            reason = f"{what.strip() or 'the repo'} is gated: {TOKEN_HINT}"
        else:
            reason = (
                f"{what.strip() or 'the repo'} is gated and the configured token has no access: "
                "request access on the Hub with that account"
            )
        return GatedRepo(reason, status=status)
    if isinstance(exc, RevisionNotFoundError):
        return BackendNotFound(f"revision not found on the Hub:{what}", backend=NAME, status=404)
    if isinstance(exc, RemoteEntryNotFoundError):
        return BackendNotFound(f"file not found on the Hub:{what}", backend=NAME, status=404)
    if isinstance(exc, RepositoryNotFoundError):
        # The Hub also says this for private repos the token cannot see.
        return BackendNotFound(f"model not found on the Hub:{what}", backend=NAME, status=404)
    if isinstance(exc, DisabledRepoError):
        return BackendError(f"the repo{what} is disabled on the Hub", backend=NAME, status=403)
    if isinstance(exc, HfHubHTTPError):
        return _from_status(exc, what)
    if isinstance(exc, HFValidationError):
        return BadUserInput(f"invalid repo id or revision{what}", field="id")
    if isinstance(exc, OfflineModeIsEnabled):
        message = "huggingface_hub is in offline mode (HF_HUB_OFFLINE)"
        return BackendUnavailable(message, backend=NAME)
    if isinstance(exc, LocalEntryNotFoundError):
        # Raised by downloads when the HEAD call failed for a transport reason.
        cause = exc.__cause__ or exc.__context__
        if cause is not None and cause is not exc:
            return map_hub_error(cause, subject=subject)
        return BackendUnavailable(f"cannot reach the Hub for{what or ' a file'}", backend=NAME)
    if isinstance(exc, FileMetadataError):
        return BackendError(
            "the Hub answered without the headers a download needs: "
            "check that HF_ENDPOINT points at a Hugging Face Hub",
            backend=NAME,
        )
    if isinstance(exc, httpx2.TimeoutException | TimeoutError):
        return BackendTimeout(f"the Hub timed out{_on(what)}", backend=NAME)
    if isinstance(exc, httpx2.ConnectError):
        return BackendUnavailable("cannot connect to the Hub", backend=NAME)
    if isinstance(exc, httpx2.NetworkError | httpx2.RemoteProtocolError):
        return BackendUnavailable(f"connection to the Hub failed{_on(what)}", backend=NAME)
    if isinstance(exc, httpx2.HTTPError):
        return BackendError(f"Hub request failed ({type(exc).__name__})", backend=NAME)
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return BackendError(f"a download was cut short{_on(what)}; retry it", backend=NAME)
    if isinstance(exc, UnsafeHubAnswer):
        return BackendError(
            f"refused the Hub's answer{_on(what)}: {exc} (check HF_ENDPOINT)", backend=NAME
        )
    if isinstance(exc, ValueError):  # the Hub's answer did not have the expected shape
        return BackendError(f"unexpected answer from the Hub{_on(what)}", backend=NAME)
    return BackendError(f"Hub call failed ({type(exc).__name__})", backend=NAME)


def counts_against_hub(error: GatewayError) -> bool:
    """Failures that say "the Hub is in trouble" (for the circuit breaker)."""
    if isinstance(error, BackendTimeout | BackendUnavailable):
        return True
    status = getattr(error, "status", None)
    return (
        isinstance(error, BackendError) and status is not None and (status == 429 or status >= 500)
    )


def _from_status(exc: HfHubHTTPError, what: str) -> GatewayError:
    status = _status(exc)
    if status in (401, 403):
        return BackendError(
            f"the Hub refused the gateway's token (HTTP {status}){_on(what)}: check HF_TOKEN",
            backend=NAME,
            status=status,
        )
    if status == 429:
        return BackendError("the Hub is rate limiting the gateway", backend=NAME, status=429)
    if status in (502, 503, 504):
        return BackendUnavailable(
            f"the Hub is unavailable (HTTP {status})", backend=NAME, status=status
        )
    if status is not None and status >= 500:
        return BackendError(f"the Hub failed with HTTP {status}", backend=NAME, status=status)
    return BackendError(f"the Hub rejected the request (HTTP {status}){_on(what)}", backend=NAME)


def _status(exc: HfHubHTTPError) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _on(what: str) -> str:
    return f" on{what}" if what else ""
