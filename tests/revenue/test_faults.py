"""A failing Lago nulls only the revenue fields, with BACKEND_* codes; `me` still answers."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.sandbox.lago import LagoSandbox
from tests.plugins.app import Gateway, GatewayFactory

QUERY = (
    "{ me { subject } revenue { overview { activeSubscriptions } "
    "plans(first: 3) { totalCount } invoices(first: 2) { totalCount } } }"
)
FIELDS = ["overview", "plans", "invoices"]


def assert_revenue_fields_failed(body: dict[str, Any], code: str) -> list[dict[str, Any]]:
    assert body["data"]["me"]["subject"] == "admin"
    assert body["data"]["revenue"] == dict.fromkeys(FIELDS)
    errors = body["errors"]
    assert sorted(e["path"][1] for e in errors) == sorted(FIELDS)
    assert {e["path"][0] for e in errors} == {"revenue"}
    assert {e["extensions"]["code"] for e in errors} == {code}
    assert {e["extensions"]["backend"] for e in errors} == {"lago"}
    for error in errors:
        assert "Traceback" not in error["message"] and "lago-sandbox-key" not in error["message"]
    return errors


async def test_lago_down(gateway_factory: GatewayFactory, refused_url: str) -> None:
    gw = await gateway_factory(lago_api_url=refused_url, lago_api_key="k")
    assert_revenue_fields_failed(await gw.gql(QUERY), "BACKEND_UNAVAILABLE")


async def test_lago_slower_than_the_timeout(
    gateway_factory: GatewayFactory, lago: LagoSandbox, lago_url: str
) -> None:
    gw = await gateway_factory(**lago.settings_for(lago_url), backend_timeout=0.2)
    lago.slow("/api/v1/*", 3.0)
    assert_revenue_fields_failed(await gw.gql(QUERY), "BACKEND_TIMEOUT")


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("500", 500),
        ("malformed", None),
        ("wrong shape", None),
    ],
)
async def test_lago_errors(
    revenue_gw: Gateway, lago: LagoSandbox, fault: str, status: int | None
) -> None:
    if fault == "500":
        lago.fail("/api/v1/*", status=500, body={"status": 500, "error": "Internal Server Error"})
    elif fault == "malformed":
        lago.malformed("/api/v1/*")
    else:  # valid JSON that is not Lago's shape
        lago.fail("/api/v1/*", status=200, body={"unexpected": True})
    errors = assert_revenue_fields_failed(await revenue_gw.gql(QUERY), "BACKEND_ERROR")
    assert {e["extensions"].get("status") for e in errors} == {status}


async def test_lago_rejects_the_api_key(
    gateway_factory: GatewayFactory, lago: LagoSandbox, lago_url: str
) -> None:
    gw = await gateway_factory(lago_api_url=lago_url, lago_api_key="not-the-key")
    errors = assert_revenue_fields_failed(await gw.gql(QUERY), "BACKEND_ERROR")
    assert {e["extensions"]["status"] for e in errors} == {401}
    assert all("LAGO_API_KEY" in e["message"] for e in errors)
    assert lago.counts["GET /api/v1/plans"] >= 1  # it did reach Lago, which said 401


async def test_not_configured(gateway: Gateway) -> None:
    body = await gateway.gql(QUERY)
    assert body["data"] == {"me": {"subject": "admin"}, "revenue": None}
    (error,) = body["errors"]
    assert error["path"] == ["revenue"]
    assert error["extensions"] == {"code": "NOT_CONFIGURED", "backend": "lago"}
    assert "LAGO_API_URL" in error["message"]


async def test_a_failing_analytics_endpoint_fails_only_its_field(
    revenue_gw: Gateway, lago: LagoSandbox
) -> None:
    lago.fail("/api/v1/analytics/*", status=500)
    body = await revenue_gw.gql("{ revenue { trends { source } plans { totalCount } } }")
    assert body["data"]["revenue"] == {"trends": None, "plans": {"totalCount": 9}}
    assert [e["path"] for e in body["errors"]] == [["revenue", "trends"]]
    assert body["errors"][0]["extensions"]["code"] == "BACKEND_ERROR"


async def test_readiness_probes_lago(
    gateway_factory: GatewayFactory, lago: LagoSandbox, lago_url: str, refused_url: str
) -> None:
    up = await gateway_factory(**lago.settings_for(lago_url))
    ready = await up.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["lago"]["ok"] is True
    assert lago.counts["GET /api/v1/plans"] == 1
    down = await gateway_factory(lago_api_url=refused_url, lago_api_key="k")
    ready = await down.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["lago"]["ok"] is False


async def test_lago_calls_reach_the_metrics(revenue_gw: Gateway) -> None:
    await revenue_gw.gql("{ revenue { plans { totalCount } } }")
    metrics = (await revenue_gw.client.get("/metrics")).text
    assert 'gateway_backend_calls_total{backend="lago",method="GET",outcome="ok"} 1.0' in metrics
