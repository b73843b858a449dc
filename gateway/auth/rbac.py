"""Role-based access control: the role graph, effective permissions and checks with reasons.

Roles live in the store (collection ``roles``); subjects get roles from their credential (API
token roles, OIDC roles claim) plus assignments stored in ``role_assignments`` — except a
*capped* API token (minted by someone else for this subject), which holds its own roles only.
The role graph is cached per process and reloaded when the access generation moves
(:mod:`gateway.auth.changes`), so a grant made on one replica is seen by the others on their
next request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.auth.changes import AccessChanges
from gateway.auth.permissions import (
    ADMIN,
    ALL_PERMISSIONS,
    BUILTIN_DESCRIPTIONS,
    BUILTIN_GRANTS,
    BUILTIN_ROLES,
    builtin_parent,
    normalise,
)
from gateway.auth.principal import Principal
from gateway.errors import ConflictError
from gateway.store import names
from gateway.store.base import Document, Store, all_documents


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    description: str
    permissions: frozenset[str]
    """Granted directly to this role (admin: all, always)."""
    inherits: tuple[str, ...]
    builtin: bool
    created_at: float
    updated_at: float
    version: int

    @classmethod
    def from_document(cls, doc: Document) -> Role:
        d = doc.data
        perms = ALL_PERMISSIONS if doc.id == ADMIN else frozenset(d.get("permissions", ()))
        return cls(
            name=doc.id,
            description=d.get("description", ""),
            permissions=perms,
            inherits=tuple(d.get("inherits", ())),
            builtin=bool(d.get("builtin")),
            created_at=float(d.get("created_at", doc.updated_at)),
            updated_at=doc.updated_at,
            version=doc.version,
        )


@dataclass(frozen=True, slots=True)
class CheckResult:
    allowed: bool
    reason: str
    role: str | None = None
    """The role that grants the permission directly."""
    path: tuple[str, ...] = ()
    """From one of the subject's roles down the inheritance chain to ``role``."""


class RoleGraph:
    """An immutable snapshot of all roles, answering inheritance questions."""

    def __init__(self, roles: Iterable[Role]) -> None:
        self.roles: dict[str, Role] = {r.name: r for r in roles}
        self._closure: dict[str, frozenset[str]] = {}

    def ancestors_closure(self, name: str) -> frozenset[str]:
        """The role and every role it inherits from, transitively."""
        if name not in self._closure:
            seen: set[str] = set()
            stack = [name]
            while stack:
                current = stack.pop()
                if current in seen or current not in self.roles:
                    continue
                seen.add(current)
                stack.extend(self.roles[current].inherits)
            self._closure[name] = frozenset(seen)
        return self._closure[name]

    def effective(self, role_names: Iterable[str]) -> frozenset[str]:
        perms: set[str] = set()
        for name in role_names:
            for inherited in self.ancestors_closure(name):
                perms |= self.roles[inherited].permissions
        return frozenset(perms)

    def would_cycle(self, name: str, inherits: Iterable[str]) -> bool:
        """Whether giving ``name`` these parents makes it (transitively) its own parent."""
        return any(name in self.ancestors_closure(parent) for parent in inherits)

    def check(self, role_names: Iterable[str], permission: str) -> CheckResult:
        known = sorted(n for n in set(role_names) if n in self.roles)
        for start in known:
            path = self._path_to_grant(start, permission)
            if path:
                via = path[-1]
                if len(path) == 1:
                    reason = f"role {via!r} grants {permission}"
                else:
                    chain = " -> ".join(path)
                    reason = f"role {start!r} inherits {via!r} ({chain}), which grants {permission}"
                return CheckResult(True, reason, via, path)
        held = ", ".join(known) or "none"
        return CheckResult(False, f"no role grants {permission} (roles: {held})")

    def _path_to_grant(self, start: str, permission: str) -> tuple[str, ...]:
        # Breadth-first, so the explanation names the closest granting role.
        queue: list[tuple[str, ...]] = [(start,)]
        seen: set[str] = set()
        while queue:
            path = queue.pop(0)
            role = self.roles.get(path[-1])
            if role is None or role.name in seen:
                continue
            seen.add(role.name)
            if permission in role.permissions:
                return path
            queue.extend((*path, parent) for parent in role.inherits)
        return ()

    def descendants(self, name: str) -> frozenset[str]:
        """Every role that inherits from ``name``, transitively (not ``name`` itself)."""
        return frozenset(r for r in self.roles if r != name and name in self.ancestors_closure(r))

    def children(self, name: str) -> list[str]:
        return sorted(r.name for r in self.roles.values() if name in r.inherits)

    def level(self, name: str) -> int:
        """Distance from a top role (one nobody inherits from); 0 for the top."""
        depth, frontier, seen = 0, [name], {name}
        while frontier:
            above = [c for n in frontier for c in self.children(n) if c not in seen]
            if not above:
                return depth
            seen.update(above)
            frontier, depth = above, depth + 1
        return depth


