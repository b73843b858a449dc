"""Reference target: bare Strawberry over the same fake Lago, as a team would write it.

``revenue { customers(first) { nodes { name email } } }`` is one Lago page; the nested
``subscriptions(first) { nodes { customer { name } } }`` is one page plus a DataLoader that
fetches each distinct customer (Lago cannot list customers by a set of ids). httpx with its
own transport, one client for the app's life, stdlib JSON, plain dataclasses. It answers the
bench's queries with the same JSON as the gateway. ``LAGO_URL``/``LAGO_KEY`` point it at Lago.
``uvicorn bench.strawberry_lago:app --factory``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import strawberry
from aiodataloader import DataLoader
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


@strawberry.type
class Customer:
    name: str | None
    email: str | None


@strawberry.type
class Subscription:
    external_id: str
    status: str
    customer_id: strawberry.Private[str]

    @strawberry.field
    async def customer(self, info: strawberry.Info) -> Customer | None:
        return await info.context["customers"].load(self.customer_id)


@strawberry.type
class CustomerPage:
    nodes: list[Customer]


@strawberry.type
class SubscriptionPage:
    nodes: list[Subscription]


class Customers(DataLoader[str, Customer | None]):
    def __init__(self, http: httpx.AsyncClient) -> None:
        super().__init__()
        self.http = http

    async def batch_load_fn(self, keys: Sequence[str]) -> list[Customer | None]:
        async def one(key: str) -> Customer | None:
            response = await self.http.get(f"/customers/{key}")
            if response.status_code == 404:
                return None
            c = response.json()["customer"]
            return Customer(name=c.get("name"), email=c.get("email"))

        return list(await asyncio.gather(*(one(k) for k in keys)))


@strawberry.type
class Revenue:
    @strawberry.field
    async def customers(self, info: strawberry.Info, first: int = 50) -> CustomerPage:
        body = (await _http(info).get("/customers", params={"per_page": first})).json()
        return CustomerPage(
            nodes=[Customer(name=c.get("name"), email=c.get("email")) for c in body["customers"]]
        )

    @strawberry.field
    async def subscriptions(self, info: strawberry.Info, first: int = 50) -> SubscriptionPage:
        every = ["active", "pending", "terminated", "canceled"]
        params: dict[str, Any] = {"per_page": first, "status[]": every}
        body = (await _http(info).get("/subscriptions", params=params)).json()
        return SubscriptionPage(
            nodes=[
                Subscription(
                    external_id=s["external_id"],
                    status=s["status"].upper(),
                    customer_id=s["external_customer_id"],
                )
                for s in body["subscriptions"]
            ]
        )


def _http(info: strawberry.Info) -> httpx.AsyncClient:
    return info.context["http"]


@strawberry.type
class Query:
    @strawberry.field
    def revenue(self) -> Revenue:
        return Revenue()


class LagoGraphQL(GraphQL):
    def __init__(self, schema: strawberry.Schema, http: httpx.AsyncClient) -> None:
        super().__init__(schema)
        self.http = http

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"http": self.http, "customers": Customers(self.http)}


def app() -> Starlette:
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    http = httpx.AsyncClient(
        base_url=os.environ["LAGO_URL"].rstrip("/") + "/api/v1",
        headers={"Authorization": f"Bearer {os.environ['LAGO_KEY']}"},
        limits=limits,
        timeout=30,
    )
    schema = strawberry.Schema(query=Query, extensions=[ParserCache, ValidationCache])
    graphql = LagoGraphQL(schema, http)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await http.aclose()

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/healthz", healthz)],
        lifespan=lifespan,
    )
