"""Queries of the access domain: ``me`` and ``access { ... }``."""

from __future__ import annotations

import strawberry

from gateway.auth.permissions import ACTIONS, RESOURCES, permission_key
from gateway.context import Info
from schema.access.types import (
    Action,
    ApiToken,
    AuditEntry,
    CheckResult,
    MatrixCell,
    MatrixRow,
    Me,
    Permission,
    PermissionMatrix,
    Resource,
    Role,
    RoleNode,
    SubjectRoles,
    permissions,
)
from schema.pagination import (
    Connection,
    build_connection,
    check_first,
    decode_index,
    encode_cursor,
)
from schema.permissions import authenticated, require
from schema.timestamps import ts


async def _subject_roles(info: Info, subject: str) -> frozenset[str]:
    """Assigned roles, plus the caller's credential roles when the subject is the caller."""
    ctx = info.context
    assigned = await ctx.services.rbac.assigned_roles(subject)
    if ctx.principal is not None and ctx.principal.subject == subject:
        return assigned | ctx.principal.roles
    return assigned


@strawberry.type
class AccessQuery:
    @strawberry.field
    async def roles(self, info: Info) -> list[Role]:
        graph = await info.context.role_graph()
        return [Role.from_role(r) for r in sorted(graph.roles.values(), key=lambda r: r.name)]

    @strawberry.field
    async def role(self, info: Info, name: str) -> Role | None:
        graph = await info.context.role_graph()
        found = graph.roles.get(name)
        return Role.from_role(found) if found else None

    @strawberry.field(description="Every role against every resource and action.")
    async def matrix(self, info: Info) -> PermissionMatrix:
        graph = await info.context.role_graph()
        rows = []
        for name in sorted(graph.roles):
            effective = graph.effective([name])
            direct = graph.roles[name].permissions
            cells = [
                MatrixCell(
                    resource=Resource(r),
                    actions=[Action(a) for a in ACTIONS if f"{r}:{a}" in effective],
                    direct=[Action(a) for a in ACTIONS if f"{r}:{a}" in direct],
                )
                for r in RESOURCES
            ]
            rows.append(MatrixRow(role=name, cells=cells))
        return PermissionMatrix(
            resources=[Resource(r) for r in RESOURCES],
            actions=[Action(a) for a in ACTIONS],
            rows=rows,
        )

    @strawberry.field(description="Roles ordered from the top of the inheritance tree down.")
    async def hierarchy(self, info: Info) -> list[RoleNode]:
        graph = await info.context.role_graph()
        nodes = [
            RoleNode(
                name=r.name,
                builtin=r.builtin,
                level=graph.level(r.name),
                inherits=list(r.inherits),
                inherited_by=graph.children(r.name),
            )
            for r in graph.roles.values()
        ]
        return sorted(nodes, key=lambda n: (n.level, n.name))

    @strawberry.field(description="Whether a subject may do an action, and why.")
    async def check(
        self, info: Info, subject: str, resource: Resource, action: Action
    ) -> CheckResult:
        roles = await _subject_roles(info, subject)
        key = permission_key(resource.value, action.value)
        result = (await info.context.role_graph()).check(roles, key)
        return CheckResult(
            subject=subject,
            permission=Permission(resource=resource, action=action),
            allowed=result.allowed,
            reason=result.reason,
            roles=sorted(roles),
            granted_by=result.role,
            path=list(result.path),
        )

    @strawberry.field(description="A subject's permissions; the caller's when omitted.")
    async def effective_permissions(
        self, info: Info, subject: str | None = None
    ) -> list[Permission]:
        if subject is None:
            return permissions(info.context.permissions)
        roles = await _subject_roles(info, subject)
        return permissions((await info.context.role_graph()).effective(roles))

    @strawberry.field
    async def assignments(self, info: Info, subject: str) -> SubjectRoles:
        roles = await info.context.services.rbac.assigned_roles(subject)
        return SubjectRoles(subject=subject, roles=sorted(roles))

    @strawberry.field(description="Newest first.")
    async def audit_log(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[AuditEntry]:
        audit = info.context.services.audit
        before = decode_index("audit", after)  # audit cursors hold the log entry's cursor
        records = await audit.page(before=before, limit=check_first(first) + 1)
        page = records[:first]
        return build_connection(
            [AuditEntry.from_record(r) for r in page],
            [encode_cursor("audit", r.cursor) for r in page],
            has_next=len(records) > first,
            has_previous=after is not None,
            total=await audit.total(),
        )

    @strawberry.field(
        description="The caller's own API tokens; every subject's for holders of access:write "
        "(who may revoke them). Never a secret or its hash."
    )
    async def api_tokens(self, info: Info, include_revoked: bool = False) -> list[ApiToken]:
        ctx = info.context
        tokens = await ctx.services.tokens.list(include_revoked=include_revoked)
        if not ctx.has("access", "write"):
            mine = ctx.principal.subject if ctx.principal is not None else None
            tokens = [t for t in tokens if t.subject == mine]
        return [ApiToken.from_token(t) for t in tokens]


@strawberry.type
class Query:
    @strawberry.field(extensions=[authenticated()], description="The caller's identity.")
    def me(self, info: Info) -> Me:
        principal = info.context.principal
        assert principal is not None  # guarded by authenticated()
        return Me(
            subject=principal.subject,
            roles=sorted(info.context.roles),
            auth_kind=principal.kind.value,
            token_id=principal.token_id,
            expires_at=ts(principal.expires_at),
            _permissions=info.context.permissions,
        )

    @strawberry.field(extensions=[require("access", "read")])
    def access(self) -> AccessQuery | None:
        return AccessQuery()
