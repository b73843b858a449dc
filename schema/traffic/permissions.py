"""``traffic`` spans three resources: the root field admits a caller holding any of them."""

from __future__ import annotations

from typing import Any

from strawberry.permission import PermissionExtension

from gateway.auth.permissions import permission_key
from gateway.context import Info
from schema.permissions import Require


class RequireAny(Require):
    """Like :class:`Require`, satisfied by any one of several permissions."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        super().__init__(*pairs[0])
        self.permissions = frozenset(permission_key(r, a) for r, a in pairs)
        self.message = f"requires one of {', '.join(sorted(self.permissions))}"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(self.permissions & info.context.permissions)


def require_any(*pairs: tuple[str, str]) -> PermissionExtension:
    return PermissionExtension(permissions=[RequireAny(*pairs)], use_directives=False)
