"""The escalation paths of issue 10, each tried as a hostile moderator would, through HTTP."""

from __future__ import annotations

import pytest

from gateway.errors import BadUserInput
from tests.plugins.app import Gateway

ERROR = "... on AccessError { code field message }"
TOKEN = f"... on CreatedApiToken {{ token apiToken {{ id }} }} {ERROR}"


async def mint(gw: Gateway, subject: str, roles: list[str], *, token: str) -> dict:
    data = await gw.data(
        f"mutation($i: CreateApiTokenInput!) {{ createApiToken(input: $i) {{ {TOKEN} }} }}",
        {"i": {"subject": subject, "roles": roles}},
        token=token,
    )
    return data["createApiToken"]


async def me(gw: Gateway, token: str) -> dict:
    return (await gw.data("{ me { subject roles permissions { key } } }", token=token))["me"]


async def test_a_moderator_cannot_mint_a_token_for_an_admin_subject(gateway: Gateway) -> None:
    await gateway.data('mutation { assignRole(subject: "ops-lead", role: "admin") { __typename } }')
    moderator = await gateway.token("moderator", subject="mod")
    refused = await mint(gateway, "ops-lead", ["viewer"], token=moderator)
    assert refused["code"] == "NOT_HELD" and refused["field"] == "subject"
    log = await gateway.data("{ access { auditLog(first: 5) { edges { node { action } } } } }")
    assert "createApiToken" not in [e["node"]["action"] for e in log["access"]["auditLog"]["edges"]]


async def test_minting_for_another_subject_needs_access_execute(gateway: Gateway) -> None:
    moderator = await gateway.token("moderator", subject="mod")
    refused = await mint(gateway, "nobody-yet", ["viewer"], token=moderator)
    assert refused["code"] == "NOT_HELD" and "access:execute" in refused["message"]
    # For itself, a moderator may mint what it holds.
    own = await mint(gateway, "mod", ["viewer"], token=moderator)
    assert own["token"].startswith("ogw_")


async def test_a_token_minted_for_someone_else_holds_its_roles_only(gateway: Gateway) -> None:
    """Even when its subject is made admin afterwards, the delegated token stays a viewer."""
    minted = await mint(gateway, "ops-lead", ["viewer"], token=gateway.admin_token)
    await gateway.data('mutation { assignRole(subject: "ops-lead", role: "admin") { __typename } }')
    who = await me(gateway, minted["token"])
    assert who["roles"] == ["viewer"]
    assert "access:write" not in {p["key"] for p in who["permissions"]}
    grant = await gateway.gql(
        'mutation { grantPermission(role: "moderator", resource: SYSTEM, action: WRITE) '
        "{ __typename } }",
        token=minted["token"],
    )
    assert grant["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    audit = await gateway.data(
        "{ access { auditLog(first: 1) { edges { node { actor after } } } } }"
    )
    # The audit log names who minted it, and that it is capped.
    entry = audit["access"]["auditLog"]["edges"][0]["node"]
    assert entry["actor"] == "admin"


async def test_a_moderator_cannot_revoke_an_admins_token(gateway: Gateway) -> None:
    admin_token = await gateway.token("admin", subject="root")
    token_id = (await me(gateway, admin_token))["subject"]
    tokens = await gateway.data("{ access { apiTokens { id subject } } }")
    ids = [t["id"] for t in tokens["access"]["apiTokens"] if t["subject"] == token_id]
    moderator = await gateway.token("moderator", subject="mod")
    refused = await gateway.data(
        f'mutation {{ revokeApiToken(id: "{ids[0]}") {{ ... on ApiToken {{ id }} {ERROR} }} }}',
        token=moderator,
    )
    assert refused["revokeApiToken"]["code"] == "NOT_HELD"
    assert (await me(gateway, admin_token))["subject"] == "root"  # still works


async def test_only_admins_change_builtin_roles(gateway: Gateway) -> None:
    moderator = await gateway.token("moderator", subject="mod")
    for op in ("grantPermission", "revokePermission"):
        refused = await gateway.data(
            f'mutation {{ {op}(role: "viewer", resource: ACCESS, action: WRITE) {{ {ERROR} }} }}',
            token=moderator,
        )
        assert refused[op]["code"] == "BUILTIN_ROLE", refused
    described = await gateway.data(
        f'mutation {{ updateRole(input: {{name: "viewer", description: "x"}}) {{ {ERROR} }} }}',
        token=moderator,
    )
    assert described["updateRole"]["code"] == "BUILTIN_ROLE"
    viewer = await gateway.data('{ access { role(name: "viewer") { permissions { key } } } }')
    assert "access:write" not in {p["key"] for p in viewer["access"]["role"]["permissions"]}
    # An admin may.
    done = await gateway.data(
        'mutation { grantPermission(role: "viewer", resource: SYSTEM, action: READ) '
        "{ ... on Role { name } } }"
    )
    assert done["grantPermission"] == {"name": "viewer"}


