"""OpenTelemetry: the spans of one query reach an OTLP/HTTP receiver with the right parents,
and the Lago sandbox sees the same trace in the `traceparent` it was sent."""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.sandbox.lago import LagoSandbox
from tests.plugins.app import GatewayFactory
from tests.plugins.servers import ServeApp

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


class Receiver:
    """A small OTLP/HTTP collector: POST /v1/traces, protobuf bodies."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/v1/traces", self.traces, methods=["POST"])])

    async def traces(self, request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        for resource in message.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                for span in scope.spans:
                    self.spans.append({
                        "name": span.name,
                        "trace": span.trace_id.hex(),
                        "id": span.span_id.hex(),
                        "parent": span.parent_span_id.hex(),
                        "service": service.get("service.name"),
                        "attributes": {a.key: _value(a.value) for a in span.attributes},
                    })  # fmt: skip
        return Response(b"", media_type="application/x-protobuf")

    def named(self, prefix: str) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["name"].startswith(prefix)]


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


async def test_one_query_traced_through_to_lago(
    gateway_factory: GatewayFactory, serve_app: ServeApp, lago: LagoSandbox, lago_url: str
) -> None:
    receiver = Receiver()
    collector = await serve_app(receiver.app)
    gw = await gateway_factory(
        otel_traces_endpoint=f"{collector}/v1/traces", **lago.settings_for(lago_url)
    )
    response = await gw.client.post(
        "/graphql",
        json={"query": "query Customers { revenue { customers(first: 2) { nodes { name } } } }"},
        headers={
            "Authorization": f"Bearer {gw.admin_token}",
            "traceparent": f"00-{TRACE}-{CLIENT_SPAN}-01",
        },
    )
    assert response.status_code == 200 and "errors" not in response.json()
    for _ in range(100):  # the batch processor sends every half second
        if receiver.named("GET lago") and receiver.named("query Customers"):
            break
        await asyncio.sleep(0.1)

    (operation,) = receiver.named("query Customers")
    assert (operation["trace"], operation["parent"]) == (TRACE, CLIENT_SPAN)
    assert operation["service"] == "ops-gateway"
    assert operation["attributes"]["graphql.operation.type"] == "query"
    assert operation["attributes"]["enduser.id"] == "admin"
    assert len(operation["attributes"]["graphql.document.hash"]) == 64
    phases = {s["name"]: s for s in receiver.spans if s["name"].startswith("graphql.")}
    assert {"graphql.parse", "graphql.validate", "graphql.execute"} <= phases.keys()
    assert all(phases[p]["parent"] == operation["id"] for p in phases)
    backend = receiver.named("GET lago")[0]
    assert backend["trace"] == TRACE and backend["parent"] == phases["graphql.execute"]["id"]
    assert backend["attributes"]["http.response.status_code"] == 200
    assert backend["attributes"]["breaker.state"] == "closed"
    assert backend["attributes"]["url.template"] == "/customers"  # the path, no query
    assert any(s["name"].startswith("store.") and s["trace"] == TRACE for s in receiver.spans)
    # Lago was sent the trace, with the backend span as its parent.
    assert f"00-{TRACE}-{backend['id']}-01" in lago.traceparents


async def test_tracing_off_sends_no_traceparent(
    gateway_factory: GatewayFactory, lago: LagoSandbox, lago_url: str
) -> None:
    gw = await gateway_factory(**lago.settings_for(lago_url))
    body = await gw.data("{ revenue { customers(first: 1) { nodes { name } } } }")
    assert body["revenue"]["customers"]["nodes"]
    assert not lago.traceparents
