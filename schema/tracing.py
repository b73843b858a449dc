"""The GraphQL operation as OpenTelemetry spans: the operation, then parse, validate and
execute below it (none per resolver: a dashboard query resolves thousands of fields)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from strawberry.extensions import SchemaExtension

from gateway.spans import active_tracer


class OperationTracing(SchemaExtension):
    def __init__(self, *, tracer: Tracer) -> None:
        self.tracer = tracer

    def on_operation(self) -> Iterator[None]:
        if active_tracer.get() is None:  # not under a traced request (an in-process call)
            yield
            return
        ctx = self.execution_context
        with self.tracer.start_as_current_span("graphql.operation", kind=SpanKind.SERVER) as span:
            yield
            try:
                kind = ctx.operation_type.value
            except Exception:  # no valid operation in the document
                kind = "invalid"
            name = ctx.operation_name or "anonymous"
            span.update_name(f"{kind} {name}")
            span.set_attribute("graphql.operation.name", name)
            span.set_attribute("graphql.operation.type", kind)
            if ctx.query:
                digest = hashlib.sha256(ctx.query.encode()).hexdigest()
                span.set_attribute("graphql.document.hash", digest)
            principal = getattr(ctx.context, "principal", None)
            if principal is not None:
                span.set_attribute("enduser.id", principal.subject)
            errors = getattr(ctx.result, "errors", None) or ()
            codes = sorted({str((e.extensions or {}).get("code", "")) for e in errors})
            if codes:
                span.set_attribute("graphql.error.codes", codes)
                span.set_status(Status(StatusCode.ERROR))

    def on_parse(self) -> Iterator[None]:
        yield from self._phase("graphql.parse")

    def on_validate(self) -> Iterator[None]:
        yield from self._phase("graphql.validate")

    def on_execute(self) -> Iterator[None]:
        yield from self._phase("graphql.execute")

    def _phase(self, name: str) -> Iterator[None]:
        if active_tracer.get() is None:
            yield
            return
        with self.tracer.start_as_current_span(name):
            yield
