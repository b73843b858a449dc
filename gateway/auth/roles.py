"""Changing roles, grants and assignments: validated, privilege-checked and audited.

Rules (DESIGN §5 and the access issue): built-in roles cannot be deleted or renamed and keep
their place in the hierarchy; ``admin`` always holds everything; no role may inherit in a cycle.
Who may change what is decided by :class:`gateway.auth.guard.PrivilegeGuard`, the one place
where the privilege rule lives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from gateway.auth.actor import AccessFailure, AccessFailureCode, Actor
from gateway.auth.audit import AuditLog
from gateway.auth.guard import PrivilegeGuard
from gateway.auth.permissions import ADMIN, normalise
from gateway.auth.rbac import RBAC, Role
from gateway.auth.validation import check_description, check_role_name, check_subject, perm_keys
from gateway.errors import ConflictError
from gateway.store import names
from gateway.store.base import Store, all_documents

__all__ = ["AccessFailure", "AccessFailureCode", "Actor", "RoleAdmin"]


class RoleAdmin:
    def __init__(
        self,
        *,
        store: Store,
        rbac: RBAC,
        audit: AuditLog,
        guard: PrivilegeGuard,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._rbac = rbac
        self._audit = audit
        self._guard = guard
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
        check_role_name(name)
        perms = perm_keys(permissions)
        graph = await self._rbac.graph(fresh=True)
        if name in graph.roles:
            raise AccessFailure(
                AccessFailureCode.ALREADY_EXISTS, f"role {name!r} exists", field="name"
            )
        parents = await self._parents(inherits)
        held = perms | graph.effective(parents)
        self._guard.confer(actor, held, verb="create a role with", field="permissions")
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
        graph = await self._rbac.graph(fresh=True)
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
        self._guard.act_on_role(actor, graph, name, field="name")
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
            self._guard.confer(actor, graph.effective(parents), verb="inherit", field="inherits")
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
        graph = await self._rbac.graph(fresh=True)
        heirs = graph.children(name)
        if heirs:
            raise AccessFailure(
                AccessFailureCode.INVALID,
                f"roles {', '.join(heirs)} inherit from {name!r}; change them first",
                field="name",
            )
        self._guard.act_on_role(actor, graph, name, field="name")
        await self._guard.act_on_holders(actor, graph, name)
        await self._replace_in_assignments(name, None)
        await self._store.delete(names.ROLES, name, expected_version=role.version)
        await self._rbac.bump("roles")
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
        return await self._change_grants(actor, role, perm_keys(permissions), add=True)

    async def revoke(self, actor: Actor, *, role: str, permissions: Sequence[str]) -> Role:
        return await self._change_grants(actor, role, perm_keys(permissions), add=False)

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
        graph = await self._rbac.graph(fresh=True)
        self._guard.act_on_role(actor, graph, name, field="role")
        verb = "grant" if add else "revoke"
        self._guard.confer(actor, perms, verb=verb, field="permissions")
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
        graph = await self._rbac.graph(fresh=True)
        if add:
            self._guard.confer(actor, graph.effective([name]), verb="assign", field="role")
        await self._guard.act_on_subject(actor, graph, subject)
        doc = await self._store.get(names.ROLE_ASSIGNMENTS, subject)
        before = sorted(doc.data.get("roles", ())) if doc else []
        if add == (name in before):
            state = "already has" if add else "does not have"
            raise AccessFailure(
                AccessFailureCode.INVALID, f"{subject!r} {state} role {name!r}", field="role"
            )
        after = sorted({*before, name}) if add else [r for r in before if r != name]
        try:
            await self._store.put(
                names.ROLE_ASSIGNMENTS,
                subject,
                {"roles": after},
                expected_version=doc.version if doc else 0,
            )
        except ConflictError:
            raise AccessFailure(AccessFailureCode.CONFLICT, "changed concurrently; retry") from None
        await self._rbac.bump("assignment")  # open websockets of the subject re-check now
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
        doc = await self._store.get(names.ROLES, name)
        if doc is None:
            raise AccessFailure(AccessFailureCode.NOT_FOUND, f"no role {name!r}", field="role")
        return Role.from_document(doc)

    async def _parents(self, inherits: Sequence[str]) -> tuple[str, ...]:
        graph = await self._rbac.graph(fresh=True)
        missing = [p for p in inherits if p not in graph.roles]
        if missing:
            raise AccessFailure(
                AccessFailureCode.NOT_FOUND,
                f"unknown roles: {', '.join(missing)}",
                field="inherits",
            )
        return tuple(dict.fromkeys(inherits))

    async def _write(self, name: str, data: dict, *, expected_version: int) -> Role:
        try:
            doc = await self._store.put(names.ROLES, name, data, expected_version=expected_version)
        except ConflictError:
            raise AccessFailure(
                AccessFailureCode.CONFLICT, f"role {name!r} changed concurrently"
            ) from None
        await self._rbac.bump("roles")
        return Role.from_document(doc)

    async def _rename(self, actor: Actor, role: Role, new_name: str, data: dict) -> Role:
        check_role_name(new_name, field="newName")
        graph = await self._rbac.graph(fresh=True)
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
        await self._store.delete(names.ROLES, role.name)
        await self._rbac.bump("roles")
        return created

    async def _replace_in_assignments(self, old: str, new: str | None) -> None:
        async for doc in all_documents(self._store, names.ROLE_ASSIGNMENTS):
            roles = doc.data.get("roles", [])
            if old in roles:
                updated = sorted({new if r == old else r for r in roles} - {None})
                await self._store.put(names.ROLE_ASSIGNMENTS, doc.id, {"roles": updated})


def _role_data(role: Role) -> dict:
    return {
        "description": role.description,
        "permissions": normalise(role.permissions),
        "inherits": list(role.inherits),
        "builtin": role.builtin,
        "created_at": role.created_at,
    }
