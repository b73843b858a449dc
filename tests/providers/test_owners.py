"""Providers per user (bring-your-own-key): the platform's and one's own are visible; another
subject's exist only for an admin; its own is managed with providers:write. Through HTTP."""

from __future__ import annotations

from typing import Any

from tests.plugins.app import Gateway
from tests.providers.conftest import ServedSandbox
from tests.providers.helpers import CREATE, DELETE, GET, TEST, TOGGLE, UPDATE, create, data

LIST = """query($owner: String, $platform: Boolean) { providers {
  list(owner: $owner, platform: $platform) { totalCount nodes { name owner hasApiKey apiKeyHint } }
} }"""


async def openai(gw: Gateway, sb: ServedSandbox, name: str, **extra: Any) -> dict[str, Any]:
    """An OpenAI provider on the sandbox (``owner=``, ``token=`` as ``create`` takes them)."""
    return await create(
        gw, kind="openai", name=name, base_url=sb.url("openai"), api_key=sb.key("openai"), **extra
    )


async def names(gw: Gateway, token: str, **args: Any) -> list[str]:
    body = await gw.gql(LIST, args, token=token)
    found = data(body, "providers")["list"]
    assert found["totalCount"] == len(found["nodes"])
    return sorted(n["name"] for n in found["nodes"])


async def test_each_sees_the_platform_and_its_own(
    gateway: Gateway, providers_sandbox: ServedSandbox
) -> None:
    sb = providers_sandbox
    alice = await gateway.token("developer", subject="alice")
    bob = await gateway.token("developer", subject="bob")
    viewer = await gateway.token("viewer", subject="vera")
    await openai(gateway, sb, "Platform")
    mine = await openai(gateway, sb, "Mine", owner="alice", token=alice)
    assert mine["__typename"] == "Provider"
    # Names are per owner: bob's "Mine" is no clash, and says nothing about alice's.
    bobs = await openai(gateway, sb, "Mine", owner="bob", token=bob)
    assert bobs["__typename"] == "Provider"

    assert await names(gateway, alice) == ["Mine", "Platform"]
    assert await names(gateway, bob) == ["Mine", "Platform"]
    assert await names(gateway, viewer) == ["Platform"]
    assert await names(gateway, gateway.admin_token) == ["Mine", "Mine", "Platform"]
    assert await names(gateway, gateway.admin_token, owner="bob") == ["Mine"]
    assert await names(gateway, gateway.admin_token, platform=True) == ["Platform"]
    assert await names(gateway, alice, owner="bob") == []  # not alice's to see

    nodes = data(await gateway.gql(LIST, {}, token=alice), "providers")["list"]["nodes"]
    own = next(n for n in nodes if n["name"] == "Mine")
    assert own["owner"] == "alice" and own["hasApiKey"] and own["apiKeyHint"].startswith("…")
    assert sb.key("openai") not in str(nodes)  # never the key itself

    # provider(id): bob's provider does not exist for alice, does for the admin.
    got = await gateway.gql(GET, {"id": bobs["id"]}, token=alice)
    assert data(got, "providers")["provider"] is None
    got = await gateway.gql(GET, {"id": bobs["id"]})
    assert data(got, "providers")["provider"]["name"] == "Mine"


async def test_only_ones_own_or_an_admin_changes_a_provider(
    gateway: Gateway, providers_sandbox: ServedSandbox
) -> None:
    sb = providers_sandbox
    alice = await gateway.token("developer", subject="alice")
    bob = await gateway.token("developer", subject="bob")
    bobs = await openai(gateway, sb, "Bob's", owner="bob", token=bob)
    id = bobs["id"]
    attempts = [
        (UPDATE, {"input": {"id": id, "name": "taken"}}, "updateProvider"),
        (TOGGLE, {"id": id}, "toggleProvider"),
        (TEST, {"id": id}, "testProvider"),
        (DELETE, {"id": id}, "deleteProvider"),
    ]
    for document, variables, field in attempts:
        result = data(await gateway.gql(document, variables, token=alice), field)
        assert (result["__typename"], result["code"]) == ("ProviderError", "NOT_FOUND"), field

    # Bob manages his own with providers:write; the admin may too.
    renamed = data(await gateway.gql(UPDATE, {"input": {"id": id, "name": "B"}}, token=bob),
                   "updateProvider")  # fmt: skip
    assert renamed["name"] == "B"
    tested = data(await gateway.gql(TEST, {"id": id}, token=bob), "testProvider")
    assert tested["__typename"] == "ProviderTestResult" and tested["ok"]
    toggled = data(await gateway.gql(TOGGLE, {"id": id}), "toggleProvider")
    assert toggled["enabled"] is False
    # providers:write is enough to delete one's own, not the platform's.
    platform = await openai(gateway, sb, "P")
    kept = data(await gateway.gql(DELETE, {"id": platform["id"]}, token=bob), "deleteProvider")
    assert kept["code"] == "FORBIDDEN"
    gone = data(await gateway.gql(DELETE, {"id": id}, token=bob), "deleteProvider")
    assert gone["__typename"] == "DeletedProvider"


async def test_creating_for_someone_else_needs_an_admin(
    gateway: Gateway, providers_sandbox: ServedSandbox
) -> None:
    sb = providers_sandbox
    alice = await gateway.token("developer", subject="alice")
    payload = {"name": "For bob", "kind": "OPENAI", "baseUrl": sb.url("openai"),
               "apiKey": sb.key("openai"), "owner": "bob"}  # fmt: skip
    refused = data(await gateway.gql(CREATE, {"input": payload}, token=alice), "createProvider")
    assert (refused["code"], refused["field"]) == ("FORBIDDEN", "owner")
    made = data(await gateway.gql(CREATE, {"input": payload}), "createProvider")
    assert made["__typename"] == "Provider"
    bob = await gateway.token("developer", subject="bob")
    assert await names(gateway, bob) == ["For bob"]
    viewer = await gateway.token("viewer", subject="bob")
    mine = {**payload, "name": "Viewer's", "owner": "bob"}
    body = await gateway.gql(CREATE, {"input": mine}, token=viewer)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # no providers:write
