"""CSRF prevention (Apollo Server's rule) and CORS for a dashboard on another origin."""

from __future__ import annotations

import pytest

from gateway.settings import WebSettings
from tests.plugins.app import Gateway, GatewayFactory

QUERY = "{ me { subject } }"


def bearer(gw: Gateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {gw.admin_token}"}


async def test_a_get_without_preflight_proof_is_refused(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/graphql", params={"query": QUERY}, headers=bearer(gateway)
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Cross-Site Request Forgery" in error["message"]


@pytest.mark.parametrize("header", ["X-Apollo-Operation-Name", "Apollo-Require-Preflight"])
async def test_a_get_with_a_preflight_header_runs(gateway: Gateway, header: str) -> None:
    headers = {**bearer(gateway), header: "Me"}
    response = await gateway.client.get("/graphql", params={"query": QUERY}, headers=headers)
    assert response.json() == {"data": {"me": {"subject": "admin"}}}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
async def test_a_simple_post_is_refused(gateway: Gateway, content_type: str) -> None:
    headers = {**bearer(gateway), "Content-Type": content_type}
    response = await gateway.client.post(
        "/graphql", content=f'{{"query": "{QUERY}"}}', headers=headers
    )
    assert response.status_code == 400
    assert "Cross-Site Request Forgery" in response.json()["errors"][0]["message"]


async def test_json_posts_need_nothing_more(gateway: Gateway) -> None:
    response = await gateway.client.post("/graphql", json={"query": QUERY}, headers=bearer(gateway))
    assert response.status_code == 200


async def test_csrf_prevention_can_be_turned_off(gateway_factory: GatewayFactory) -> None:
    gw = await gateway_factory(web=WebSettings(csrf_prevention=False))
    response = await gw.client.get("/graphql", params={"query": QUERY}, headers=bearer(gw))
    assert response.json() == {"data": {"me": {"subject": "admin"}}}


async def test_cors_preflight_and_answer(gateway_factory: GatewayFactory) -> None:
    origin = "https://dashboard.example.com"
    gw = await gateway_factory(web=WebSettings(cors_origins=(origin,)))
    preflight = await gw.client.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in preflight.headers["access-control-allow-methods"]

    answer = await gw.client.post(
        "/graphql", json={"query": QUERY}, headers={**bearer(gw), "Origin": origin}
    )
    assert answer.headers["access-control-allow-origin"] == origin
    assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()

    other = await gw.client.options(
        "/graphql",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


async def test_no_cors_headers_by_default(gateway: Gateway) -> None:
    answer = await gateway.client.post(
        "/graphql",
        json={"query": QUERY},
        headers={**bearer(gateway), "Origin": "https://x.example"},
    )
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
