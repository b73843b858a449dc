"""Reference target: bare Strawberry answering ``{ me { subject } }`` like the gateway, with
the parse and validation caches the gateway also has, and nothing else (no auth, store,
middleware or metrics). ``uvicorn bench.strawberry_target:app --factory``."""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


@strawberry.type
class Me:
    subject: str


@strawberry.type
class Query:
    @strawberry.field
    def me(self) -> Me:
        return Me(subject="bench")


def app() -> Starlette:
    schema = strawberry.Schema(query=Query, extensions=[ParserCache, ValidationCache])
    graphql = GraphQL(schema)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/healthz", healthz)]
    )
