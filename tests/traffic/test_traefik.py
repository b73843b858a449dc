"""traffic { ... } on the Traefik sandbox served over HTTP: every Traefik field."""

from __future__ import annotations

import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.traffic.conftest import Traffic


def data(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    return body["data"]["traffic"]


async def test_overview_counts_providers_health_and_certificates(traffic: Traffic) -> None:
    body = await traffic.gw.gql(
        "{ traffic { overview { version routers { total warnings errors } services { total }"
        " middlewares { total } providers features serviceHealth { health count }"
        " certificates expiringCertificates expiringIn90: expiringCertificates(days: 90) } } }"
    )
    o = data(body)["overview"]
    assert o["version"] == "3.1.6"
    # seeded docker/internal routers (5) + grafana@file from the watched directory
    assert o["routers"] == {"total": 6, "warnings": 0, "errors": 1}
    assert o["services"]["total"] == 6
    assert o["middlewares"]["total"] == 2
    assert o["providers"] == ["Docker", "File"]
    assert o["features"]["metrics"] == "Prometheus"
    health = {h["health"]: h["count"] for h in o["serviceHealth"]}
    assert health == {"HEALTHY": 3, "DEGRADED": 1, "DOWN": 0, "UNKNOWN": 2}
    # acme.json holds 3 certificates: 5, 60 and 20 days left
    assert o["certificates"] == 3
    assert o["expiringCertificates"] == 2
    assert o["expiringIn90"] == 3


async def test_version_and_entry_points(traffic: Traffic) -> None:
    t = data(
        await traffic.gw.gql(
            "{ traffic { version { version codename startDate } entryPoints { name address } } }"
        )
    )
    assert t["version"] == {
        "version": "3.1.6",
        "codename": "comte",
        "startDate": "2025-01-06T08:00:00.000000000Z",
    }
    assert {e["name"]: e["address"] for e in t["entryPoints"]} == {
        "web": ":80",
        "websecure": ":443",
        "traefik": ":8080",
    }


async def test_routers_with_filters_and_relay_paging(traffic: Traffic) -> None:
    q = """query($after: String) { traffic { routers(provider: "docker", first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { name provider rule service entryPoints middlewares status priority tls errors using } } } }"""
    first = data(await traffic.gw.gql(q))["routers"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
    gateway = first["nodes"][0]
    assert gateway["name"] == "gateway@docker"
    assert gateway["rule"] == "Host(`ops.example.com`)"
    assert gateway["tls"] == {"certResolver": "letsencrypt"}
    assert gateway["middlewares"] == ["compress@docker", "ratelimit@file"]
    cursor = first["pageInfo"]["endCursor"]
    rest = data(await traffic.gw.gql(q, {"after": cursor}))["routers"]
    assert [n["name"] for n in rest["nodes"]] == ["legacy@docker"]
    legacy = rest["nodes"][0]
    assert legacy["status"] == "disabled"
    assert legacy["errors"] == ['middleware "missing@docker" does not exist']
    assert not rest["pageInfo"]["hasNextPage"]
    internal = data(
        await traffic.gw.gql('{ traffic { routers(search: "api") { nodes { name priority } } } }')
    )
    assert internal["routers"]["nodes"] == [{"name": "api@internal", "priority": 2147483646.0}]


async def test_services_health_servers_and_load_balancer(traffic: Traffic) -> None:
    q = """{ traffic { services { totalCount nodes { name provider type status usedBy health
        servers { url status } loadBalancer { servers up down passHostHeader healthCheck } } } } }"""
    nodes = {n["name"]: n for n in data(await traffic.gw.gql(q))["services"]["nodes"]}
    assert set(nodes) == {
        "api@internal",
        "dashboard@internal",
        "gateway@docker",
        "lago@docker",
        "legacy@docker",
        "grafana@file",
    }
    legacy = nodes["legacy@docker"]
    assert legacy["health"] == "DEGRADED"
    assert legacy["loadBalancer"]["up"] == 1 and legacy["loadBalancer"]["down"] == 1
    assert {"url": "http://172.18.0.10:8080", "status": "DOWN"} in legacy["servers"]
    gateway = nodes["gateway@docker"]
    assert gateway["health"] == "HEALTHY"
    assert gateway["usedBy"] == ["gateway@docker"]
    assert gateway["loadBalancer"]["healthCheck"] == {"path": "/healthz", "interval": "10s"}
    assert nodes["api@internal"]["health"] == "UNKNOWN"
    assert nodes["api@internal"]["loadBalancer"] is None
    assert nodes["grafana@file"]["servers"] == [{"url": "http://10.0.0.7:3000", "status": "UP"}]

    traffic.traefik.state.set_down("http://10.0.0.7:3000")
    after = data(await traffic.gw.gql('{ traffic { service(name: "grafana@file") { health } } }'))
    assert after["service"]["health"] == "DOWN"


async def test_service_by_name_with_metrics(traffic: Traffic) -> None:
    q = """{ traffic { service(name: "gateway@docker") { name health raw
        traffic { requests requestsByCode { code count } errors errorRate meanLatencySeconds
                  p50LatencySeconds p95LatencySeconds p99LatencySeconds retries requestBytes responseBytes } }
        missing: service(name: "nope@file") { name } } }"""
    t = data(await traffic.gw.gql(q))
    assert t["missing"] is None
    s = t["service"]
    assert s["raw"]["loadBalancer"]["passHostHeader"] is True
    # Independent reading of the same /metrics text.
    text = await traffic.gw.services.backends.traefik.metrics_text()
    codes: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "traefik_service_requests_total"
                and sample.labels["service"] == "gateway@docker"
            ):
                codes[sample.labels["code"]] = int(sample.value)
    m = s["traffic"]
    assert {c["code"]: c["count"] for c in m["requestsByCode"]} == codes
    assert m["requests"] == sum(codes.values())
    assert m["errors"] == codes["500"]
    assert abs(m["errorRate"] - codes["500"] / sum(codes.values())) < 1e-9
    assert 0 < m["p50LatencySeconds"] <= 0.3 < m["p95LatencySeconds"] <= 1.2
    assert m["p99LatencySeconds"] >= m["p95LatencySeconds"]
    assert 0.08 <= m["meanLatencySeconds"] <= 0.13
    assert m["requestBytes"] == m["requests"] * 420

    traffic.traefik.state.record("gateway@docker", "500", 1000)
    traffic.gw.services.backends.traefik.metrics_max_age = 0  # parsed metrics are shared 1 s
    again = data(await traffic.gw.gql(q))["service"]["traffic"]
    assert again["errors"] == m["errors"] + 1000


async def test_middlewares(traffic: Traffic) -> None:
    q = "{ traffic { middlewares { totalCount nodes { name provider type status usedBy errors config } } } }"
    nodes = {n["name"]: n for n in data(await traffic.gw.gql(q))["middlewares"]["nodes"]}
    assert set(nodes) == {"compress@docker", "auth@docker"}
    assert nodes["compress@docker"]["usedBy"] == ["gateway@docker"]
    assert nodes["auth@docker"]["type"] == "basicauth"
    assert nodes["auth@docker"]["config"]["users"][0].startswith("admin:")


async def test_metrics_json_and_csv(traffic: Traffic) -> None:
    q = """query($f: MetricsFormat!, $m: String) { traffic { metrics(format: $f, match: $m) {
        format contentType samples generatedAt body } } }"""
    as_json = data(await traffic.gw.gql(q, {"f": "JSON", "m": "server_up"}))["metrics"]
    rows = json.loads(as_json["body"])
    assert as_json["contentType"] == "application/json"
    assert len(rows) == as_json["samples"] == 6  # gateway 2, lago 1, legacy 2, grafana 1
    down = [r for r in rows if r["value"] == 0]
    assert down == [
        {
            "timestamp": down[0]["timestamp"],
            "metric": "traefik_service_server_up",
            "labels": {"service": "legacy@docker", "url": "http://172.18.0.10:8080"},
            "value": 0.0,
            "unit": "",
        }
    ]
    as_csv = data(await traffic.gw.gql(q, {"f": "CSV", "m": "traefik_service_requests_total"}))
    lines = as_csv["metrics"]["body"].splitlines()
    assert lines[0] == "timestamp,metric,labels,value,unit"
    assert len(lines) == as_csv["metrics"]["samples"] + 1
    first = lines[1].split(",")
    assert first[1] == "traefik_service_requests_total"
    assert first[2] == "code=200;method=GET;protocol=http;service=gateway@docker"
    assert first[4] == "count"
    histogram = data(await traffic.gw.gql(q, {"f": "CSV", "m": "duration_seconds_sum"}))
    assert histogram["metrics"]["body"].splitlines()[1].endswith(",seconds")


async def test_paging_follows_x_next_page_and_loaders_share_calls(traffic: Traffic) -> None:
    traffic.gw.services.backends.traefik.per_page = 2
    traffic.traefik.reset_counts()
    q = '{ traffic { overview { serviceHealth { count } } a: service(name: "lago@docker") { name } } }'
    data(await traffic.gw.gql(q))
    # The overview's health counts list every service: 6 at 2 per page, following
    # X-Next-Page (pages 1-3); one GET for `a`.
    assert traffic.traefik.counts["GET /api/http/services"] == 3
    assert traffic.traefik.counts["GET /api/http/services/lago@docker"] == 1


async def test_a_page_costs_the_traefik_pages_that_cover_it(traffic: Traffic) -> None:
    traefik = traffic.traefik
    names = [
        n["name"]
        for n in data(
            await traffic.gw.gql("{ traffic { services(first: 50) { nodes { name } } } }")
        )["services"]["nodes"]
    ]
    traffic.gw.services.backends.traefik.per_page = 2
    traefik.reset_counts()
    q = "query($a: String) { traffic { services(first: 2, after: $a) { totalCount pageInfo { hasNextPage endCursor } nodes { name } } } }"
    seen, after = [], None
    while True:
        t = data(await traffic.gw.gql(q, {"a": after}))["services"]
        seen += [n["name"] for n in t["nodes"]]
        assert t["totalCount"] == len(names)
        after = t["pageInfo"]["endCursor"]
        if not t["pageInfo"]["hasNextPage"]:
            break
    assert seen == names
    # One Traefik page per connection page; totalCount from /api/overview (no filter).
    pages = -(-len(names) // 2)
    assert traefik.counts["GET /api/http/services"] == pages
    assert traefik.counts["GET /api/overview"] == pages
    traefik.reset_counts()
    data(
        await traffic.gw.gql(
            '{ traffic { services(first: 2, status: "enabled") { nodes { name } } } }'
        )
    )
    assert traefik.counts["GET /api/http/services"] == 1  # filtered by Traefik, no total asked


async def test_traefik_down_nulls_only_its_fields(traffic_factory: Any, refused_url: str) -> None:
    t = await traffic_factory(traefik_api_url=refused_url)
    body = await t.gw.gql(
        "{ me { subject } traffic { overview { version certificates } services { totalCount }"
        " certificates { totalCount } } }"
    )
    assert body["data"]["me"]["subject"] == "admin"
    tr = body["data"]["traffic"]
    assert tr["services"] is None and tr["overview"]["version"] is None
    assert tr["overview"]["certificates"] == 3
    assert tr["certificates"]["totalCount"] == 3
    errors = {tuple(e["path"]): e["extensions"] for e in body["errors"]}
    assert errors[("traffic", "services")]["code"] == "BACKEND_UNAVAILABLE"
    assert errors[("traffic", "services")]["backend"] == "traefik"
    assert errors[("traffic", "overview", "version")]["code"] == "BACKEND_UNAVAILABLE"
    assert len(errors) == 2


async def test_failing_metrics_null_only_the_traffic_field(traffic: Traffic) -> None:
    traffic.traefik.fail("/metrics", status=500, body="boom")
    body = await traffic.gw.gql(
        '{ traffic { service(name: "lago@docker") { name health traffic { requests } } } }'
    )
    assert body["data"]["traffic"]["service"] == {
        "name": "lago@docker",
        "health": "HEALTHY",
        "traffic": None,
    }
    assert body["errors"][0]["path"] == ["traffic", "service", "traffic"]
    assert body["errors"][0]["extensions"]["code"] == "BACKEND_ERROR"


async def test_unconfigured_traefik_says_so(traffic_factory: Any) -> None:
    t = await traffic_factory(traefik_api_url=None)
    body = await t.gw.gql("{ traffic { routers { totalCount } } }")
    assert body["data"]["traffic"]["routers"] is None
    assert {k: v for k, v in body["errors"][0]["extensions"].items() if k != "requestId"} == {
        "code": "NOT_CONFIGURED",
        "backend": "traefik",
    }


async def test_each_part_is_guarded_by_its_resource(traffic: Traffic) -> None:
    gw = traffic.gw
    made = await gw.gql(
        'mutation { createRole(input: {name: "certs-only", permissions: [{resource: CERTIFICATES, action: READ}]}) { __typename } }'
    )
    assert made["data"]["createRole"]["__typename"] == "Role"
    token = await gw.token("certs-only")
    body = await gw.gql(
        "{ traffic { certificates { totalCount } services { totalCount } overview { certificates version } } }",
        token=token,
    )
    tr = body["data"]["traffic"]
    assert tr["certificates"]["totalCount"] == 3
    assert tr["services"] is None
    assert tr["overview"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    await gw.gql('mutation { createRole(input: {name: "nothing"}) { __typename } }')
    nobody = await gw.token("nothing")  # no traffic resource at all
    denied = await gw.gql("{ traffic { certificates { totalCount } } }", token=nobody)
    assert denied["data"]["traffic"] is None
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
