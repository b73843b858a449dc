"""``GET /.well-known/acme-challenge/{token}``: the HTTP-01 answer, from any replica.

Unauthenticated by design (the CA calls it); it answers only tokens of orders in flight,
which live as TTL entries in the Store, with the key authorization as text/plain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from gateway.services import Services


def challenge_routes(services: Callable[[], Services]) -> list[Route]:
    async def answer(request: Request) -> Response:
        token = request.path_params["token"]
        key_authorization = await services().traffic.http01.answer(token)
        if key_authorization is None:
            return PlainTextResponse("not found\n", status_code=404)
        return PlainTextResponse(key_authorization)

    return [Route("/.well-known/acme-challenge/{token}", answer, methods=["GET", "HEAD"])]
