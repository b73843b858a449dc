"""Replicas starting at once on one store all come up with the built-in roles."""

from __future__ import annotations

import asyncio

from gateway.auth.permissions import BUILTIN_ROLES
from gateway.auth.rbac import RBAC
from gateway.store.base import Store


async def test_concurrent_ensure_builtins_on_one_store(store: Store) -> None:
    replicas = [RBAC(store=store) for _ in range(4)]
    await asyncio.gather(*(r.ensure_builtins(now=1.0) for r in replicas))
    graph = await replicas[0].graph()
    assert set(BUILTIN_ROLES) <= set(graph.roles)
    assert all(graph.roles[name].builtin for name in BUILTIN_ROLES)
    assert graph.roles["admin"].inherits == ("moderator",)
