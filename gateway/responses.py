"""The one shape of an error answered outside GraphQL execution (401, 400, 413, 429...)."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

from gateway.errors import ErrorCode, GatewayError, PersistedQueryNotFound, RateLimited
from gateway.requestlog import request_id


def error_response(
    status: int, code: ErrorCode | str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    extensions = {"code": str(code)}
    if (rid := request_id()) is not None:
        extensions["requestId"] = rid
    body = {"errors": [{"message": message, "extensions": extensions}]}
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def gateway_error_response(exc: GatewayError) -> Response:
    """A :class:`GatewayError` as an HTTP answer, with the headers its status calls for."""
    headers = {}
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="ops-gateway"'
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    elif exc.http_status == 503:  # a backend (the store) lost for a moment: retry soon
        headers["Retry-After"] = "1"
    elif isinstance(exc, PersistedQueryNotFound):  # never cached: the next try registers it
        headers["Cache-Control"] = "private, no-cache, must-revalidate"
    return error_response(exc.http_status, exc.code, exc.message, headers)
