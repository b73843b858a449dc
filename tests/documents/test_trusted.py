"""Trusted documents (GATEWAY_DOCUMENTS): by id, by body, by persisted-query hash; free-form
documents refused with a code, except for the callers the mode exempts; over HTTP and the
websocket."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from gateway.documents import ManifestDocument
from gateway.settings import WebSettings
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.ws import next_data, recv_type, send, session, until_live
from tests.usage.helpers import event, post_events

ME = "query Me {\n  me {\n    subject\n  }\n}"
ROLES = "query Roles { access { roles { name } } }"
LIVE = "subscription Live { usageEvents { id subject } }"
DOCS = [
    ManifestDocument(id="me-v1", body=ME, name="Me", type="query"),
    ManifestDocument(id=hashlib.sha256(ROLES.encode()).hexdigest(), body=ROLES),
    ManifestDocument(id="live-v1", body=LIVE, name="Live", type="subscription"),
]


async def trusted_gateway(factory: GatewayFactory, mode: str) -> Gateway:
    gw = await factory(web=WebSettings(documents=mode, documents_cache_seconds=0))
    await gw.services.documents.registry.import_documents(DOCS, source="test")
    return gw


async def post(gw: Gateway, body: dict[str, Any], token: str) -> httpx.Response:
    return await gw.client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


def code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.mark.parametrize("role", ["admin", "viewer"])
async def test_trusted_mode_runs_only_trusted_documents(
    gateway_factory: GatewayFactory, role: str
) -> None:
    gw = await trusted_gateway(gateway_factory, "trusted")
    token = await gw.token(role)
    by_id = await post(gw, {"documentId": "me-v1"}, token)
    assert by_id.json()["data"]["me"]["subject"] == f"test-{role}"
    free = await post(gw, {"query": "{ me { roles } }"}, token)
    assert free.status_code == 400
    assert code(free) == "QUERY_NOT_IN_SAFELIST"
    assert "data" not in free.json()
    unknown = await post(gw, {"documentId": "nope"}, token)
    assert (unknown.status_code, code(unknown)) == (400, "PERSISTED_QUERY_NOT_IN_LIST")


async def test_a_trusted_body_may_be_sent_as_text(gateway_factory: GatewayFactory) -> None:
    gw = await trusted_gateway(gateway_factory, "trusted")
    token = await gw.token("viewer")
    # Re-indented, as GraphiQL or a formatter would leave it: still the trusted document.
    response = await post(gw, {"query": "query Me { me { subject } }"}, token)
    assert response.json() == {"data": {"me": {"subject": "test-viewer"}}}


async def test_apollo_hashes_name_trusted_documents(gateway_factory: GatewayFactory) -> None:
    gw = await trusted_gateway(gateway_factory, "trusted")
    token = await gw.token("analyst")
    # The hash of a trusted body (what Apollo's link sends), whatever the document's id.
    sha = hashlib.sha256(ME.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
    by_hash = await post(gw, {"extensions": ext}, token)
    assert by_hash.json()["data"]["me"]["subject"] == "test-analyst"
    # A client trying to register a document of its own: refused, nothing stored.
    other = "{ me { roles } }"
    ext = {
        "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(other.encode()).hexdigest()}
    }
    refused = await post(gw, {"query": other, "extensions": ext}, token)
    assert code(refused) == "QUERY_NOT_IN_SAFELIST"
    unknown = await post(gw, {"extensions": ext}, token)
    assert code(unknown) == "PERSISTED_QUERY_NOT_IN_LIST"
    assert await gw.services.store.count("persisted_queries") == 0


async def test_trusted_except_admins(gateway_factory: GatewayFactory) -> None:
    gw = await trusted_gateway(gateway_factory, "trusted-except-admins")
    admin = await post(gw, {"query": "{ me { subject } }"}, gw.admin_token)
    assert admin.json() == {"data": {"me": {"subject": "admin"}}}
    for role in ("moderator", "viewer"):
        refused = await post(gw, {"query": "{ me { subject } }"}, await gw.token(role))
        assert code(refused) == "QUERY_NOT_IN_SAFELIST", role
    viewer = await post(gw, {"documentId": "me-v1"}, await gw.token("viewer"))
    assert viewer.json()["data"]["me"]["subject"] == "test-viewer"


async def test_revoked_documents_stop_running(gateway_factory: GatewayFactory) -> None:
    gw = await trusted_gateway(gateway_factory, "trusted")
    token = await gw.token("viewer")
    assert (await post(gw, {"documentId": "me-v1"}, token)).status_code == 200
    assert await gw.services.documents.registry.revoke("me-v1")
    gone = await post(gw, {"documentId": "me-v1"}, token)
    assert code(gone) == "PERSISTED_QUERY_NOT_IN_LIST"
    body = await post(gw, {"query": ME}, token)
    assert code(body) == "QUERY_NOT_IN_SAFELIST"


async def test_document_id_and_query_together_are_refused(gateway: Gateway) -> None:
    response = await post(
        gateway, {"documentId": "x", "query": "{ me { subject } }"}, gateway.admin_token
    )
    assert (response.status_code, code(response)) == (400, "BAD_USER_INPUT")
    wrong_type = await post(gateway, {"documentId": 7}, gateway.admin_token)
    assert (wrong_type.status_code, code(wrong_type)) == (400, "BAD_USER_INPUT")


async def test_get_by_document_id(gateway_factory: GatewayFactory) -> None:
    gw = await trusted_gateway(gateway_factory, "trusted")
    headers = {
        "Authorization": f"Bearer {await gw.token('viewer')}",
        "X-Apollo-Operation-Name": "Me",
    }
    response = await gw.client.get("/graphql", params={"documentId": "me-v1"}, headers=headers)
    assert response.json() == {"data": {"me": {"subject": "test-viewer"}}}


async def test_websocket_subscribes_by_id_and_refuses_free_form(
    live_gateway_factory: GatewayFactory,
) -> None:
    gw = await live_gateway_factory(web=WebSettings(documents="trusted", documents_cache_seconds=0))
    await gw.services.documents.registry.import_documents(DOCS, source="test")
    developer = await gw.token("developer")
    async with session(gw, await gw.token("analyst")) as ws:
        free = {"query": "subscription { usageEvents { id } }"}
        await send(ws, {"id": "free", "type": "subscribe", "payload": free})
        refused = await recv_type(ws, "error")
        assert refused["id"] == "free"
        assert refused["payload"][0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"
        await send(ws, {"id": "live", "type": "subscribe", "payload": {"documentId": "live-v1"}})

        async def probe(i: int) -> None:
            await post_events(gw.client, [event(f"doc-{i}", subject="ws-user")], developer)

        seen = await until_live(probe, lambda: next_data(ws, 0.25))
        assert seen["usageEvents"]["subject"] == "ws-user"
