"""ASGI app factories the benchmark servers import (``uvicorn bench.targets:floor_app``).

The gateway itself is served through its production factory, ``gateway.cli:app_from_env``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FLOOR_BODY = {"data": {"me": {"subject": "bench"}}}
"""What the floor answers: the same JSON as the gateway's ``{ me { subject } }``."""


def floor_app() -> Starlette:
    """Bare Starlette: one route answering a small JSON body, no middleware, no GraphQL."""

    async def graphql(request: Request) -> Response:
        return JSONResponse(FLOOR_BODY)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)]
    )


LAGO_PAGE = (
    b'{"plans":[{"lago_id":"1","code":"pro","name":"Pro","interval":"monthly",'
    b'"amount_cents":9900,"amount_currency":"USD"}],"meta":{"current_page":1,'
    b'"next_page":null,"prev_page":null,"total_pages":1,"total_count":1}}'
)


def lago_page_app() -> Starlette:
    """A Lago-shaped page answered at once: what one backend call costs the client."""

    async def plans(request: Request) -> Response:
        return Response(LAGO_PAGE, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/api/v1/plans", plans), Route("/healthz", healthz)])
