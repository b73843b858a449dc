"""Fixtures that build real gateway apps: in-process over ASGI, or served by uvicorn.

``gateway`` runs the app's lifespan and talks to it through httpx's ASGI transport (fast, no
sockets); ``live_gateway`` serves it on 127.0.0.1 for websockets and browsers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.services import Services
from gateway.settings import Settings


@dataclass
class Gateway:
    app: Starlette
    client: httpx.AsyncClient
    settings: Settings
    admin_token: str
    url: str = "http://gateway.test"
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return self.app.state.services

    async def token(self, *roles: str, subject: str | None = None) -> str:
        """An API token with these roles (cached per role set and subject)."""
        key = f"{subject}|{','.join(sorted(roles))}"
        if key not in self._tokens:
            secret, _ = await self.services.tokens.create(
                subject=subject or f"test-{'-'.join(roles) or 'none'}",
                roles=list(roles),
                expires_in=3600,
            )
            self._tokens[key] = secret
        return self._tokens[key]

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = ""
    ) -> httpx.Response:
        headers = {}
        token = self.admin_token if token == "" else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.client.post("/graphql", json=body, headers=headers)

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = ""
    ) -> dict[str, Any]:
        response = await self.post(query, variables, token=token)
        assert response.status_code in (200, 400), response.text
        return response.json()

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = ""
    ) -> dict[str, Any]:
        """The ``data`` of a request that must succeed: no ``errors`` at all."""
        body = await self.gql(query, variables, token=token)
        assert "errors" not in body, body
        return body["data"]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    base = Settings(
        store_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        data_dir=tmp_path,
        secret_keys=(Fernet.generate_key().decode(),),
    )
    return base.replace(**overrides)


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def gateway_factory(tmp_path: Path) -> AsyncIterator[GatewayFactory]:
    """``gw = await gateway_factory(limits=..., ...)``: an app with these settings overrides."""
    stack: list[tuple[Any, httpx.AsyncClient]] = []

    async def make(**overrides: Any) -> Gateway:
        settings = make_settings(tmp_path, **overrides)
        app = create_app(settings)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        )
        stack.append((lifespan, client))
        services: Services = app.state.services
        admin, _ = await services.tokens.create(subject="admin", roles=["admin"], expires_in=3600)
        return Gateway(app=app, client=client, settings=settings, admin_token=admin)

    yield make
    for lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory) -> Gateway:
    return await gateway_factory()


@pytest.fixture
async def live_gateway_factory(tmp_path: Path, serve_app: Any) -> AsyncIterator[GatewayFactory]:
    """``gw = await live_gateway_factory(**overrides)``: served by uvicorn on a free port.

    Instances made in one test share ``tmp_path``, hence one SQLite store: like replicas.
    """
    clients: list[httpx.AsyncClient] = []

    async def make(**overrides: Any) -> Gateway:
        settings = make_settings(tmp_path, **overrides)
        app = create_app(settings)
        url = await serve_app(app)
        client = httpx.AsyncClient(base_url=url)
        clients.append(client)
        services: Services = app.state.services
        admin, _ = await services.tokens.create(subject="admin", roles=["admin"], expires_in=3600)
        return Gateway(app=app, client=client, settings=settings, admin_token=admin, url=url)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def live_gateway(live_gateway_factory: GatewayFactory) -> Gateway:
    """The gateway served by uvicorn on a free port (``.url``), with an admin token."""
    return await live_gateway_factory()
