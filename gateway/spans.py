"""Spans around backend and store calls, for :mod:`gateway.tracing`. This module imports
nothing of OpenTelemetry until a request is traced, so with tracing off a call pays one
context-variable read and nothing else."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

active_tracer: ContextVar[Tracer | None] = ContextVar("active_tracer", default=None)
"""The tracer of the request being served (None: tracing is off, or no request)."""


def url_template(path: str) -> str:
    """The path with its ids as ``{id}`` and no query: a span name stays one per endpoint, and
    what a user asked for (a customer, a model) stays out of the trace."""
    parts = path.split("?", 1)[0].split("/")
    return "/".join("{id}" if _is_id(p) else p for p in parts)


def _is_id(part: str) -> bool:
    if part[:1] == "v" and part[1:].isdigit():  # an API version: /api/v1
        return False
    return any(c.isdigit() for c in part) or len(part) > 32 or "@" in part


@contextmanager
def backend_span(
    backend: str, method: str, template: str, headers: dict[str, str]
) -> Iterator[Span | None]:
    """A client span for one backend call; ``headers`` gets the ``traceparent`` to send."""
    tracer = active_tracer.get()
    if tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    attributes = {"http.request.method": method, "url.template": template, "backend": backend}
    name = f"{method} {backend}"
    with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
        TraceContextTextMapPropagator().inject(headers)
        yield span


def end_backend_span(
    span: Span | None, status: int | None, retries: int, breaker: str, error: str | None
) -> None:
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode

    if status is not None:
        span.set_attribute("http.response.status_code", status)
    span.set_attribute("retries", retries)
    span.set_attribute("breaker.state", breaker)
    if error is not None:
        span.set_attribute("error.type", error)
        span.set_status(Status(StatusCode.ERROR))


class TracedStore:
    """The store with a span per call while a request is traced (an attribute proxy: the
    Store protocol's methods are all coroutines)."""

    def __init__(self, store: Any, *, system: str) -> None:
        self._store = store
        self._system = system

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        return _traced(attr, name, self._system)


def _traced(call: Callable[..., Any], name: str, system: str) -> Callable[..., Any]:
    @functools.wraps(call)
    async def traced(*args: Any, **kwargs: Any) -> Any:
        tracer = active_tracer.get()
        if tracer is None:
            return await call(*args, **kwargs)
        from opentelemetry.trace import SpanKind

        attributes: Mapping[str, str] = {"db.system": system, "db.operation": name}
        with tracer.start_as_current_span(
            f"store.{name}", kind=SpanKind.CLIENT, attributes=attributes
        ):
            return await call(*args, **kwargs)

    return traced
