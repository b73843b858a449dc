"""createProvider updateProvider deleteProvider toggleProvider and the queries, with their
validation failures as data."""

from __future__ import annotations

from tests.plugins.app import Gateway
from tests.providers.conftest import ServedSandbox
from tests.providers.helpers import DELETE, GET, TOGGLE, create, data, probe, update

KEY = "sk-proj-abcdefghijklmnop3f9a"
LIST = """query($first: Int, $after: String, $kind: ProviderKind, $enabled: Boolean,
  $search: String) { providers { list(first: $first, after: $after, kind: $kind,
  enabled: $enabled, search: $search) { totalCount pageInfo { hasNextPage endCursor }
  nodes { name kind enabled } } } }"""


async def test_create_uses_kind_defaults_and_shows_only_a_hint(gateway: Gateway) -> None:
    provider = await create(gateway, kind="openai", name=" Main OpenAI ", api_key=f" {KEY} ")
    assert provider["__typename"] == "Provider"
    assert provider["name"] == "Main OpenAI" and provider["kind"] == "OPENAI"
    assert provider["baseUrl"] == "https://api.openai.com/v1" and provider["usesDefaultBaseUrl"]
    assert provider["hasApiKey"] and provider["apiKeyHint"] == "…3f9a"
    assert provider["enabled"] is True and provider["version"] == 1
    assert provider["createdBy"] == "admin" and provider["lastTest"] is None
    assert provider["kindInfo"] == {"label": "OpenAI", "authStyle": "BEARER", "keyRequired": True}
    short = await create(gateway, kind="vllm", name="short key", api_key="abc12345")
    assert short["apiKeyHint"] == "…"  # four of eight characters would be half the key
    local = await create(gateway, kind="ollama", name="local")
    assert local["hasApiKey"] is False and local["apiKeyHint"] is None


async def test_create_validates_as_data(gateway: Gateway) -> None:
    cases = [
        ({"kind": "openai"}, "apiKey", "INVALID"),  # OpenAI needs a key
        ({"kind": "custom", "api_key": KEY}, "baseUrl", "INVALID"),  # custom needs a URL
        ({"kind": "vllm", "name": "  "}, "name", "INVALID"),
        ({"kind": "vllm", "name": "x" * 81}, "name", "INVALID"),
        ({"kind": "vllm", "api_key": "two words"}, "apiKey", "INVALID"),
        ({"kind": "vllm", "base_url": "ftp://files.example.com"}, "baseUrl", "INVALID"),
        ({"kind": "vllm", "base_url": "http://u:p@example.com/v1"}, "baseUrl", "INVALID"),
        ({"kind": "vllm", "base_url": "http://example.com/v1?x=1"}, "baseUrl", "INVALID"),
        ({"kind": "vllm", "base_url": "http://169.254.169.254/v1"}, "baseUrl", "BLOCKED_URL"),
    ]
    for overrides, field, code in cases:
        error = await create(gateway, **overrides)
        assert error["__typename"] == "ProviderError", (overrides, error)
        assert (error["field"], error["code"]) == (field, code), (overrides, error)
    await create(gateway, kind="ollama", name="Local")
    duplicate = await create(gateway, kind="vllm", name="LOCAL")
    assert (duplicate["field"], duplicate["code"]) == ("name", "ALREADY_EXISTS")
    body = await gateway.gql("{ providers { list { totalCount } } }")
    assert body["data"]["providers"]["list"]["totalCount"] == 1  # nothing half-created


