"""GraphQL types of the access domain: roles, permissions, checks, audit and API tokens."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from gateway.auth import rbac
from gateway.auth.actor import AccessFailureCode
from gateway.auth.audit import AuditEntry as AuditRecord
from gateway.auth.permissions import ACTIONS, RESOURCES, normalise
from gateway.context import Info
from schema.enums import enum_of
from schema.failure import Failure
from schema.mirror import mirror
from schema.timestamps import ts

Resource = enum_of("Resource", RESOURCES, description="What a permission protects (DESIGN §5).")
Action = enum_of("Action", ACTIONS)


@strawberry.type
class Permission:
    resource: Resource
    action: Action

    @strawberry.field(description='As "resource:action", e.g. "models:read".')
    def key(self) -> str:
        return f"{self.resource.value}:{self.action.value}"

    @classmethod
    def from_key(cls, key: str) -> Permission:
        resource, action = key.split(":")
        return cls(resource=Resource(resource), action=Action(action))


def permissions(keys: frozenset[str] | set[str]) -> list[Permission]:
    return list(_permission_list(frozenset(keys)))


@lru_cache(maxsize=1024)
def _permission_list(keys: frozenset[str]) -> tuple[Permission, ...]:
    # Roles share a handful of permission sets; validating and sorting them on every
    # resolver call was ~5% of the access page's time (bench/RESULTS.md). The objects are
    # never mutated, so responses can share them.
    return tuple(Permission.from_key(k) for k in normalise(keys))


@strawberry.input
class PermissionInput:
    resource: Resource
    action: Action

    @property
    def key(self) -> str:
        return f"{self.resource.value}:{self.action.value}"


@strawberry.type
class Role:
    name: str
    description: str
    builtin: bool
    inherits: list[str]
    created_at: datetime
    updated_at: datetime
    version: int
    _direct: strawberry.Private[frozenset[str]]

    @strawberry.field(description="Granted to this role directly.")
    def permissions(self) -> list[Permission]:
        return permissions(self._direct)

    @strawberry.field(description="Granted directly or through inherited roles.")
    async def effective_permissions(self, info: Info) -> list[Permission]:
        return permissions((await info.context.role_graph()).effective([self.name]))

    @classmethod
    def from_role(cls, role: rbac.Role) -> Role:
        return mirror(
            cls,
            role,
            inherits=list(role.inherits),
            created_at=ts(role.created_at),
            updated_at=ts(role.updated_at),
            _direct=role.permissions,
        )


@strawberry.type
class RoleNode:
    name: str
    builtin: bool
    level: int = strawberry.field(description="0 for a role nobody inherits from.")
    inherits: list[str]
    inherited_by: list[str]


@strawberry.type
class MatrixCell:
    resource: Resource
    actions: list[Action] = strawberry.field(description="Effective: direct or inherited.")
    direct: list[Action]


@strawberry.type
class MatrixRow:
    role: str
    cells: list[MatrixCell]


@strawberry.type
class PermissionMatrix:
    resources: list[Resource]
    actions: list[Action]
    rows: list[MatrixRow]


@strawberry.type
class CheckResult:
    subject: str
    permission: Permission
    allowed: bool
    reason: str
    roles: list[str] = strawberry.field(description="The subject's roles that were considered.")
    granted_by: str | None = strawberry.field(description="The role granting it directly.")
    path: list[str] = strawberry.field(description="Inheritance chain to grantedBy.")


@strawberry.type
class AuditEntry:
    id: strawberry.ID
    actor: str
    action: str
    target: str
    before: JSON | None
    after: JSON | None
    at: datetime

    @classmethod
    def from_record(cls, record: AuditRecord) -> AuditEntry:
        return mirror(cls, record, id=strawberry.ID(str(record.cursor)), at=ts(record.at))


@strawberry.type
class SubjectRoles:
    subject: str
    roles: list[str] = strawberry.field(description="Roles assigned in the gateway.")


@strawberry.type
class ApiToken:
    id: strawberry.ID
    subject: str
    roles: list[str]
    description: str
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_token(cls, t: Any) -> ApiToken:
        return mirror(
            cls,
            t,
            id=strawberry.ID(t.id),
            roles=sorted(t.roles),
            created_at=ts(t.created_at),
            expires_at=ts(t.expires_at),
            last_used_at=ts(t.last_used_at),
            revoked_at=ts(t.revoked_at),
        )


@strawberry.type
class CreatedApiToken:
    token: str = strawberry.field(description="The secret. Shown once; store it now.")
    api_token: ApiToken


@strawberry.type
class DeletedRole:
    name: str


AccessErrorCode = strawberry.enum(AccessFailureCode, name="AccessErrorCode")


@strawberry.type(description="An expected failure of an access mutation.")
class AccessError(Failure[AccessErrorCode]):  # type: ignore[valid-type]
    pass


RoleResult = Annotated[Role | AccessError, strawberry.union("RoleResult")]
DeleteRoleResult = Annotated[DeletedRole | AccessError, strawberry.union("DeleteRoleResult")]
AssignmentResult = Annotated[SubjectRoles | AccessError, strawberry.union("AssignmentResult")]
CreateApiTokenResult = Annotated[
    CreatedApiToken | AccessError, strawberry.union("CreateApiTokenResult")
]
RevokeApiTokenResult = Annotated[ApiToken | AccessError, strawberry.union("RevokeApiTokenResult")]


@strawberry.type
class Me:
    subject: str
    roles: list[str]
    auth_kind: str
    token_id: str | None
    expires_at: datetime | None
    _permissions: strawberry.Private[frozenset[str]]

    @strawberry.field(description="Everything the caller may do, direct or inherited.")
    def permissions(self) -> list[Permission]:
        return permissions(self._permissions)