async def test_a_moderator_cannot_unassign_or_reshape_what_outranks_it(gateway: Gateway) -> None:
    await gateway.data('mutation { assignRole(subject: "boss", role: "admin") { __typename } }')
    await gateway.data(
        'mutation { createRole(input: {name: "ops-super", inherits: ["moderator"], '
        "permissions: [{resource: SYSTEM, action: WRITE}]}) { __typename } }"
    )
    await gateway.data('mutation { createRole(input: {name: "base"}) { __typename } }')
    await gateway.data(
        'mutation { updateRole(input: {name: "ops-super", inherits: ["moderator", "base"]}) '
        "{ __typename } }"
    )
    moderator = await gateway.token("moderator", subject="mod")
    unassign = await gateway.data(
        f'mutation {{ unassignRole(subject: "boss", role: "admin") {{ {ERROR} }} }}',
        token=moderator,
    )
    assert unassign["unassignRole"]["code"] == "NOT_HELD"
    # "base" is inherited by ops-super, which holds system:write: editing base reaches it.
    grant = await gateway.data(
        f'mutation {{ grantPermission(role: "base", resource: MODELS, action: READ) {{ {ERROR} }} }}',
        token=moderator,
    )
    assert grant["grantPermission"]["code"] == "NOT_HELD"
    assert "ops-super" in grant["grantPermission"]["message"]
    edit = await gateway.data(
        f'mutation {{ updateRole(input: {{name: "ops-super", description: "mine"}}) {{ {ERROR} }} }}',
        token=moderator,
    )
    assert edit["updateRole"]["code"] == "NOT_HELD"


async def test_token_listing_shows_others_tokens_only_to_managers(gateway: Gateway) -> None:
    analyst = await gateway.token("analyst", subject="ana")
    await gateway.token("admin", subject="root")
    own = await gateway.data("{ access { apiTokens { subject } } }", token=analyst)
    assert {t["subject"] for t in own["access"]["apiTokens"]} == {"ana"}
    moderator = await gateway.token("moderator", subject="mod")
    every = await gateway.data("{ access { apiTokens { subject } } }", token=moderator)
    assert {"ana", "root", "mod", "admin"} <= {t["subject"] for t in every["access"]["apiTokens"]}


async def test_subjects_and_role_names_are_matched_whole_and_ascii(gateway: Gateway) -> None:
    for subject in ("admin\n", "\u0430dmin", "a b", ""):
        assigned = await gateway.data(
            f'mutation($s: String!) {{ assignRole(subject: $s, role: "viewer") {{ {ERROR} }} }}',
            {"s": subject},
        )
        assert assigned["assignRole"]["code"] == "INVALID", subject
        minted = await mint(gateway, subject, ["viewer"], token=gateway.admin_token)
        assert minted["code"] == "INVALID", subject
    role = await gateway.data(
        f'mutation {{ createRole(input: {{name: "viewer\\n"}}) {{ {ERROR} }} }}'
    )
    assert role["createRole"]["code"] == "INVALID"
    # The CLI's path: what is checked is what would be stored, nothing stripped.
    with pytest.raises(BadUserInput, match="subject"):
        await gateway.services.tokens.create(subject="root\u2028", roles=["viewer"], expires_in=60)


async def test_bearer_tokens_are_visible_ascii_and_bounded(gateway: Gateway) -> None:
    for header in (f"Bearer {gateway.admin_token}\u2028", "Bearer " + "x" * 20_000):
        response = await gateway.client.post(
            "/graphql",
            json={"query": "{ me { subject } }"},
            headers={"Authorization": header.encode()},  # UTF-8 bytes, as a raw client may
        )
        assert response.status_code == 401, header[:40]
    ok = await gateway.client.post(
        "/graphql",
        json={"query": "{ me { subject } }"},
        headers={"Authorization": f"  bearer\t{gateway.admin_token} "},
    )
    assert ok.json()["data"]["me"]["subject"] == "admin"
