"""The non-GraphQL routes: health, readiness, metrics, and the GraphiQL page."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.plugins.app import Gateway


async def test_healthz_and_readyz(gateway: Gateway) -> None:
    health = await gateway.client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["store"]["ok"] is True


async def test_readyz_is_503_when_the_store_is_gone(gateway: Gateway) -> None:
    await gateway.services.store.close()
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["store"]["ok"] is False
    await gateway.services.store.open()


async def test_metrics_count_operations_status_and_websockets(gateway: Gateway) -> None:
    await gateway.post("query Dashboard { me { subject } }")
    await gateway.post("query Broken { access { auditLog(first: -1) { totalCount } } }")
    await gateway.post("{ me { subject } }", token=None)
    text = (await gateway.client.get("/metrics")).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert (
        value("gateway_graphql_operations_total", operation="Dashboard", type="query", outcome="ok")
        == 1
    )
    assert (
        value("gateway_graphql_operations_total", operation="Broken", type="query", outcome="error")
        == 1
    )
    assert value("gateway_http_requests_total", route="/graphql", status="200") == 2
    assert value("gateway_http_requests_total", route="/graphql", status="401") == 1
    assert (
        value(
            "gateway_graphql_operation_duration_seconds_count", operation="Dashboard", type="query"
        )
        == 1
    )
    assert ("gateway_websocket_connections", ()) in samples


async def test_browser_gets_graphiql_without_a_cdn(gateway: Gateway) -> None:
    page = await gateway.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "graphiql" in html.lower()
    assert "https://" not in html
    assert "unpkg" not in html and "jsdelivr" not in html
    asset = await gateway.client.get("/graphiql/graphiql.min.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