async def test_update_toggle_delete(gateway: Gateway, providers_sandbox: ServedSandbox) -> None:
    sb = providers_sandbox
    p = await create(gateway, kind="vllm", base_url=sb.url("vllm"), api_key=sb.key("vllm"))
    assert (await probe(gateway, p["id"]))["ok"]

    renamed = await update(gateway, id=p["id"], name="Cluster A", expectedVersion=p["version"])
    assert renamed["name"] == "Cluster A" and renamed["version"] == p["version"] + 1
    assert renamed["lastTest"]["ok"] is True  # a rename does not invalidate the last test
    stale = await update(gateway, id=p["id"], name="Cluster B", expectedVersion=p["version"])
    assert (stale["code"], stale["field"]) == ("CONFLICT", "expectedVersion")

    off = data(await gateway.gql(TOGGLE, {"id": p["id"]}), "toggleProvider")
    assert off["enabled"] is False and off["lastTest"] is not None
    same = data(await gateway.gql(TOGGLE, {"id": p["id"], "enabled": False}), "toggleProvider")
    assert same["enabled"] is False and same["version"] == off["version"]  # no-op
    assert (await probe(gateway, p["id"]))["ok"]  # disabled providers can still be tested
    on = data(await gateway.gql(TOGGLE, {"id": p["id"]}), "toggleProvider")
    assert on["enabled"] is True

    rekeyed = await update(gateway, id=p["id"], apiKey="vllm-other-token-9Zz9")
    assert rekeyed["apiKeyHint"] == "…9Zz9" and rekeyed["lastTest"] is None  # stale now
    keyless = await update(gateway, id=p["id"], apiKey=None)
    assert keyless["hasApiKey"] is False and keyless["apiKeyHint"] is None
    reset = await update(gateway, id=p["id"], baseUrl=None)
    assert reset["baseUrl"] == "http://localhost:8000/v1" and reset["usesDefaultBaseUrl"]
    unchanged = await update(gateway, id=p["id"])
    assert unchanged["version"] == reset["version"]

    openai = await create(gateway, kind="openai", api_key=KEY)
    no_key = await update(gateway, id=openai["id"], apiKey=None)
    assert (no_key["field"], no_key["code"]) == ("apiKey", "INVALID")

    deleted = data(await gateway.gql(DELETE, {"id": p["id"], "v": 1}), "deleteProvider")
    assert deleted["code"] == "CONFLICT"
    deleted = data(await gateway.gql(DELETE, {"id": p["id"]}), "deleteProvider")
    assert deleted == {"__typename": "DeletedProvider", "id": p["id"], "name": "Cluster A"}
    assert (await gateway.gql(GET, {"id": p["id"]}))["data"]["providers"]["provider"] is None
    again = data(await gateway.gql(DELETE, {"id": p["id"]}), "deleteProvider")
    assert (again["code"], again["field"]) == ("NOT_FOUND", "id")
    assert await gateway.services.store.get("provider_tests", p["id"]) is None
    missing = await probe(gateway, p["id"])
    assert missing["__typename"] == "ProviderError" and missing["code"] == "NOT_FOUND"
    toggled = data(await gateway.gql(TOGGLE, {"id": "prv_nope"}), "toggleProvider")
    assert toggled["code"] == "NOT_FOUND"


async def test_list_pages_and_filters(gateway: Gateway) -> None:
    for i, kind in enumerate(["openai", "anthropic", "vllm", "ollama", "vllm"]):
        await create(gateway, kind=kind, name=f"p{i} {kind}", api_key=f"key-{i}-abcdefghijkl")
    await gateway.gql(TOGGLE, {"id": (await _ids(gateway))["p3 ollama"]})
    seen, after = [], None
    while True:
        page = data(await gateway.gql(LIST, {"first": 2, "after": after}), "providers")["list"]
        assert page["totalCount"] == 5
        seen += [n["name"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["p0 openai", "p1 anthropic", "p2 vllm", "p3 ollama", "p4 vllm"]

    async def names(**filters: object) -> list[str]:
        page = data(await gateway.gql(LIST, filters), "providers")["list"]
        return [n["name"] for n in page["nodes"]]

    assert await names(kind="VLLM") == ["p2 vllm", "p4 vllm"]
    assert await names(enabled=False) == ["p3 ollama"]
    assert await names(search="ANTHRO") == ["p1 anthropic"]
    bad = await gateway.gql(LIST, {"after": "not-a-cursor"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def _ids(gateway: Gateway) -> dict[str, str]:
    body = await gateway.gql("{ providers { list(first: 100) { nodes { id name } } } }")
    return {n["name"]: n["id"] for n in body["data"]["providers"]["list"]["nodes"]}


async def test_provider_by_id_and_unknown_ids(gateway: Gateway) -> None:
    a = await create(gateway, kind="ollama", name="a")
    b = await create(gateway, kind="ollama", name="b")
    query = """query($a: ID!, $b: ID!) { providers {
      x: provider(id: $a) { name } y: provider(id: $b) { name } z: provider(id: "nope") { name }
    } }"""
    body = await gateway.gql(query, {"a": a["id"], "b": b["id"]})
    assert body["data"]["providers"] == {"x": {"name": "a"}, "y": {"name": "b"}, "z": None}


async def test_roles(gateway: Gateway, providers_sandbox: ServedSandbox) -> None:
    sb = providers_sandbox
    viewer, developer = await gateway.token("viewer"), await gateway.token("developer")
    p = await create(gateway, kind="ollama", base_url=sb.url("ollama"))
    body = await gateway.gql(GET, {"id": p["id"]}, token=viewer)
    assert body["data"]["providers"]["provider"]["name"] == "ollama provider"
    made = await create(gateway, kind="ollama", name="dev's", token=developer)
    assert made["createdBy"] == "test-developer"
    tested = await gateway.gql(
        "mutation($id: ID!) { testProvider(id: $id) { __typename } }",
        {"id": p["id"]},
        token=developer,
    )
    assert tested["data"]["testProvider"]["__typename"] == "ProviderTestResult"
    # The platform's provider needs providers:delete (one's own would not).
    refused = await gateway.gql(DELETE, {"id": p["id"]}, token=developer)
    assert refused["data"]["deleteProvider"]["code"] == "FORBIDDEN"
    anonymous = await gateway.post("{ providers { kinds { kind } } }", token=None)
    assert anonymous.status_code == 401
