"""Permissions declared on fields: ``@strawberry.field(extensions=[require("models", "read")])``.

Every root field of Query, Mutation and Subscription carries one of these; a test walks the
schema and fails when a field has none.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission, PermissionExtension

from gateway.auth.permissions import permission_key
from gateway.context import Info
from gateway.errors import ErrorCode


class _Refusing(BasePermission):
    def on_unauthorized(self) -> None:
        # Strawberry's raises the error from a local variable: the frame then holds the error
        # that holds the frame (in its traceback), a cycle that leaves each refused request's
        # objects to the cycle collector. Raised as an expression, it holds nothing.
        raise self.error_class(self.message or "", extensions=dict(self.error_extensions or {}))


class Require(_Refusing):
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}

    def __init__(self, resource: str, action: str) -> None:
        self.permission = permission_key(resource, action)
        self.message = f"requires permission {self.permission}"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return self.permission in info.context.permissions


class RequireAny(Require):
    """Like :class:`Require`, satisfied by any one of several permissions (a root field such
    as ``traffic`` spanning several resources)."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        super().__init__(*pairs[0])
        self.permissions = frozenset(permission_key(r, a) for r, a in pairs)
        self.message = f"requires one of {', '.join(sorted(self.permissions))}"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(self.permissions & info.context.permissions)


class Authenticated(_Refusing):
    error_extensions = {"code": ErrorCode.UNAUTHENTICATED.value}
    message = "authentication required"
    permission = None

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal is not None


def require(resource: str, action: str) -> PermissionExtension:
    return PermissionExtension(permissions=[Require(resource, action)], use_directives=False)


def require_any(*pairs: tuple[str, str]) -> PermissionExtension:
    return PermissionExtension(permissions=[RequireAny(*pairs)], use_directives=False)


def authenticated() -> PermissionExtension:
    return PermissionExtension(permissions=[Authenticated()], use_directives=False)
