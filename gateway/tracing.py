"""OpenTelemetry tracing, on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``)
is set: spans exported over OTLP/HTTP with the SDK's batch processor.

The spans of one request: the GraphQL operation (a child of the client's W3C
``traceparent``) with parse, validate and execute below it; under those, one span per backend
call (whose ``traceparent`` goes to the backend) and per store call. Off, nothing here is
built: the request path pays one context-variable read per backend or store call.
"""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.settings import Settings
from gateway.spans import active_tracer

_PROPAGATOR = TraceContextTextMapPropagator()


class Tracing:
    """The app's tracer provider (one per app: no global provider, so test apps stay apart)."""

    def __init__(self, *, endpoint: str, service_name: str) -> None:
        resource = Resource.create({"service.name": service_name})
        self.provider = TracerProvider(resource=resource)
        exporter = OTLPSpanExporter(endpoint=endpoint)
        self.provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
        self.tracer = self.provider.get_tracer("ops-gateway")

    @classmethod
    def from_settings(cls, settings: Settings) -> Tracing | None:
        if not settings.otel_traces_endpoint:
            return None
        return cls(endpoint=settings.otel_traces_endpoint, service_name=settings.otel_service_name)

    def shutdown(self) -> None:
        self.provider.shutdown()  # flushes what is still queued


class TraceRequests:
    """ASGI: serve each request under the client's ``traceparent`` with the tracer active."""

    def __init__(self, app: ASGIApp, *, tracing: Tracing) -> None:
        self.app = app
        self.tracer = tracing.tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        carrier = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope.get("headers", ())
            if k in (b"traceparent", b"tracestate")
        }
        token = otel_context.attach(_PROPAGATOR.extract(carrier))
        active = active_tracer.set(self.tracer)
        try:
            await self.app(scope, receive, send)
        finally:
            active_tracer.reset(active)
            otel_context.detach(token)
