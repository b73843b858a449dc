"""Request limits (DESIGN §6): depth, aliases, tokens, body size, rate — never a 500."""

from __future__ import annotations

from graphql import get_introspection_query

from gateway.settings import Limits
from tests.plugins.app import Gateway, GatewayFactory


def _codes(body: dict) -> set[str]:
    return {e["extensions"]["code"] for e in body["errors"]}


async def test_fifty_deep_query_is_too_complex(gateway: Gateway) -> None:
    inner = "name"
    for _ in range(48):
        inner = f"ofType {{ {inner} }}"
    query = f'{{ __type(name: "Query") {{ fields {{ type {{ {inner} }} }} }} }}'
    response = await gateway.post(query)
    assert response.status_code == 400
    assert _codes(response.json()) == {"QUERY_TOO_COMPLEX"}


async def test_thousand_aliases_are_too_complex(gateway: Gateway) -> None:
    query = "{ " + " ".join(f"a{i}: me {{ subject }}" for i in range(1000)) + " }"
    response = await gateway.post(query)
    assert response.status_code == 400
    assert "QUERY_TOO_COMPLEX" in _codes(response.json())


async def test_token_flood_is_too_complex(gateway_factory: GatewayFactory) -> None:
    gw = await gateway_factory(limits=Limits(max_tokens=100, max_aliases=10_000))
    query = "{ " + " ".join("me { subject }" for _ in range(60)) + " }"
    response = await gw.post(query)
    assert response.status_code == 400
    assert _codes(response.json()) == {"QUERY_TOO_COMPLEX"}


async def test_graphiql_introspection_fits_the_default_limits(gateway: Gateway) -> None:
    body = await gateway.gql(get_introspection_query(descriptions=True))
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_five_megabyte_body_gets_413(gateway: Gateway) -> None:
    padding = " " * 5_000_000
    response = await gateway.client.post(
        "/graphql",
        content=b'{"query": "{ me { subject } }' + padding.encode() + b'"}',
        headers={
            "Authorization": f"Bearer {gateway.admin_token}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


async def test_chunked_body_over_the_limit_gets_413(gateway: Gateway) -> None:
    async def chunks():
        for _ in range(50):
            yield b" " * 100_000

    response = await gateway.client.post(
        "/graphql",
        content=chunks(),
        headers={
            "Authorization": f"Bearer {gateway.admin_token}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 413


async def test_malformed_requests_get_400(gateway: Gateway) -> None:
    auth = {"Authorization": f"Bearer {gateway.admin_token}"}
    cases = [
        (b"{not json", "application/json"),
        (b'{"variables": {}}', "application/json"),
        (b'{"query": 42}', "application/json"),
        (b'{"query": "{ me { subject } }", "variables": [1]}', "application/json"),
        (b"null", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"text"', "application/json"),
        (b"query=x", "application/x-www-form-urlencoded"),
        (b'{"query": "subscription { auditEvents { actor } }"}', "application/json"),
        (b'{"query": "{ me { subject } }", "operationName": "Nope"}', "application/json"),
    ]
    for content, ctype in cases:
        response = await gateway.client.post(
            "/graphql", content=content, headers={**auth, "Content-Type": ctype}
        )
        assert response.status_code == 400, (content, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    syntax = await gateway.post("{ me { subject ")
    assert syntax.status_code == 400
    assert _codes(syntax.json()) == {"BAD_USER_INPUT"}
    unknown = await gateway.post("{ nope }")
    assert unknown.status_code == 400
    assert _codes(unknown.json()) == {"BAD_USER_INPUT"}
    bad_var = await gateway.post(
        "query($n: Int!) { access { auditLog(first: $n) { totalCount } } }", {"n": "x"}
    )
    assert bad_var.status_code == 400
    assert _codes(bad_var.json()) == {"BAD_USER_INPUT"}


async def test_get_runs_queries_but_not_mutations(gateway: Gateway) -> None:
    # A GET must say it was not forged (CSRF prevention): Apollo's preflight header.
    auth = {"Authorization": f"Bearer {gateway.admin_token}", "Apollo-Require-Preflight": "1"}
    ok = await gateway.client.get("/graphql", params={"query": "{ me { subject } }"}, headers=auth)
    assert ok.status_code == 200
    assert ok.json()["data"]["me"]["subject"] == "admin"
    mutation = 'mutation { deleteRole(name: "x") { __typename } }'
    refused = await gateway.client.get("/graphql", params={"query": mutation}, headers=auth)
    assert refused.status_code in (400, 405)
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_rate_limit_per_subject(gateway_factory: GatewayFactory) -> None:
    # The bucket alone (no 429 held): GATEWAY_RATE_LIMIT_DELAY has its own tests.
    limits = Limits(rate_per_second=0.5, rate_burst=3, rate_limit_delay=0)
    gw = await gateway_factory(limits=limits)
    statuses = [(await gw.post("{ me { subject } }")).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    limited = await gw.post("{ me { subject } }")
    assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) >= 1
    # Another subject has its own bucket.
    other = await gw.token("viewer")
    assert (await gw.post("{ me { subject } }", token=other)).status_code == 200
