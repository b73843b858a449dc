"""The access domain through GraphQL: roles, grants, assignments, checks, audit, tokens."""

from __future__ import annotations

from typing import Any

from schema.pagination import encode_cursor
from tests.plugins.app import Gateway

ROLE_FIELDS = """
  ... on Role { name builtin inherits permissions { key } effectivePermissions { key } }
  ... on AccessError { field message code }
"""


async def create_role(
    gw: Gateway, name: str, perms: list[str], inherits: list[str], **kw: Any
) -> dict:
    permissions = [
        {"resource": p.split(":")[0].upper(), "action": p.split(":")[1].upper()} for p in perms
    ]
    data = await gw.data(
        f"mutation($input: CreateRoleInput!) {{ createRole(input: $input) {{ {ROLE_FIELDS} }} }}",
        {"input": {"name": name, "permissions": permissions, "inherits": inherits}},
        **kw,
    )
    return data["createRole"]


async def test_builtin_roles_cannot_be_deleted_or_renamed(gateway: Gateway) -> None:
    for name in ("admin", "viewer"):
        data = await gateway.data(
            "mutation($n: String!) { deleteRole(name: $n) { ... on AccessError { code field } } }",
            {"n": name},
        )
        assert data["deleteRole"] == {"code": "BUILTIN_ROLE", "field": "name"}
        renamed = await gateway.data(
            f'mutation($n: String!) {{ updateRole(input: {{name: $n, newName: "boss"}}) {{ {ROLE_FIELDS} }} }}',
            {"n": name},
        )
        assert renamed["updateRole"]["code"] == "BUILTIN_ROLE"
    roles = await gateway.data("{ access { roles { name } } }")
    assert {"admin", "viewer"} <= {r["name"] for r in roles["access"]["roles"]}


async def test_custom_role_inherits_and_grants(gateway: Gateway) -> None:
    role = await create_role(gateway, "ml-ops", ["models:delete"], ["developer"])
    assert role["name"] == "ml-ops" and role["builtin"] is False
    effective = {p["key"] for p in role["effectivePermissions"]}
    assert {"models:delete", "models:write", "revenue:read", "access:read"} <= effective
    assert "access:write" not in effective
    assert [p["key"] for p in role["permissions"]] == ["models:delete"]


async def test_invalid_role_input_is_reported_as_data(gateway: Gateway) -> None:
    bad_name = await create_role(gateway, "Bad Name!", [], [])
    assert bad_name == {"field": "name", "message": bad_name["message"], "code": "INVALID"}
    unknown_parent = await create_role(gateway, "orphan", [], ["nope"])
    assert unknown_parent["code"] == "NOT_FOUND" and unknown_parent["field"] == "inherits"
    await create_role(gateway, "dup", [], [])
    assert (await create_role(gateway, "dup", [], []))["code"] == "ALREADY_EXISTS"
    roles = await gateway.data("{ access { roles { name } } }")
    assert "orphan" not in {r["name"] for r in roles["access"]["roles"]}


async def test_inheritance_cycles_are_refused(gateway: Gateway) -> None:
    await create_role(gateway, "alpha", [], [])
    await create_role(gateway, "beta", [], ["alpha"])
    await create_role(gateway, "gamma", [], ["beta"])
    cyc = await gateway.data(
        f'mutation {{ updateRole(input: {{name: "alpha", inherits: ["gamma"]}}) {{ {ROLE_FIELDS} }} }}',
    )
    assert cyc["updateRole"]["code"] == "CYCLE"
    self_loop = await gateway.data(
        f'mutation {{ updateRole(input: {{name: "alpha", inherits: ["alpha"]}}) {{ {ROLE_FIELDS} }} }}',
    )
    assert self_loop["updateRole"]["code"] == "CYCLE"
    alpha = await gateway.data('{ access { role(name: "alpha") { inherits } } }')
    assert alpha["access"]["role"]["inherits"] == []


async def test_nobody_grants_what_they_do_not_hold(gateway: Gateway) -> None:
    moderator = await gateway.token("moderator", subject="mod")
    await create_role(gateway, "helpers", [], [])
    denied = await gateway.data(
        f'mutation {{ grantPermission(role: "helpers", resource: SYSTEM, action: DELETE) {{ {ROLE_FIELDS} }} }}',
        token=moderator,
    )
    assert denied["grantPermission"]["code"] == "NOT_HELD"
    assert "system:delete" in denied["grantPermission"]["message"]
    allowed = await gateway.data(
        f'mutation {{ grantPermission(role: "helpers", resource: MODELS, action: DELETE) {{ {ROLE_FIELDS} }} }}',
        token=moderator,
    )
    assert [p["key"] for p in allowed["grantPermission"]["permissions"]] == ["models:delete"]
    # Nor can they hand out a role that holds more than they do, or a token for one.
    assign = await gateway.data(
        'mutation { assignRole(subject: "eve", role: "admin") { ... on AccessError { code } } }',
        token=moderator,
    )
    assert assign["assignRole"]["code"] == "NOT_HELD"
    token = await gateway.data(
        'mutation { createApiToken(input: {subject: "eve", roles: ["admin"]}) '
        "{ ... on AccessError { code field } } }",
        token=moderator,
    )
    assert token["createApiToken"] == {"code": "NOT_HELD", "field": "roles"}


