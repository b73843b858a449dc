"""``POST /v1/webhooks/lago``: Lago's webhooks, signature verified, fed to the snapshot.

No bearer token: Lago authenticates by signing (:mod:`gateway.revenue.webhooks`). A message
that does not verify gets 401 and changes nothing; a verified one is recorded once (by Lago's
``X-Lago-Unique-Key``) and applied before the 200 leaves, so Lago's retries are harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import ErrorCode, GatewayError
from gateway.responses import error_response
from gateway.revenue.webhooks import WebhookRejected

if TYPE_CHECKING:
    from gateway.services import Services

log = logging.getLogger(__name__)


def lago_webhook_endpoint(
    services: Callable[[], Services],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        revenue = services().revenue
        if not revenue.lago.configured:
            return error_response(404, ErrorCode.NOT_CONFIGURED, "Lago is not configured")
        body = await request.body()
        try:
            fresh = await revenue.receive_webhook(body, request.headers)
        except WebhookRejected as exc:
            log.warning("lago webhook refused: %s", exc)
            return error_response(401, ErrorCode.UNAUTHENTICATED, "webhook signature rejected")
        except GatewayError as exc:  # Lago unreachable for its public key, store down
            log.warning("lago webhook not recorded: %s", exc)
            return error_response(503, exc.code, "could not record the webhook; retry")
        except Exception:
            log.exception("lago webhook failed")
            return error_response(503, ErrorCode.INTERNAL, "could not record the webhook; retry")
        body = orjson.dumps({"received": True, "duplicate": not fresh})
        return Response(body, media_type="application/json")

    return endpoint
