"""The RBAC vocabulary (DESIGN §5): resources, actions and the built-in roles' grants."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.errors import BadUserInput

RESOURCES: tuple[str, ...] = (
    "revenue",
    "models",
    "access",
    "usage",
    "providers",
    "services",
    "containers",
    "certificates",
    "agents",
    "system",
)
ACTIONS: tuple[str, ...] = ("read", "write", "delete", "execute")
ALL_PERMISSIONS: frozenset[str] = frozenset(f"{r}:{a}" for r in RESOURCES for a in ACTIONS)

# Highest first; each inherits the one below it.
BUILTIN_ROLES: tuple[str, ...] = ("admin", "moderator", "developer", "analyst", "viewer")
ADMIN = "admin"

MINT_FOR_OTHERS = "access:execute"
"""Minting an API token for another subject: its own permission (admins only by default),
since such a token acts under someone else's name in the audit log."""

_DASHBOARD = ("revenue", "models", "usage", "providers", "services", "containers")
_DASHBOARD += ("certificates", "agents")

BUILTIN_GRANTS: dict[str, frozenset[str]] = {
    # Sees every dashboard, changes nothing; access control stays out of sight.
    "viewer": frozenset(f"{r}:read" for r in _DASHBOARD),
    # Reads everything, including who may do what and the audit log.
    "analyst": frozenset({"access:read", "system:read"}),
    # Works with models, providers and usage; runs connection tests and downloads.
    "developer": frozenset(
        {
            "models:write",
            "models:execute",
            "providers:write",
            "providers:execute",
            "usage:write",
            "agents:execute",
        }
    ),
    # Operates the platform: traffic, certificates, deletions, and role assignment.
    "moderator": frozenset(
        {
            "models:delete",
            "providers:delete",
            "usage:delete",
            "services:write",
            "services:execute",
            "containers:write",
            "containers:execute",
            "certificates:write",
            "certificates:execute",
            "access:write",
            "agents:write",
        }
    ),
    "admin": ALL_PERMISSIONS,
}
BUILTIN_DESCRIPTIONS: dict[str, str] = {
    "admin": "Everything, including role management and system settings.",
    "moderator": "Operates traffic, certificates and deletions; assigns roles it holds.",
    "developer": "Manages models, providers and usage ingestion.",
    "analyst": "Reads every dashboard, the permission matrix and the audit log.",
    "viewer": "Reads the dashboards.",
}


def is_admin(permissions: frozenset[str]) -> bool:
    """Holds every permission there is: ``admin``, or a role granted all of it."""
    return permissions >= ALL_PERMISSIONS


def builtin_parent(name: str) -> tuple[str, ...]:
    index = BUILTIN_ROLES.index(name)
    return (BUILTIN_ROLES[index + 1],) if index + 1 < len(BUILTIN_ROLES) else ()


def permission_key(resource: str, action: str) -> str:
    if resource not in RESOURCES:
        raise BadUserInput(f"unknown resource {resource!r}", field="resource")
    if action not in ACTIONS:
        raise BadUserInput(f"unknown action {action!r}", field="action")
    return f"{resource}:{action}"


def parse_permission(key: str) -> tuple[str, str]:
    resource, _, action = key.partition(":")
    permission_key(resource, action)
    return resource, action


def normalise(keys: Iterable[str]) -> list[str]:
    """Validate permission keys and return them sorted in matrix order, de-duplicated."""
    unique = {f"{r}:{a}" for r, a in (parse_permission(k) for k in keys)}
    return sorted(unique, key=_matrix_order)


def _matrix_order(key: str) -> tuple[int, int]:
    resource, action = key.split(":")
    return RESOURCES.index(resource), ACTIONS.index(action)
