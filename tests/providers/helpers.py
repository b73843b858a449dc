"""GraphQL documents and calls shared by the providers tests."""

from __future__ import annotations

from typing import Any

from tests.plugins.app import Gateway

PROVIDER = """
  id name kind baseUrl usesDefaultBaseUrl hasApiKey apiKeyHint enabled version
  createdBy updatedBy createdAt updatedAt
  kindInfo { label authStyle keyRequired }
  lastTest { ok modelCount models error { code message httpStatus } }
"""
ERROR = "... on ProviderError { field message code }"
CREATE = f"""mutation($input: CreateProviderInput!) {{
  createProvider(input: $input) {{ __typename ... on Provider {{ {PROVIDER} }} {ERROR} }}
}}"""
UPDATE = f"""mutation($input: UpdateProviderInput!) {{
  updateProvider(input: $input) {{ __typename ... on Provider {{ {PROVIDER} }} {ERROR} }}
}}"""
TOGGLE = f"""mutation($id: ID!, $enabled: Boolean) {{
  toggleProvider(id: $id, enabled: $enabled) {{
    __typename ... on Provider {{ {PROVIDER} }} {ERROR}
  }}
}}"""
DELETE = f"""mutation($id: ID!, $v: Int) {{
  deleteProvider(id: $id, expectedVersion: $v) {{
    __typename ... on DeletedProvider {{ id name }} {ERROR}
  }}
}}"""
TEST = f"""mutation($id: ID!, $t: Float) {{
  testProvider(id: $id, timeoutSeconds: $t) {{
    __typename
    ... on ProviderTestResult {{
      ok latencyMs modelCount truncated testedAt
      models {{ id displayName owner contextLength createdAt }}
      error {{ code message httpStatus }}
      provider {{ {PROVIDER} }}
    }}
    {ERROR}
  }}
}}"""
GET = f"query($id: ID!) {{ providers {{ provider(id: $id) {{ {PROVIDER} }} }} }}"


def data(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"][field]


async def create(
    gw: Gateway,
    *,
    kind: str,
    name: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    token: str | None = "",
    **extra: Any,
) -> dict[str, Any]:
    payload = {"name": name or f"{kind} provider", "kind": kind.upper(), **extra}
    if base_url is not None:
        payload["baseUrl"] = base_url
    if api_key is not None:
        payload["apiKey"] = api_key
    return data(await gw.gql(CREATE, {"input": payload}, token=token), "createProvider")


async def update(gw: Gateway, **fields: Any) -> dict[str, Any]:
    return data(await gw.gql(UPDATE, {"input": fields}), "updateProvider")


async def probe(gw: Gateway, id: str, seconds: float | None = None) -> dict[str, Any]:
    """``testProvider(id, timeoutSeconds: seconds)``."""
    return data(await gw.gql(TEST, {"id": id, "t": seconds}), "testProvider")