async def test_bulk_grant_is_all_or_nothing(gateway: Gateway) -> None:
    await create_role(gateway, "bulk", [], [])
    moderator = await gateway.token("moderator", subject="mod")
    perms = "[{resource: MODELS, action: DELETE}, {resource: SYSTEM, action: WRITE}]"
    denied = await gateway.data(
        f'mutation {{ grantPermissions(role: "bulk", permissions: {perms}) {{ {ROLE_FIELDS} }} }}',
        token=moderator,
    )
    assert denied["grantPermissions"]["code"] == "NOT_HELD"
    role = await gateway.data('{ access { role(name: "bulk") { permissions { key } } } }')
    assert role["access"]["role"]["permissions"] == []
    granted = await gateway.data(
        f'mutation {{ grantPermissions(role: "bulk", permissions: {perms}) {{ {ROLE_FIELDS} }} }}',
    )
    assert [p["key"] for p in granted["grantPermissions"]["permissions"]] == [
        "models:delete",
        "system:write",
    ]
    revoked = await gateway.data(
        f'mutation {{ revokePermissions(role: "bulk", permissions: {perms}) {{ {ROLE_FIELDS} }} }}',
    )
    assert revoked["revokePermissions"]["permissions"] == []


async def test_admin_grants_cannot_change(gateway: Gateway) -> None:
    data = await gateway.data(
        f'mutation {{ revokePermission(role: "admin", resource: ACCESS, action: WRITE) {{ {ROLE_FIELDS} }} }}',
    )
    assert data["revokePermission"]["code"] == "BUILTIN_ROLE"