class RBAC:
    """Loads the role graph (cached by generation) and resolves subjects' roles."""

    def __init__(self, *, store: Store, changes: AccessChanges | None = None) -> None:
        self._store = store
        self.changes = changes or AccessChanges(store=store)
        self._graph: RoleGraph | None = None
        self._generation: int | None = None
        self._lock = asyncio.Lock()

    async def ensure_builtins(self, *, now: float) -> None:
        """Create missing built-in roles; existing ones keep their (possibly edited) grants."""
        for name in BUILTIN_ROLES:
            if await self._store.get(names.ROLES, name) is None:
                data = {
                    "description": BUILTIN_DESCRIPTIONS[name],
                    "permissions": normalise(BUILTIN_GRANTS[name]),
                    "inherits": list(builtin_parent(name)),
                    "builtin": True,
                    "created_at": now,
                }
                # Replicas starting together race here; whoever loses finds the role made.
                with contextlib.suppress(ConflictError):
                    await self._store.put(names.ROLES, name, data, expected_version=0)
        await self.bump("built-in roles")

    async def bump(self, reason: str = "roles") -> None:
        """Invalidate every replica's cached role graph (and re-check open websockets)."""
        await self.changes.bump(reason)

    async def graph(self, *, fresh: bool = False) -> RoleGraph:
        """The role graph, reloaded when the access generation moved. The generation comes
        from memory (:class:`~gateway.auth.watch.AccessWatch`) unless ``fresh`` asks the
        store, as changes to access do: they must judge by the latest grants."""
        known = None if fresh else self.changes.known()
        generation = known if known is not None else await self.changes.generation()
        if self._graph is not None and generation == self._generation:
            return self._graph
        async with self._lock:
            if self._graph is None or generation != self._generation:
                self._graph = RoleGraph(await self._load_roles())
                self._generation = generation
        return self._graph

    async def _load_roles(self) -> list[Role]:
        return [Role.from_document(d) async for d in all_documents(self._store, names.ROLES)]

    async def assigned_roles(self, subject: str) -> frozenset[str]:
        doc = await self._store.get(names.ROLE_ASSIGNMENTS, subject)
        return frozenset(doc.data.get("roles", ())) if doc else frozenset()

    async def holders(self, role: str) -> list[str]:
        """Subjects the role is assigned to (a scan: for rare changes, not requests)."""
        return [
            doc.id
            async for doc in all_documents(self._store, names.ROLE_ASSIGNMENTS)
            if role in doc.data.get("roles", ())
        ]

    async def roles_of(self, subject: str, credential_roles: Iterable[str]) -> frozenset[str]:
        return frozenset(credential_roles) | await self.assigned_roles(subject)

    async def authorize(
        self, principal: Principal, graph: RoleGraph | None = None
    ) -> tuple[frozenset[str], frozenset[str]]:
        """The principal's roles and effective permissions, as of now.

        A capped token holds the roles written into it and nothing else: roles assigned to
        its subject later (say ``admin``) must not flow into a token someone else minted.
        """
        if principal.capped:
            roles = principal.roles
        else:
            roles = await self.roles_of(principal.subject, principal.roles)
        graph = graph or await self.graph()
        return roles, graph.effective(roles)
