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

from gateway.agents.service import AgentsService
from gateway.auth.audit import AuditLog
from gateway.auth.authenticator import Authenticator
from gateway.auth.changes import AccessChanges
from gateway.auth.guard import PrivilegeGuard
from gateway.auth.lockout import AuthLockout
from gateway.auth.oidc import OIDCVerifier
from gateway.auth.rbac import RBAC
from gateway.auth.roles import RoleAdmin
from gateway.auth.sessions import LiveSessions
from gateway.auth.signin import SignInCache
from gateway.auth.token_admin import TokenAdmin
from gateway.auth.tokens import TokenService
from gateway.auth.watch import AccessWatch
from gateway.backends.registry import Backends, open_backends
from gateway.documents import DocumentGate, DocumentMode, DocumentRegistry
from gateway.inflight import InFlight
from gateway.jobs import JobRunner
from gateway.maintenance import StoreMaintenance
from gateway.metrics import Metrics
from gateway.models.service import ModelsService
from gateway.penalty import Penalty
from gateway.pending import PendingSockets
from gateway.providers import ProviderService
from gateway.pubsub import open_pubsub
from gateway.pubsub.base import PubSub
from gateway.ratelimit import RateLimiter, make_rate_limiter
from gateway.response_cache import ResponseCache, make_response_cache
from gateway.revenue.service import RevenueService
from gateway.secrets import SecretBox, load_secret_keys
from gateway.settings import Settings
from gateway.store import open_store
from gateway.store.base import Store
from gateway.traffic.service import TrafficService
from gateway.usage.service import UsageService

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
    lockout: AuthLockout
    """Failed authentications per client address."""
    penalty: Penalty
    """Holds each 429 for GATEWAY_RATE_LIMIT_DELAY: a flood paces itself."""
    in_flight: InFlight
    """One subject's requests running at once (GATEWAY_MAX_IN_FLIGHT); more wait."""
    pending_sockets: PendingSockets
    """Websockets not yet initialised, per address (GATEWAY_WS_MAX_PENDING)."""
    signin: SignInCache
    """Signed-in callers by credential: no store round trip for a known caller."""
    watch: AccessWatch
    """The access generation in memory (what cached principals and role graphs check)."""
    sessions: LiveSessions
    """Open websockets, re-authorized when access changes."""
    http: httpx.AsyncClient
    """Shared client for small calls of our own (JWKS); backends own their clients."""
    backends: Backends
    response_cache: ResponseCache | None
    """Answers of read queries (GATEWAY_RESPONSE_CACHE=on), else None."""
    revenue: RevenueService
    """Lago lists, the shared revenue snapshot and its webhooks (gateway/revenue)."""
    usage: UsageService
    """Usage ingestion, prices, rollups and the Lago outbox (its loops run with the app)."""
    traffic: TrafficService
    """Traefik, Docker discovery and certificate renewals (gateway/traffic)."""
    jobs: JobRunner
    """Background jobs (downloads, renewals); domains register their kinds before it starts."""
    models: ModelsService
    """Hub search, the local model cache, serving settings, download jobs (gateway/models)."""
    agents: AgentsService
    """Brigade's agent usage and task history, per caller (gateway/agents)."""
    providers: ProviderService
    """LLM provider records: encrypted keys, connection tests (gateway/providers)."""
    documents: DocumentGate
    """Which documents a request may run: trusted ones, persisted queries (gateway/documents)."""
    _stack: AsyncExitStack

    @classmethod
    async def start(
        cls, settings: Settings, *, metrics: Metrics | None = None, traced: bool = False
    ) -> Services:
        metrics = metrics or Metrics()
        stack = AsyncExitStack()
        try:
            store = open_store(
                settings.store_url,
                redis_prefix=settings.redis_prefix,
                pool_size=settings.store_pool_size,
            )
            await store.open()
            stack.push_async_callback(store.close)
            if traced:  # a span per store call (gateway/tracing.py)
                from gateway.spans import TracedStore

                system = settings.store_url.partition(":")[0]
                store = TracedStore(store, system=system)  # type: ignore[assignment]
            pubsub = open_pubsub(settings.redis_url, prefix=settings.redis_prefix)
            await pubsub.open()
            stack.push_async_callback(pubsub.close)
            http = httpx.AsyncClient(timeout=settings.backend_timeout)
            stack.push_async_callback(http.aclose)
            keys, _generated = load_secret_keys(
                configured=settings.secret_keys, data_dir=settings.data_dir
            )
            secrets = SecretBox(keys=keys)
            changes = AccessChanges(store=store, pubsub=pubsub)
            rbac = RBAC(store=store, changes=changes)
            await rbac.ensure_builtins(now=time.time())
            audit = AuditLog(store=store, pubsub=pubsub)
            tokens = TokenService(store=store, changes=changes)
            guard = PrivilegeGuard(rbac=rbac, tokens=tokens)
            oidc = (
                OIDCVerifier(settings=settings.oidc, http=http) if settings.oidc.enabled else None
            )
            authenticator = Authenticator(tokens=tokens, oidc=oidc)
            backends = await open_backends(settings, observer=metrics, stack=stack)
            limiter = make_rate_limiter(
                settings.redis_url,
                settings.limits.rate_per_second,
                settings.limits.rate_burst,
                prefix=settings.redis_prefix,
            )
            stack.push_async_callback(limiter.close)
            per_minute = settings.limits.auth_failures_per_minute
            lockout = AuthLockout(
                limiter=make_rate_limiter(
                    settings.redis_url, per_minute / 60, per_minute, prefix=settings.redis_prefix
                )
            )
            stack.push_async_callback(lockout.close)
            watch = AccessWatch(changes=changes, pubsub=pubsub)
            await watch.start()
            stack.push_async_callback(watch.stop)
            sessions = LiveSessions(
                rbac=rbac,
                tokens=tokens,
                watch=watch,
                max_per_subject=settings.limits.ws_max_connections,
            )
            await sessions.start()
            stack.push_async_callback(sessions.stop)
            response_cache = None
            if settings.response_cache:
                response_cache = make_response_cache(
                    settings.redis_url,
                    prefix=settings.redis_prefix,
                    max_entries=settings.response_cache_entries,
                )
                stack.push_async_callback(response_cache.close)
            revenue = RevenueService.from_settings(
                settings, lago=backends.lago, store=store, pubsub=pubsub
            )
            if response_cache is not None:  # a webhook changes what revenue answers
                revenue.on_change(response_cache.invalidate)
            await revenue.start()
            stack.push_async_callback(revenue.stop)
            maintenance = StoreMaintenance(store=store, idempotency_days=settings.idempotency_days)
            await maintenance.start()
            stack.push_async_callback(maintenance.stop)
            usage = UsageService(
                store=store,
                pubsub=pubsub,
                lago=backends.lago,
                metrics=metrics,
                idempotency_days=settings.idempotency_days,
            )
            await usage.start()
            stack.push_async_callback(usage.stop)  # closed first: before the store and clients
            jobs = JobRunner(store=store, pubsub=pubsub)
            traffic = TrafficService.from_settings(
                settings, backends=backends, store=store, secrets=secrets, jobs=jobs
            )
            models = ModelsService(
                settings=settings,
                store=store,
                secrets=secrets,
                hub=backends.hub,
                jobs=jobs,
                audit=audit,
            )
            stack.push_async_callback(models.close)
            await jobs.start()  # after every domain registered its job kinds
            stack.push_async_callback(jobs.stop)  # first to stop: jobs end as "interrupted"
        except BaseException:
            await stack.aclose()
            raise
        return cls(
            settings=settings,
            metrics=metrics,
            store=store,
            pubsub=pubsub,
            secrets=secrets,
            rbac=rbac,
            audit=audit,
            role_admin=RoleAdmin(store=store, rbac=rbac, audit=audit, guard=guard),
            tokens=tokens,
            token_admin=TokenAdmin(tokens=tokens, rbac=rbac, audit=audit, guard=guard),
            authenticator=authenticator,
            rate_limiter=limiter,
            lockout=lockout,
            penalty=Penalty(
                delay=settings.limits.rate_limit_delay, held=settings.limits.rate_limit_held
            ),
            in_flight=InFlight(limit=settings.limits.max_in_flight),
            pending_sockets=PendingSockets(limit=settings.limits.ws_max_pending),
            signin=SignInCache(authenticator=authenticator, rbac=rbac, watch=watch),
            watch=watch,
            sessions=sessions,
            http=http,
            backends=backends,
            response_cache=response_cache,
            revenue=revenue,
            usage=usage,
            traffic=traffic,
            jobs=jobs,
            models=models,
            agents=AgentsService(brigade=backends.brigade),
            providers=ProviderService(
                store=store, secrets=secrets, connector=backends.providers, audit=audit
            ),
            documents=DocumentGate(
                mode=DocumentMode(settings.web.documents),
                registry=DocumentRegistry(
                    store=store,
                    apq_max_entries=settings.web.apq_max_entries,
                    cache_seconds=settings.web.documents_cache_seconds,
                ),
            ),
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