async def test_assignment_changes_effective_permissions_and_check_explains(
    gateway: Gateway,
) -> None:
    viewer = await gateway.token("viewer", subject="carol")
    before = await gateway.gql("{ access { roles { name } } }", token=viewer)
    assert before["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    check = await gateway.data(
        '{ access { check(subject: "carol", resource: ACCESS, action: READ) { allowed reason } } }',
    )
    assert check["access"]["check"]["allowed"] is False
    assigned = await gateway.data(
        'mutation { assignRole(subject: "carol", role: "developer") '
        "{ ... on SubjectRoles { subject roles } ... on AccessError { code } } }",
    )
    assert assigned["assignRole"] == {"subject": "carol", "roles": ["developer"]}
    after = await gateway.data("{ access { roles { name } } }", token=viewer)
    assert after["access"]["roles"]
    check = await gateway.data(
        '{ access { check(subject: "carol", resource: ACCESS, action: READ) '
        "{ allowed reason grantedBy path roles } } }",
    )
    result = check["access"]["check"]
    assert result["allowed"] is True
    assert result["grantedBy"] == "analyst"
    assert result["path"] == ["developer", "analyst"]
    assert "inherits" in result["reason"]
    perms = await gateway.data('{ access { effectivePermissions(subject: "carol") { key } } }')
    assert "models:write" in {p["key"] for p in perms["access"]["effectivePermissions"]}
    again = await gateway.data(
        'mutation { assignRole(subject: "carol", role: "developer") { ... on AccessError { code } } }',
    )
    assert again["assignRole"]["code"] == "INVALID"
    await gateway.data(
        'mutation { unassignRole(subject: "carol", role: "developer") { __typename } }'
    )
    final = await gateway.gql("{ access { roles { name } } }", token=viewer)
    assert final["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_hierarchy_and_matrix(gateway: Gateway) -> None:
    data = await gateway.data(
        "{ access { hierarchy { name level inherits inheritedBy } "
        "matrix { resources rows { role cells { resource actions direct } } } } }",
    )
    levels = {n["name"]: n["level"] for n in data["access"]["hierarchy"]}
    assert [levels[r] for r in ("admin", "moderator", "developer", "analyst", "viewer")] == [
        0,
        1,
        2,
        3,
        4,
    ]
    viewer_node = next(n for n in data["access"]["hierarchy"] if n["name"] == "viewer")
    assert viewer_node["inheritedBy"] == ["analyst"] and viewer_node["inherits"] == []
    rows = {
        r["role"]: {c["resource"]: c for c in r["cells"]} for r in data["access"]["matrix"]["rows"]
    }
    assert rows["viewer"]["REVENUE"]["actions"] == ["READ"]
    assert rows["viewer"]["ACCESS"]["actions"] == []
    assert rows["analyst"]["REVENUE"] == {"resource": "REVENUE", "actions": ["READ"], "direct": []}
    assert rows["admin"]["SYSTEM"]["actions"] == ["READ", "WRITE", "DELETE", "EXECUTE"]


async def test_audit_log_records_changes_newest_first_with_paging(gateway: Gateway) -> None:
    for i in range(5):
        await create_role(gateway, f"audited-{i}", [], [])
    await gateway.data(
        'mutation { grantPermission(role: "audited-0", resource: USAGE, action: READ) { __typename } }',
    )
    first = await gateway.data(
        "{ access { auditLog(first: 4) { totalCount pageInfo { hasNextPage endCursor } "
        "edges { node { actor action target before after } } } } }",
    )
    log = first["access"]["auditLog"]
    assert log["totalCount"] == 6
    nodes = [e["node"] for e in log["edges"]]
    assert nodes[0] == {
        "actor": "admin",
        "action": "grantPermissions",
        "target": "audited-0",
        "before": [],
        "after": ["usage:read"],
    }
    assert [n["target"] for n in nodes[1:]] == ["audited-4", "audited-3", "audited-2"]
    assert log["pageInfo"]["hasNextPage"] is True
    rest = await gateway.data(
        "query($after: String) { access { auditLog(first: 10, after: $after) "
        "{ pageInfo { hasNextPage } edges { node { target } } } } }",
        {"after": log["pageInfo"]["endCursor"]},
    )
    assert [e["node"]["target"] for e in rest["access"]["auditLog"]["edges"]] == [
        "audited-1",
        "audited-0",
    ]
    assert rest["access"]["auditLog"]["pageInfo"]["hasNextPage"] is False
    bad = await gateway.gql('{ access { auditLog(after: "garbage!") { totalCount } } }')
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    not_a_number = encode_cursor("audit", "abc")  # well-formed, but not an audit position
    bad = await gateway.gql(
        "query($a: String) { access { auditLog(after: $a) { totalCount } } }", {"a": not_a_number}
    )
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_api_tokens_created_shown_once_and_revoked(gateway: Gateway) -> None:
    created = await gateway.data(
        'mutation { createApiToken(input: {subject: "ci-bot", roles: ["developer"], expiresIn: "30d"}) '
        "{ ... on CreatedApiToken { token apiToken { id subject roles expiresAt } } "
        "... on AccessError { code message } } }",
    )
    token = created["createApiToken"]["token"]
    token_id = created["createApiToken"]["apiToken"]["id"]
    assert token.startswith("ogw_")
    me = await gateway.data("{ me { subject roles } }", token=token)
    assert me["me"] == {"subject": "ci-bot", "roles": ["developer"]}
    listed = await gateway.data("{ access { apiTokens { id subject } } }")
    assert {"id": token_id, "subject": "ci-bot"} in listed["access"]["apiTokens"]
    assert token not in str(listed)
    bad = await gateway.data(
        'mutation { createApiToken(input: {subject: "x", roles: ["viewer"], expiresIn: "soon"}) '
        "{ ... on AccessError { code field } } }",
    )
    assert bad["createApiToken"] == {"code": "INVALID", "field": "expiresIn"}
    revoked = await gateway.data(
        "mutation($id: ID!) { revokeApiToken(id: $id) { ... on ApiToken { revokedAt } } }",
        {"id": token_id},
    )
    assert revoked["revokeApiToken"]["revokedAt"]
    assert (await gateway.post("{ me { subject } }", token=token)).status_code == 401
    missing = await gateway.data(
        'mutation { revokeApiToken(id: "nope") { ... on AccessError { code } } }'
    )
    assert missing["revokeApiToken"]["code"] == "NOT_FOUND"
    audit = await gateway.data(
        "{ access { auditLog(first: 5) { edges { node { action after } } } } }"
    )
    actions = [e["node"]["action"] for e in audit["access"]["auditLog"]["edges"]]
    assert actions[:2] == ["revokeApiToken", "createApiToken"]
    assert token not in str(audit)


async def test_rename_custom_role_moves_heirs_and_assignments(gateway: Gateway) -> None:
    await create_role(gateway, "base-role", ["usage:read"], [])
    await create_role(gateway, "heir-role", [], ["base-role"])
    await gateway.data('mutation { assignRole(subject: "dan", role: "base-role") { __typename } }')
    renamed = await gateway.data(
        f'mutation {{ updateRole(input: {{name: "base-role", newName: "root-role"}}) {{ {ROLE_FIELDS} }} }}',
    )
    assert renamed["updateRole"]["name"] == "root-role"
    data = await gateway.data(
        '{ access { role(name: "heir-role") { inherits } old: role(name: "base-role") { name } '
        'assignments(subject: "dan") { roles } } }',
    )
    assert data["access"]["role"]["inherits"] == ["root-role"]
    assert data["access"]["old"] is None
    assert data["access"]["assignments"]["roles"] == ["root-role"]
    blocked = await gateway.data(
        'mutation { deleteRole(name: "root-role") { ... on AccessError { code } } }'
    )
    assert blocked["deleteRole"]["code"] == "INVALID"
    await gateway.data('mutation { deleteRole(name: "heir-role") { __typename } }')
    deleted = await gateway.data(
        'mutation { deleteRole(name: "root-role") { ... on DeletedRole { name } } }'
    )
    assert deleted["deleteRole"] == {"name": "root-role"}
    left = await gateway.data('{ access { assignments(subject: "dan") { roles } } }')
    assert left["access"]["assignments"]["roles"] == []
