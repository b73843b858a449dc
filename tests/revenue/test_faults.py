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
    # Slow from the start: no snapshot can be built within the timeout either.
    lago.slow("/api/v1/*", 3.0)
    gw = await gateway_factory(**lago.settings_for(lago_url), backend_timeout=0.2)
    assert_revenue_fields_failed(await gw.gql(QUERY), "BACKEND_TIMEOUT")


async def test_figures_answer_from_the_snapshot_while_lago_fails(
    revenue_gw: Gateway, lago: LagoSandbox
) -> None:
    before = await revenue_gw.data("{ revenue { asOf overview { activeSubscriptions } } }")
    lago.fail("/api/v1/*", status=500, body={"status": 500, "error": "Internal Server Error"})
    body = await revenue_gw.gql(QUERY)
    assert body["data"]["revenue"]["overview"] == before["revenue"]["overview"]
    assert {e["path"][1] for e in body["errors"]} == {"plans", "invoices"}  # lists are live


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("500", 500),
        ("malformed", None),
        ("wrong shape", None),
    ],
)
async def test_lago_errors(
    gateway_factory: GatewayFactory,
    lago: LagoSandbox,
    lago_url: str,
    fault: str,
    status: int | None,
) -> None:
    if fault == "500":
        lago.fail("/api/v1/*", status=500, body={"status": 500, "error": "Internal Server Error"})
    elif fault == "malformed":
        lago.malformed("/api/v1/*")
    else:  # valid JSON that is not Lago's shape
        lago.fail("/api/v1/*", status=200, body={"unexpected": True})
    revenue_gw = await gateway_factory(**lago.settings_for(lago_url))  # after the fault
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
    assert {k: v for k, v in error["extensions"].items() if k != "requestId"} == {
        "code": "NOT_CONFIGURED",
        "backend": "lago",
    }
    assert "LAGO_API_URL" in error["message"]


async def test_a_failing_analytics_endpoint_falls_back_to_computed_figures(
    gateway_factory: GatewayFactory, lago: LagoSandbox, lago_url: str
) -> None:
    lago.fail("/api/v1/analytics/*", status=500)
    gw = await gateway_factory(**lago.settings_for(lago_url))
    body = await gw.data("{ revenue { trends { source } plans { totalCount } } }")
    assert body["revenue"] == {"trends": {"source": "COMPUTED"}, "plans": {"totalCount": 9}}


async def test_readiness_probes_lago(
    gateway_factory: GatewayFactory, lago: LagoSandbox, lago_url: str, refused_url: str
) -> None:
    up = await gateway_factory(**lago.settings_for(lago_url))
    ready = await up.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["lago"]["ok"] is True
    assert lago.counts["GET /api/v1/plans"] >= 1
    down = await gateway_factory(lago_api_url=refused_url, lago_api_key="k")
    ready = await down.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["lago"]["ok"] is False


async def test_lago_calls_reach_the_metrics(revenue_gw: Gateway) -> None:
    line = 'gateway_backend_calls_total{backend="lago",method="GET",outcome="ok"} '

    async def count() -> float:
        text = (await revenue_gw.client.get("/metrics")).text
        return sum(float(x.split()[-1]) for x in text.splitlines() if x.startswith(line))

    await revenue_gw.data("{ revenue { overview { mrr { amountCents } } } }")  # snapshot built
    before = await count()
    await revenue_gw.gql("{ revenue { plans { totalCount } } }")
    assert await count() == before + 1
