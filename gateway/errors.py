"""The error hierarchy and the GraphQL error codes (DESIGN §6), drawn in one place.

Domain code raises these; the schema's error extension turns them into GraphQL errors with
``extensions.code`` (and ``extensions.backend`` where one is involved). Anything that is not a
:class:`GatewayError` is reported as ``INTERNAL`` with a generic message, never a traceback.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    NOT_CONFIGURED = "NOT_CONFIGURED"
    BACKEND_UNAVAILABLE = "BACKEND_UNAVAILABLE"
    BACKEND_TIMEOUT = "BACKEND_TIMEOUT"
    BACKEND_ERROR = "BACKEND_ERROR"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    CONFLICT = "CONFLICT"
    # Persisted and trusted documents: Apollo's codes, so Apollo clients react to them.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
    QUERY_NOT_IN_SAFELIST = "QUERY_NOT_IN_SAFELIST"
    INTERNAL = "INTERNAL"


class GatewayError(Exception):
    """Base of every error the gateway reports on purpose. A kind of error names its code and
    HTTP status in its class line: ``class NotFound(GatewayError, code=..., status=404)``."""

    code: ErrorCode = ErrorCode.INTERNAL
    http_status: int = 500

    def __init_subclass__(
        cls, *, code: ErrorCode | None = None, status: int | None = None, **kwargs: object
    ) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.http_status = status

    def __init__(self, message: str, *, extensions: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = dict(extensions or {})

    def to_extensions(self) -> dict[str, object]:
        return {"code": self.code.value, **self.extensions}


class ConfigurationError(GatewayError):
    """Invalid settings at start-up (not a request error)."""


class Unauthenticated(GatewayError, code=ErrorCode.UNAUTHENTICATED, status=401):
    """No credential, or one that is not valid."""


class Forbidden(GatewayError, code=ErrorCode.FORBIDDEN, status=403):
    """A valid caller without the permission."""


class BadUserInput(GatewayError, code=ErrorCode.BAD_USER_INPUT, status=400):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, extensions={"field": field} if field else None)
        self.field = field


class NotFound(GatewayError, code=ErrorCode.NOT_FOUND, status=404):
    """The thing asked for does not exist."""


class RateLimited(GatewayError, code=ErrorCode.RATE_LIMITED, status=429):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, extensions={"retryAfter": round(retry_after, 3)})
        self.retry_after = retry_after


class QueryTooComplex(GatewayError, code=ErrorCode.QUERY_TOO_COMPLEX, status=400):
    """Over a depth, alias, token or cost limit."""


# 200, as Apollo Server answers it: an expected step of the protocol.
class PersistedQueryNotFound(GatewayError, code=ErrorCode.PERSISTED_QUERY_NOT_FOUND, status=200):
    """An automatic persisted query's hash the gateway does not hold: the client (Apollo's
    link does this by itself) sends it again with the document, which registers it."""


class PersistedQueryNotInList(GatewayError, code=ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, status=400):
    """A document id (``documentId`` or a persisted query's hash) not among the trusted ones."""


class QueryNotInSafelist(GatewayError, code=ErrorCode.QUERY_NOT_IN_SAFELIST, status=400):
    """A free-form document where only trusted documents are accepted."""


class RequestTooLarge(GatewayError, code=ErrorCode.REQUEST_TOO_LARGE, status=413):
    """A body over the configured size."""


class ConflictError(GatewayError, code=ErrorCode.CONFLICT, status=409):
    """An optimistic update lost the race (document version changed)."""


class BackendError(GatewayError, code=ErrorCode.BACKEND_ERROR, status=502):
    """A backend failed; ``backend`` names it in ``extensions.backend``."""

    def __init__(self, message: str, *, backend: str, status: int | None = None) -> None:
        ext: dict[str, object] = {"backend": backend}
        if status is not None:
            ext["status"] = status
        super().__init__(message, extensions=ext)
        self.backend = backend
        self.status = status


class BackendUnavailable(BackendError, code=ErrorCode.BACKEND_UNAVAILABLE, status=503):
    """The backend could not be reached, or answered that it is unavailable."""


class BackendTimeout(BackendError, code=ErrorCode.BACKEND_TIMEOUT, status=504):
    """The backend did not answer within the deadline."""


class BackendNotFound(BackendError, code=ErrorCode.NOT_FOUND, status=404):
    """The backend answered 404; callers turn this into ``null`` or a NOT_FOUND error."""


class CircuitOpen(BackendUnavailable):
    """Raised without any network call while the backend's breaker is open."""


class BackendRejected(BackendError):
    """The backend refused the request's content (HTTP 422): sending it again cannot help.
    ``details`` is the backend's per-field (or per-item) explanation, for logs and callers."""

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        status: int = 422,
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, backend=backend, status=status)
        self.details = dict(details or {})


class NotConfigured(BackendError, code=ErrorCode.NOT_CONFIGURED, status=503):
    def __init__(self, backend: str, variable: str) -> None:
        super().__init__(f"{backend} is not configured: set {variable}", backend=backend)
