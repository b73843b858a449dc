"""``create_app(settings)``: the Starlette application and its routes (DESIGN §4)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import orjson
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from gateway.graphiql import graphiql_routes
from gateway.limits import BodyLimit, RequestMetrics
from gateway.metrics import Metrics
from gateway.requestlog import RequestLog
from gateway.routes.acme_challenges import challenge_routes
from gateway.routes.lago_webhooks import lago_webhook_endpoint
from gateway.routes.usage_events import usage_events_endpoint
from gateway.services import Services
from gateway.settings import Settings
from gateway.view import GatewayGraphQL
from schema import build_schema

log = logging.getLogger("gateway")

CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-Apollo-Operation-Name",
    "Apollo-Require-Preflight",
    "X-Request-ID",
    "traceparent",
    "tracestate",
]
"""What a dashboard on another origin may send (its preflight is answered for these)."""


def create_app(settings: Settings, *, metrics: Metrics | None = None) -> Starlette:
    metrics = metrics or Metrics()

    def services() -> Services:
        """The running app's services: ``app.state.services``, the one handle on them (set by
        the lifespan; tests and routes read the same)."""
        found: Services | None = getattr(app.state, "services", None)
        if found is None:
            raise RuntimeError("the app is not started (lifespan has not run)")
        return found

    tracing = None
    if settings.otel_traces_endpoint:  # the SDK is imported only when tracing is on
        from gateway.tracing import Tracing

        tracing = Tracing.from_settings(settings)
    tracer = tracing.tracer if tracing is not None else None
    schema = build_schema(limits=settings.limits, metrics=metrics, tracer=tracer)
    graphql = GatewayGraphQL(
        schema,
        services=services,
        keep_alive=True,
        keep_alive_interval=15,
        connection_init_wait_timeout=timedelta(seconds=10),
        # A dashboard origin allowed by CORS may open websockets too.
        allowed_origins=[*settings.allowed_origins, *settings.web.cors_origins],
    )
    graphql.max_subscriptions_per_connection = settings.limits.ws_max_subscriptions

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = await Services.start(
            settings, metrics=metrics, traced=tracer is not None
        )
        # What start-up built (modules, the schema, caches) lives as long as the process:
        # out of the collector's sight, a full collection has only requests' objects to walk.
        gc.freeze()
        # A request's objects live about as long as it runs (longer when a 429 is held):
        # young collections every 2,000 allocations (not 700) and older ones every 50 (not
        # 10) let them die young instead of reaching the generation whose collections
        # pause the loop (measured with `make hostile`: a 50,000-request burst).
        gc.set_threshold(2_000, 50, 10)
        try:
            yield
        finally:
            await app.state.services.close()
            app.state.services = None
            if tracing is not None:
                tracing.shutdown()

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def readyz(request: Request) -> Response:
        checks = await services().readiness()
        ok = all(c["ok"] for c in checks.values())
        body = orjson.dumps({"status": "ready" if ok else "unavailable", "checks": checks})
        return Response(body, 200 if ok else 503, media_type="application/json")

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", prometheus),
        Route("/v1/usage/events", usage_events_endpoint(services), methods=["POST"]),
        Route("/v1/webhooks/lago", lago_webhook_endpoint(services), methods=["POST"]),
        *challenge_routes(services),
        *graphiql_routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.limits.max_body_bytes,
        timeout=settings.limits.body_timeout,
    )
    app.add_middleware(RequestMetrics, metrics=metrics)
    if settings.web.cors_origins:  # outermost: refusals (413, 429) carry CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.web.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    if tracing is not None:
        from gateway.tracing import TraceRequests

        app.add_middleware(TraceRequests, tracing=tracing)
    # Outermost: every answer, refusals included, carries its X-Request-ID.
    app.add_middleware(RequestLog, log_lines=settings.log_format == "json")
    app.state.settings = settings
    app.state.metrics = metrics
    return app
