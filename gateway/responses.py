"""The one shape of an error answered outside GraphQL execution (401, 400, 413, 429...)."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

from gateway.errors import ErrorCode
from gateway.requestlog import request_id


def error_response(
    status: int, code: ErrorCode | str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    extensions = {"code": str(code)}
    if (rid := request_id()) is not None:
        extensions["requestId"] = rid
    body = {"errors": [{"message": message, "extensions": extensions}]}
    return Response(orjson.dumps(body), status, headers, media_type="application/json")
