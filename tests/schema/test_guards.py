"""Every root field is guarded; viewers cannot mutate; anonymous callers get 401."""

from __future__ import annotations

import pytest
from strawberry.permission import PermissionExtension

from schema import build_schema
from schema.permissions import Authenticated, Require
from tests.plugins.app import Gateway
from tests.schema.gen import call

SCHEMA = build_schema()


def _guards(type_name: str) -> dict[str, list[object]]:
    definition = SCHEMA.get_type_by_name(type_name)
    guards: dict[str, list[object]] = {}
    for field in definition.fields:  # type: ignore[union-attr]
        guards[field.graphql_name or field.name] = [
            p
            for ext in field.extensions
            if isinstance(ext, PermissionExtension)
            for p in ext.permissions
        ]
    return guards


@pytest.mark.parametrize("root", ["Query", "Mutation", "Subscription"])
def test_every_root_field_declares_a_permission(root: str) -> None:
    guards = _guards(root)
    assert guards, f"{root} has no fields"
    unguarded = [name for name, perms in guards.items() if not perms]
    assert unguarded == [], f"fields without require(...): {unguarded}"
    for name, perms in guards.items():
        assert all(isinstance(p, Require | Authenticated) for p in perms), name
        if root != "Query" or name != "me":
            assert any(isinstance(p, Require) for p in perms), f"{name} needs require()"


def test_mutations_need_more_than_read() -> None:
    for name, perms in _guards("Mutation").items():
        actions = {p.permission.split(":")[1] for p in perms if isinstance(p, Require)}
        assert actions and "read" not in actions, name


async def test_viewer_is_forbidden_on_every_mutation(gateway: Gateway) -> None:
    viewer = await gateway.token("viewer")
    mutation_type = SCHEMA._schema.mutation_type
    assert mutation_type is not None
    for name, field in mutation_type.fields.items():
        response = await gateway.post(
            f"mutation {{ {call(name, field)} {{ __typename }} }}", token=viewer
        )
        assert response.status_code == 200, (name, response.text)
        body = response.json()
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        assert codes == ["FORBIDDEN"], (name, body)
        assert body["data"] is None or body["data"].get(name) is None, (name, body)


async def test_viewer_cannot_read_access_but_keeps_other_fields(gateway: Gateway) -> None:
    viewer = await gateway.token("viewer")
    body = await gateway.gql("{ me { subject } access { roles { name } } }", token=viewer)
    assert body["data"]["me"]["subject"] == "test-viewer"
    assert body["data"]["access"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["access"]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ogw_nope_nope", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt"],
)
async def test_anonymous_or_bad_credentials_get_401(
    gateway: Gateway, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await gateway.client.post(
        "/graphql", json={"query": "{ me { subject } }"}, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_introspection_needs_authentication(gateway: Gateway) -> None:
    query = "{ __schema { queryType { name } } }"
    anonymous = await gateway.post(query, token=None)
    assert anonymous.status_code == 401
    authenticated = await gateway.gql(query)
    assert authenticated["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_revoked_token_is_refused(gateway: Gateway) -> None:
    secret, token = await gateway.services.tokens.create(
        subject="s", roles=["viewer"], expires_in=60
    )
    assert (await gateway.post("{ me { subject } }", token=secret)).status_code == 200
    await gateway.services.tokens.revoke(token.id)
    assert (await gateway.post("{ me { subject } }", token=secret)).status_code == 401


def test_domain_root_fields_are_nullable() -> None:
    """A failing backend or a forbidden domain must null only its own root field."""
    query_type = SCHEMA._schema.query_type
    assert query_type is not None
    non_null = [
        name
        for name, field in query_type.fields.items()
        if name != "me" and type(field.type).__name__ == "GraphQLNonNull"
    ]
    assert non_null == []
