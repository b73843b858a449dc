"""Everything that lives as long as the app: store, pub/sub, auth, RBAC, clients, metrics.

Built by the app's lifespan from :class:`Settings` and closed with it; resolvers reach it
through ``info.context.services``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx

from gateway.auth.audit import AuditLog
from gateway.auth.authenticator import Authenticator
from gateway.auth.oidc import OIDCVerifier
from gateway.auth.principal import Principal
from gateway.auth.rbac import RBAC
from gateway.auth.roles import RoleAdmin
from gateway.auth.token_admin import TokenAdmin
from gateway.auth.tokens import TokenService
from gateway.backends.registry import Backends, open_backends
from gateway.metrics import Metrics
from gateway.pubsub import open_pubsub
from gateway.pubsub.base import PubSub
from gateway.ratelimit import RateLimiter, make_rate_limiter
from gateway.secrets import SecretBox, load_secret_keys
from gateway.settings import Settings
from gateway.store import open_store
from gateway.store.base import Store

log = logging.getLogger("gateway")


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    store: Store
    pubsub: PubSub
    secrets: SecretBox
    rbac: RBAC
    audit: AuditLog
    role_admin: RoleAdmin
    tokens: TokenService
    token_admin: TokenAdmin
    authenticator: Authenticator
    rate_limiter: RateLimiter
    http: httpx.AsyncClient
    """Shared client for small calls of our own (JWKS); backends own their clients."""
    backends: Backends
    _stack: AsyncExitStack

    @classmethod
    async def start(cls, settings: Settings, *, metrics: Metrics | None = None) -> Services:
        metrics = metrics or Metrics()
        stack = AsyncExitStack()
        try:
            store = open_store(settings.store_url, redis_prefix=settings.redis_prefix)
            await store.open()
            stack.push_async_callback(store.close)
            pubsub = open_pubsub(settings.redis_url, prefix=settings.redis_prefix)
            await pubsub.open()
            stack.push_async_callback(pubsub.close)
            http = httpx.AsyncClient(timeout=settings.backend_timeout)
            stack.push_async_callback(http.aclose)
            keys, _generated = load_secret_keys(
                configured=settings.secret_keys, data_dir=settings.data_dir
            )
            rbac = RBAC(store=store)
            await rbac.ensure_builtins(now=time.time())
            audit = AuditLog(store=store, pubsub=pubsub)
            tokens = TokenService(store=store)
            oidc = (
                OIDCVerifier(settings=settings.oidc, http=http) if settings.oidc.enabled else None
            )
            backends = await open_backends(settings, observer=metrics, stack=stack)
            limiter = make_rate_limiter(
                settings.redis_url,
                settings.limits.rate_per_second,
                settings.limits.rate_burst,
                prefix=settings.redis_prefix,
            )
            stack.push_async_callback(limiter.close)
        except BaseException:
            await stack.aclose()
            raise
        return cls(
            settings=settings,
            metrics=metrics,
            store=store,
            pubsub=pubsub,
            secrets=SecretBox(keys=keys),
            rbac=rbac,
            audit=audit,
            role_admin=RoleAdmin(store=store, rbac=rbac, audit=audit),
            tokens=tokens,
            token_admin=TokenAdmin(tokens=tokens, rbac=rbac, audit=audit),
            authenticator=Authenticator(tokens=tokens, oidc=oidc),
            rate_limiter=limiter,
            http=http,
            backends=backends,
            _stack=stack,
        )

    async def close(self) -> None:
        await self._stack.aclose()

    async def readiness(self) -> dict[str, dict[str, object]]:
        """Each dependency's state for /readyz; backends add themselves as they arrive."""
        checks: dict[str, dict[str, object]] = {}
        start = time.perf_counter()
        try:
            await asyncio.wait_for(self.store.ping(), timeout=2)
            checks["store"] = {"ok": True}
        except Exception as exc:  # any failure means not ready; the reason is logged, not shown
            log.warning("store not ready: %s", exc)
            checks["store"] = {"ok": False, "error": type(exc).__name__}
        checks["store"]["seconds"] = round(time.perf_counter() - start, 4)
        checks.update(await self.backends.readiness())
        return checks

    async def resolve(self, principal: Principal) -> tuple[frozenset[str], frozenset[str]]:
        """The principal's roles (credential + assigned) and effective permissions."""
        roles = await self.rbac.roles_of(principal.subject, principal.roles)
        return roles, await self.rbac.effective_permissions(roles)
