"""Per-request context: the caller, their permissions, app services and request-scoped loaders."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket

from gateway.auth.actor import Actor
from gateway.auth.principal import AuthKind, Principal
from gateway.auth.rbac import RoleGraph

if TYPE_CHECKING:
    from gateway.services import Services

T = TypeVar("T")


class Loaders:
    """Request-scoped DataLoaders, created on first use so a request pays only for what it needs.

    One loader per key shape (Saleor's rule): domains ask ``loaders.get(CustomerLoader, client)``
    and get the same instance for the whole request, which is what lets it batch and dedupe.
    """

    def __init__(self) -> None:
        self._loaders: dict[Any, Any] = {}

    def get(self, factory: Callable[..., T], *args: Any) -> T:
        key = (factory, *args)
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = factory(*args)
        return loader


class Context:
    def __init__(
        self,
        *,
        services: Services,
        request: Request | WebSocket | None,
        response: Any = None,
        principal: Principal | None = None,
        roles: frozenset[str] = frozenset(),
        permissions: frozenset[str] = frozenset(),
    ) -> None:
        self.services = services
        self.request = request
        self.response = response
        self.principal = principal
        self.roles = roles
        """Credential roles plus roles assigned in the gateway."""
        self.permissions = permissions
        self.loaders = Loaders()
        # Filled by the websocket protocols with the connection_init payload.
        self.connection_params: dict[str, Any] | None = None
        self._role_graph: RoleGraph | None = None

    async def sign_in(self, principal: Principal) -> None:
        """Attach the caller: their roles (credential + assigned) and effective permissions."""
        self.principal = principal
        graph = await self.role_graph()
        self.roles, self.permissions = await self.services.rbac.authorize(principal, graph)

    def forget_role_graph(self) -> None:
        """After a mutation changed roles, later fields of the request must see the change."""
        self._role_graph = None

    async def role_graph(self) -> RoleGraph:
        """The role graph, loaded once per HTTP request (many resolvers ask for it).

        A websocket connection lives long, so it asks the (generation-checked) RBAC cache
        every time and sees grant changes made while it is open.
        """
        if isinstance(self.request, WebSocket):
            return await self.services.rbac.graph()
        if self._role_graph is None:
            self._role_graph = await self.services.rbac.graph()
        return self._role_graph

    async def refresh(self) -> None:
        """Take the caller as the store has it now, not as signed in (maybe from the cache a
        moment ago): changes are judged by the latest grants and by a credential that has
        not been revoked meanwhile on another replica. A revoked or expired credential keeps
        no permission at all."""
        principal = self.principal
        if principal is None:
            return
        services = self.services
        if principal.kind is AuthKind.API_TOKEN and principal.token_id is not None:
            token = await services.tokens.get(principal.token_id)
            if token is None or not token.is_active(time.time()):
                self.roles, self.permissions = frozenset(), frozenset()
                return
        graph = await services.rbac.graph(fresh=True)
        self.roles, self.permissions = await services.rbac.authorize(principal, graph)

    @property
    def actor(self) -> Actor:
        subject = self.principal.subject if self.principal else "anonymous"
        return Actor(subject=subject, permissions=self.permissions)

    def has(self, resource: str, action: str) -> bool:
        return f"{resource}:{action}" in self.permissions


Info = strawberry.Info[Context, None]
