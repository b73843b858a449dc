"""Changing roles, grants and assignments: validated, privilege-checked and audited.

Rules (DESIGN §5 and the access issue): built-in roles cannot be deleted or renamed and keep
their place in the hierarchy; ``admin`` always holds everything; no role may inherit in a cycle;
nobody grants, assigns or creates more than they hold themselves.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from gateway.auth.audit import AuditLog
from gateway.auth.permissions import ADMIN, normalise
from gateway.auth.rbac import ASSIGNMENTS, RBAC, ROLES, Role
from gateway.errors import BadUserInput, ConflictError
from gateway.store.base import Store, all_documents

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
SUBJECT = re.compile(r"^[\w.@:+-]{1,200}$")


class AccessFailureCode(StrEnum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    BUILTIN_ROLE = "BUILTIN_ROLE"
    CYCLE = "CYCLE"
    NOT_HELD = "NOT_HELD"
    CONFLICT = "CONFLICT"


class AccessFailure(Exception):
    """An expected failure of an access mutation; the schema reports it as data."""

    def __init__(self, code: AccessFailureCode, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Actor:
    subject: str
    permissions: frozenset[str]


class RoleAdmin:
    def __init__(
        self, *, store: Store, rbac: RBAC, audit: AuditLog, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._rbac = rbac
        self._audit = audit
        self._clock = clock

    # -- roles -------------------------------------------------------------------------
    async def create_role(
        self,
        actor: Actor,
        *,
        name: str,
        description: str = "",
        permissions: Sequence[str] = (),
        inherits: Sequence[str] = (),
    ) -> Role:
        _check_name(name)
        perms = _perms(permissions)
        graph = await self._rbac.graph()
        if name in graph.roles:
            raise AccessFailure(
                AccessFailureCode.ALREADY_EXISTS, f"role {name!r} exists", field="name"
            )
        parents = await self._parents(inherits)
        self._require_held(actor, perms | graph.effective(parents), "create a role with")
        data = {
            "description": check_description(description),
            "permissions": normalise(perms),
            "inherits": list(parents),
            "builtin": False,
            "created_at": self._clock(),
        }
        role = await self._write(name, data, expected_version=0)
        await self._audit.record(
            actor=actor.subject, action="createRole", target=name, before=None, after=data
        )
        return role

    async def update_role(
        self,
        actor: Actor,
        *,
        name: str,
        new_name: str | None = None,
        description: str | None = None,
        inherits: Sequence[str] | None = None,
    ) -> Role:
        role = await self._role(name)
        graph = await self._rbac.graph()
        if role.builtin and new_name not in (None, name):
            raise AccessFailure(
                AccessFailureCode.BUILTIN_ROLE, "built-in roles cannot be renamed", field="newName"
            )
        if role.builtin and inherits is not None and tuple(inherits) != role.inherits:
            raise AccessFailure(
                AccessFailureCode.BUILTIN_ROLE,
                "built-in roles keep their place in the hierarchy",
                field="inherits",
            )
        data = _role_data(role)
        before = dict(data)
        if description is not None:
            data["description"] = check_description(description)
        if inherits is not None:
            parents = await self._parents(inherits)
            if graph.would_cycle(name, parents) or name in parents:
                raise AccessFailure(
                    AccessFailureCode.CYCLE, f"{name!r} would inherit from itself", field="inherits"
                )
            self._require_held(actor, graph.effective(parents), "inherit")
            data["inherits"] = list(parents)
        if new_name not in (None, name):
            assert new_name is not None
            updated = await self._rename(actor, role, new_name, data)
        else:
            updated = await self._write(name, data, expected_version=role.version)
        await self._audit.record(
            actor=actor.subject,
            action="updateRole",
            target=name,
            before=before,
            after={**data, "name": updated.name},
        )
        return updated

    async def delete_role(self, actor: Actor, *, name: str) -> Role:
        role = await self._role(name)
        if role.builtin:
            raise AccessFailure(
                AccessFailureCode.BUILTIN_ROLE, "built-in roles cannot be deleted", field="name"
            )
        graph = await self._rbac.graph()
        heirs = graph.children(name)
        if heirs:
            raise AccessFailure(
                AccessFailureCode.INVALID,
                f"roles {', '.join(heirs)} inherit from {name!r}; change them first",
                field="name",
            )
        self._require_held(actor, graph.effective([name]), "delete a role with")
        await self._replace_in_assignments(name, None)
        await self._store.delete(ROLES, name, expected_version=role.version)
        await self._rbac.bump()
        await self._audit.record(
            actor=actor.subject,
            action="deleteRole",
            target=name,
            before=_role_data(role),
            after=None,
        )
        return role

    # -- grants ------------------------------------------------------------------------
    async def grant(self, actor: Actor, *, role: str, permissions: Sequence[str]) -> Role:
        return await self._change_grants(actor, role, _perms(permissions), add=True)

    async def revoke(self, actor: Actor, *, role: str, permissions: Sequence[str]) -> Role:
        return await self._change_grants(actor, role, _perms(permissions), add=False)

    async def _change_grants(
        self, actor: Actor, name: str, perms: frozenset[str], *, add: bool
    ) -> Role:
        if not perms:
            raise AccessFailure(
                AccessFailureCode.INVALID, "no permissions given", field="permissions"
            )
        role = await self._role(name)
        if role.name == ADMIN:
            raise AccessFailure(
                AccessFailureCode.BUILTIN_ROLE, "admin always holds every permission", field="role"
            )
        self._require_held(actor, perms, "grant" if add else "revoke")
        data = _role_data(role)
        before = list(data["permissions"])
        current = set(before)
        data["permissions"] = normalise(current | perms if add else current - perms)
        updated = await self._write(name, data, expected_version=role.version)
        await self._audit.record(
            actor=actor.subject,
            action="grantPermissions" if add else "revokePermissions",
            target=name,
            before=before,
            after=data["permissions"],
        )
        return updated

    # -- assignments -------------------------------------------------------------------
    async def assign(self, actor: Actor, *, subject: str, role: str) -> list[str]:
        return await self._change_assignment(actor, subject, role, add=True)

    async def unassign(self, actor: Actor, *, subject: str, role: str) -> list[str]:
        return await self._change_assignment(actor, subject, role, add=False)

    async def _change_assignment(
        self, actor: Actor, subject: str, name: str, *, add: bool
    ) -> list[str]:
        check_subject(subject)
        await self._role(name)
        graph = await self._rbac.graph()
        self._require_held(actor, graph.effective([name]), "assign" if add else "unassign")
        doc = await self._store.get(ASSIGNMENTS, subject)
        before = sorted(doc.data.get("roles", ())) if doc else []
        if add == (name in before):
            state = "already has" if add else "does not have"
            raise AccessFailure(
                AccessFailureCode.INVALID, f"{subject!r} {state} role {name!r}", field="role"
            )
        after = sorted({*before, name}) if add else [r for r in before if r != name]
        try:
            await self._store.put(
                ASSIGNMENTS, subject, {"roles": after}, expected_version=doc.version if doc else 0
            )
        except ConflictError:
            raise AccessFailure(AccessFailureCode.CONFLICT, "changed concurrently; retry") from None
        await self._audit.record(
            actor=actor.subject,
            action="assignRole" if add else "unassignRole",
            target=subject,
            before=before,
            after=after,
        )
        return after

    # -- helpers -----------------------------------------------------------------------
    async def _role(self, name: str) -> Role:
        doc = await self._store.get(ROLES, name)
        if doc is None:
            raise AccessFailure(AccessFailureCode.NOT_FOUND, f"no role {name!r}", field="role")
        return Role.from_document(doc)

    async def _parents(self, inherits: Sequence[str]) -> tuple[str, ...]:
        graph = await self._rbac.graph()
        missing = [p for p in inherits if p not in graph.roles]
        if missing:
            raise AccessFailure(
                AccessFailureCode.NOT_FOUND,
                f"unknown roles: {', '.join(missing)}",
                field="inherits",
            )
        return tuple(dict.fromkeys(inherits))

    @staticmethod
    def _require_held(actor: Actor, perms: frozenset[str], verb: str) -> None:
        missing = sorted(perms - actor.permissions)
        if missing:
            raise AccessFailure(
                AccessFailureCode.NOT_HELD,
                f"you cannot {verb} {', '.join(missing)}: you do not hold it",
                field="permissions",
            )

    async def _write(self, name: str, data: dict, *, expected_version: int) -> Role:
        try:
            doc = await self._store.put(ROLES, name, data, expected_version=expected_version)
        except ConflictError:
            raise AccessFailure(
                AccessFailureCode.CONFLICT, f"role {name!r} changed concurrently"
            ) from None
        await self._rbac.bump()
        return Role.from_document(doc)

    async def _rename(self, actor: Actor, role: Role, new_name: str, data: dict) -> Role:
        _check_name(new_name, field="newName")
        graph = await self._rbac.graph()
        if new_name in graph.roles:
            raise AccessFailure(
                AccessFailureCode.ALREADY_EXISTS, f"role {new_name!r} exists", field="newName"
            )
        created = await self._write(new_name, data, expected_version=0)
        for heir in graph.children(role.name):
            heir_role = graph.roles[heir]
            heir_data = _role_data(heir_role)
            heir_data["inherits"] = [new_name if p == role.name else p for p in heir_role.inherits]
            await self._write(heir, heir_data, expected_version=heir_role.version)
        await self._replace_in_assignments(role.name, new_name)
        await self._store.delete(ROLES, role.name)
        await self._rbac.bump()
        return created

    async def _replace_in_assignments(self, old: str, new: str | None) -> None:
        async for doc in all_documents(self._store, ASSIGNMENTS):
            roles = doc.data.get("roles", [])
            if old in roles:
                updated = sorted({new if r == old else r for r in roles} - {None})
                await self._store.put(ASSIGNMENTS, doc.id, {"roles": updated})


def _role_data(role: Role) -> dict:
    return {
        "description": role.description,
        "permissions": normalise(role.permissions),
        "inherits": list(role.inherits),
        "builtin": role.builtin,
        "created_at": role.created_at,
    }


def _check_name(name: str, *, field: str = "name") -> None:
    if not ROLE_NAME.match(name):
        raise AccessFailure(
            AccessFailureCode.INVALID,
            "role names are 2-40 characters: lowercase letters, digits, '-' and '_', "
            "starting with a letter",
            field=field,
        )


def check_subject(subject: str) -> None:
    if not SUBJECT.match(subject):
        raise AccessFailure(AccessFailureCode.INVALID, "invalid subject", field="subject")


def check_description(text: str) -> str:
    if len(text) > 500:
        raise AccessFailure(
            AccessFailureCode.INVALID, "description is over 500 characters", field="description"
        )
    return text.strip()


def _perms(keys: Sequence[str]) -> frozenset[str]:
    try:
        return frozenset(normalise(keys))
    except BadUserInput as exc:
        raise AccessFailure(AccessFailureCode.INVALID, exc.message, field="permissions") from None
