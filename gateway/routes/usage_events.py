"""``POST /v1/usage/events``: batches of usage events from LLM proxies (DESIGN §4).

Body: a JSON list of events (or ``{"events": [...]}``). Needs a token with ``usage:write``;
the app's body limit applies before this runs. 200 answers say what happened to each event
(accepted, duplicate, rejected and why); accepted events are durable when the answer leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.caller import sign_in
from gateway.errors import BadUserInput, ErrorCode, Forbidden, GatewayError
from gateway.responses import error_response, gateway_error_response
from gateway.usage.events import InvalidBatch

if TYPE_CHECKING:
    from gateway.services import Services

log = logging.getLogger(__name__)
PERMISSION = "usage:write"


async def _ingest(services: Services, request: Request) -> Response:
    context = await sign_in(services, request)
    if PERMISSION not in context.permissions:
        raise Forbidden(f"requires permission {PERMISSION}")
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadUserInput("the body is not valid JSON") from None
    if isinstance(payload, dict) and set(payload) == {"events"}:
        payload = payload["events"]
    try:
        result = await services.usage.ingest(payload)
    except InvalidBatch as exc:
        raise BadUserInput(str(exc), field="events") from None
    return Response(orjson.dumps(result.to_json()), media_type="application/json")


def usage_events_endpoint(
    services: Callable[[], Services],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await _ingest(services(), request)
        except GatewayError as exc:
            return gateway_error_response(exc)
        except Exception:
            # Nothing was acknowledged: the proxy should retry the batch (ids make it safe).
            log.exception("usage ingestion failed")
            return error_response(503, ErrorCode.INTERNAL, "could not record usage; retry")

    return endpoint
