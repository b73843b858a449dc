"""Automatic persisted queries (Apollo's protocol) over POST and GET, through real HTTP."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from gateway.settings import WebSettings
from tests.plugins.app import Gateway, GatewayFactory

QUERY = "query Me { me { subject } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()


def persisted(sha256: str = HASH) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def auth(gw: Gateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {gw.admin_token}", "Apollo-Require-Preflight": "true"}


def code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def test_unknown_hash_then_register_then_hash_alone(gateway: Gateway) -> None:
    unknown = await gateway.client.post(
        "/graphql", json={"extensions": persisted()}, headers=auth(gateway)
    )
    # As Apollo Server answers it, so Apollo Client's link retries with the document.
    assert unknown.status_code == 200
    assert code(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert "no-cache" in unknown.headers["cache-control"]

    registered = await gateway.client.post(
        "/graphql", json={"query": QUERY, "extensions": persisted()}, headers=auth(gateway)
    )
    assert registered.json() == {"data": {"me": {"subject": "admin"}}}

    by_hash = await gateway.client.post(
        "/graphql", json={"extensions": persisted()}, headers=auth(gateway)
    )
    assert by_hash.json() == {"data": {"me": {"subject": "admin"}}}


async def test_get_with_hash_alone(gateway: Gateway) -> None:
    params = {"extensions": json.dumps(persisted())}
    first = await gateway.client.get("/graphql", params=params, headers=auth(gateway))
    assert code(first) == "PERSISTED_QUERY_NOT_FOUND"
    register = await gateway.client.get(
        "/graphql", params={**params, "query": QUERY}, headers=auth(gateway)
    )
    assert register.json()["data"]["me"]["subject"] == "admin"
    again = await gateway.client.get("/graphql", params=params, headers=auth(gateway))
    assert again.status_code == 200
    assert again.json()["data"]["me"]["subject"] == "admin"


async def test_the_hash_is_verified(gateway: Gateway) -> None:
    wrong = "0" * 64
    response = await gateway.client.post(
        "/graphql", json={"query": QUERY, "extensions": persisted(wrong)}, headers=auth(gateway)
    )
    assert response.status_code == 400
    assert code(response) == "BAD_USER_INPUT"
    assert "does not match" in response.json()["errors"][0]["message"]
    # Nothing was registered under the wrong hash.
    later = await gateway.client.post(
        "/graphql", json={"extensions": persisted(wrong)}, headers=auth(gateway)
    )
    assert code(later) == "PERSISTED_QUERY_NOT_FOUND"


async def test_bad_persisted_query_extensions_are_400(gateway: Gateway) -> None:
    for ext in (
        {"persistedQuery": {"version": 2, "sha256Hash": HASH}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}},
        {"persistedQuery": "yes"},
    ):
        response = await gateway.client.post(
            "/graphql", json={"extensions": ext}, headers=auth(gateway)
        )
        assert response.status_code == 400, ext
        assert code(response) == "BAD_USER_INPUT"


async def test_an_invalid_document_is_not_registered(gateway: Gateway) -> None:
    bad = "{ me { noSuchField } }"
    sha = hashlib.sha256(bad.encode()).hexdigest()
    response = await gateway.client.post(
        "/graphql", json={"query": bad, "extensions": persisted(sha)}, headers=auth(gateway)
    )
    assert code(response) == "BAD_USER_INPUT"
    later = await gateway.client.post(
        "/graphql", json={"extensions": persisted(sha)}, headers=auth(gateway)
    )
    assert code(later) == "PERSISTED_QUERY_NOT_FOUND"
    assert await gateway.services.store.count("persisted_queries") == 0


async def test_registered_on_one_replica_runs_on_another(
    live_gateway_factory: GatewayFactory,
) -> None:
    one = await live_gateway_factory()  # both on one SQLite store, as replicas share one
    two = await live_gateway_factory()
    await one.client.post(
        "/graphql", json={"query": QUERY, "extensions": persisted()}, headers=auth(one)
    )
    response = await two.client.post(
        "/graphql", json={"extensions": persisted()}, headers=auth(two)
    )
    assert response.json()["data"]["me"]["subject"] == "admin"


async def test_the_set_is_bounded(gateway_factory: GatewayFactory) -> None:
    gw = await gateway_factory(web=WebSettings(apq_max_entries=3))
    hashes = []
    for n in range(6):
        query = f"query Q{n} {{ me {{ subject }} }}"
        sha = hashlib.sha256(query.encode()).hexdigest()
        hashes.append(sha)
        ok = await gw.client.post(
            "/graphql", json={"query": query, "extensions": persisted(sha)}, headers=auth(gw)
        )
        assert ok.json()["data"]["me"]["subject"] == "admin"
    assert await gw.services.store.count("persisted_queries") == 3
    # The newest one is always kept.
    last = await gw.client.post(
        "/graphql", json={"extensions": persisted(hashes[-1])}, headers=auth(gw)
    )
    assert last.json()["data"]["me"]["subject"] == "admin"
