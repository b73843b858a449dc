from __future__ import annotations

from tests.plugins.app import Gateway


async def test_me_and_roles(gateway: Gateway) -> None:
    body = await gateway.gql(
        "{ me { subject roles permissions { key } } access { roles { name } } }"
    )
    assert "errors" not in body, body
    assert body["data"]["me"]["subject"] == "admin"
    names = {r["name"] for r in body["data"]["access"]["roles"]}
    assert {"admin", "moderator", "developer", "analyst", "viewer"} <= names
