"""X-Request-ID on every answer and in every error, and the JSON access log line."""

from __future__ import annotations

import json
import logging
import re

import pytest

from gateway.logformat import JsonFormatter
from tests.plugins.app import Gateway, GatewayFactory


async def test_an_id_is_made_or_kept(gateway: Gateway) -> None:
    made = await gateway.client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    kept = await gateway.client.get("/healthz", headers={"X-Request-ID": "req-42.a"})
    assert kept.headers["x-request-id"] == "req-42.a"
    # A hostile one (too long, or forging a log line) is replaced, not echoed.
    forged = await gateway.client.get("/healthz", headers={"X-Request-ID": "a\tb" + "x" * 300})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])


async def test_every_error_carries_the_request_id(gateway: Gateway) -> None:
    headers = {"X-Request-ID": "r-401"}
    unauthenticated = await gateway.client.post("/graphql", json={"query": "{ me { subject } }"},
                                                headers=headers)  # fmt: skip
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["errors"][0]["extensions"]["requestId"] == "r-401"

    auth = {"Authorization": f"Bearer {gateway.admin_token}", "X-Request-ID": "r-400"}
    bad = await gateway.client.post("/graphql", json={"query": "{ nope }"}, headers=auth)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "requestId": "r-400"}

    viewer = await gateway.token("viewer")
    forbidden = await gateway.client.post(
        "/graphql",
        json={"query": "{ me { subject } access { roles { name } } }"},
        headers={"Authorization": f"Bearer {viewer}", "X-Request-ID": "r-exec"},
    )
    body = forbidden.json()
    assert body["data"]["me"]["subject"] == "test-viewer"
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "requestId": "r-exec"}
    assert forbidden.headers["x-request-id"] == "r-exec"


async def test_json_access_line(
    gateway_factory: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await gateway_factory(log_format="json")
    trace = "0af7651916cd43dd8448eb211c80319c"
    headers = {
        "Authorization": f"Bearer {gw.admin_token}",
        "X-Request-ID": "line-1",
        "traceparent": f"00-{trace}-b7ad6b7169203331-01",
    }
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        response = await gw.client.post(
            "/graphql",
            json={"query": "query Who($x: String!) { me { subject } access { role(name: $x) { name } } }", "operationName": "Who",
                  "variables": {"x": "secret-variable"}},
            headers=headers,
        )  # fmt: skip
    assert response.status_code == 200
    records = [r for r in caplog.records if r.name == "gateway.access"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    fields = json.loads(line)
    expected = {"requestId": "line-1", "traceId": trace, "method": "POST", "path": "/graphql",
                "operation": "Who", "subject": "admin", "status": 200, "backendCalls": 0}  # fmt: skip
    assert {k: fields[k] for k in expected} == expected
    assert fields["durationMs"] > 0 and fields["level"] == "INFO"
    assert gw.admin_token not in line and "secret-variable" not in line


async def test_no_access_line_in_text_mode(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        await gateway.client.get("/healthz")
    assert not [r for r in caplog.records if r.name == "gateway.access"]
