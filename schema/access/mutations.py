"""Mutations of the access domain. Expected failures come back as ``AccessError`` data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from gateway.auth import rbac
from gateway.auth.actor import AccessFailure, AccessFailureCode
from gateway.context import Info
from gateway.errors import BadUserInput, NotFound
from schema.access.types import (
    AccessError,
    Action,
    ApiToken,
    AssignmentResult,
    CreateApiTokenResult,
    CreatedApiToken,
    DeletedRole,
    DeleteRoleResult,
    PermissionInput,
    Resource,
    RevokeApiTokenResult,
    Role,
    RoleResult,
    SubjectRoles,
)
from schema.permissions import require

T = TypeVar("T")


async def _attempt(info: Info, make: Callable[[], Awaitable[T]]) -> T | AccessError:
    try:
        result = await make()
        info.context.forget_role_graph()
        return result
    except AccessFailure as failure:
        return AccessError.from_failure(failure)
    except BadUserInput as exc:
        return AccessError(field=exc.field, message=exc.message, code=AccessFailureCode.INVALID)
    except NotFound as exc:
        return AccessError(field="id", message=exc.message, code=AccessFailureCode.NOT_FOUND)


async def _role(info: Info, change: Callable[[], Awaitable[rbac.Role]]) -> Role | AccessError:
    """A mutation that answers with the role it changed (create, update, grants)."""

    async def run() -> Role:
        return Role.from_role(await change())

    return await _attempt(info, run)


@strawberry.input
class CreateRoleInput:
    name: str
    description: str = ""
    permissions: list[PermissionInput] = strawberry.field(default_factory=list)
    inherits: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateRoleInput:
    name: str
    new_name: str | None = None
    description: str | None = None
    inherits: list[str] | None = None


@strawberry.input
class CreateApiTokenInput:
    subject: str
    roles: list[str]
    expires_in: str | None = strawberry.field(
        default="90d", description='e.g. "30d", "12h", "15m" or "never".'
    )
    description: str = ""


async def _grants(
    info: Info, role: str, perms: list[PermissionInput], *, add: bool
) -> Role | AccessError:
    admin = info.context.services.role_admin
    keys = [p.key for p in perms]

    change = admin.grant if add else admin.revoke
    return await _role(info, lambda: change(info.context.actor, role=role, permissions=keys))


async def _assignment(
    info: Info, subject: str, role: str, *, add: bool
) -> SubjectRoles | AccessError:
    admin = info.context.services.role_admin

    async def run() -> SubjectRoles:
        change = admin.assign if add else admin.unassign
        roles = await change(info.context.actor, subject=subject, role=role)
        return SubjectRoles(subject=subject, roles=roles)

    return await _attempt(info, run)


@strawberry.type
class AccessMutation:
    @strawberry.mutation(extensions=[require("access", "write")])
    async def create_role(self, info: Info, input: CreateRoleInput) -> RoleResult:
        admin = info.context.services.role_admin
        return await _role(
            info,
            lambda: admin.create_role(
                info.context.actor,
                name=input.name,
                description=input.description,
                permissions=[p.key for p in input.permissions],
                inherits=input.inherits,
            ),
        )

    @strawberry.mutation(extensions=[require("access", "write")])
    async def update_role(self, info: Info, input: UpdateRoleInput) -> RoleResult:
        admin = info.context.services.role_admin
        return await _role(
            info,
            lambda: admin.update_role(
                info.context.actor,
                name=input.name,
                new_name=input.new_name,
                description=input.description,
                inherits=input.inherits,
            ),
        )

    @strawberry.mutation(extensions=[require("access", "delete")])
    async def delete_role(self, info: Info, name: str) -> DeleteRoleResult:
        admin = info.context.services.role_admin

        async def run() -> DeletedRole:
            role = await admin.delete_role(info.context.actor, name=name)
            return DeletedRole(name=role.name)

        return await _attempt(info, run)

    @strawberry.mutation(extensions=[require("access", "write")])
    async def grant_permission(
        self, info: Info, role: str, resource: Resource, action: Action
    ) -> RoleResult:
        perms = [PermissionInput(resource=resource, action=action)]
        return await _grants(info, role, perms, add=True)

    @strawberry.mutation(extensions=[require("access", "write")])
    async def revoke_permission(
        self, info: Info, role: str, resource: Resource, action: Action
    ) -> RoleResult:
        perms = [PermissionInput(resource=resource, action=action)]
        return await _grants(info, role, perms, add=False)

    @strawberry.mutation(extensions=[require("access", "write")], description="All or nothing.")
    async def grant_permissions(
        self, info: Info, role: str, permissions: list[PermissionInput]
    ) -> RoleResult:
        return await _grants(info, role, permissions, add=True)

    @strawberry.mutation(extensions=[require("access", "write")], description="All or nothing.")
    async def revoke_permissions(
        self, info: Info, role: str, permissions: list[PermissionInput]
    ) -> RoleResult:
        return await _grants(info, role, permissions, add=False)

    @strawberry.mutation(extensions=[require("access", "write")])
    async def assign_role(self, info: Info, subject: str, role: str) -> AssignmentResult:
        return await _assignment(info, subject, role, add=True)

    @strawberry.mutation(extensions=[require("access", "write")])
    async def unassign_role(self, info: Info, subject: str, role: str) -> AssignmentResult:
        return await _assignment(info, subject, role, add=False)

    @strawberry.mutation(
        extensions=[require("access", "write")],
        description="Creates a token; its secret is returned once and stored only hashed.",
    )
    async def create_api_token(
        self, info: Info, input: CreateApiTokenInput
    ) -> CreateApiTokenResult:
        services = info.context.services

        async def run() -> CreatedApiToken:
            secret, token = await services.token_admin.issue(
                actor=info.context.actor,
                subject=input.subject,
                roles=input.roles,
                expires_in=input.expires_in,
                description=input.description,
            )
            return CreatedApiToken(token=secret, api_token=ApiToken.from_token(token))

        return await _attempt(info, run)

    @strawberry.mutation(extensions=[require("access", "write")])
    async def revoke_api_token(self, info: Info, id: strawberry.ID) -> RevokeApiTokenResult:
        services = info.context.services

        async def run() -> ApiToken:
            token = await services.token_admin.revoke(info.context.actor, token_id=str(id))
            return ApiToken.from_token(token)

        return await _attempt(info, run)
