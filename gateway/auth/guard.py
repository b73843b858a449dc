"""The one rule of access changes, enforced here and nowhere else.

An actor may not cause any principal — itself included, through tokens, assignments, grants,
role inheritance or role edits — to hold a permission the actor does not hold (*confer*), and
may not revoke, unassign, edit or delete anything belonging to a principal or a role that holds
a permission the actor does not hold (*act on*). Two corollaries:

- built-in roles are shared by everybody, so only admins (holders of every permission) change
  them;
- a token minted for another subject needs ``access:execute`` (it acts under someone else's
  name), the subject must hold nothing the actor does not, and the token is *capped*: it holds
  the roles written into it, never roles assigned to its subject later.

A subject's permissions, as the gateway knows them, come from its role assignments and the
roles of its active API tokens. OIDC roles live in the identity provider and are only seen
when the subject signs in, so they are not part of this view.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.auth.actor import AccessFailure, AccessFailureCode, Actor
from gateway.auth.permissions import MINT_FOR_OTHERS, is_admin
from gateway.auth.rbac import RBAC, RoleGraph
from gateway.auth.tokens import TokenService


def _not_held(message: str, field: str) -> AccessFailure:
    return AccessFailure(AccessFailureCode.NOT_HELD, message, field=field)


class PrivilegeGuard:
    def __init__(self, *, rbac: RBAC, tokens: TokenService) -> None:
        self._rbac = rbac
        self._tokens = tokens

    # -- confer ------------------------------------------------------------------------
    @staticmethod
    def confer(actor: Actor, permissions: Iterable[str], *, verb: str, field: str) -> None:
        """Refuse unless the actor holds every permission the change hands out."""
        missing = sorted(set(permissions) - actor.permissions)
        if missing:
            raise _not_held(f"you cannot {verb} {', '.join(missing)}: you do not hold it", field)

    # -- act on ------------------------------------------------------------------------
    def act_on_role(self, actor: Actor, graph: RoleGraph, name: str, *, field: str) -> None:
        """Refuse changing role ``name`` unless the actor out-ranks it and every role that
        inherits from it (a change to a role reaches its heirs too)."""
        role = graph.roles[name]
        if role.builtin and not is_admin(actor.permissions):
            raise AccessFailure(
                AccessFailureCode.BUILTIN_ROLE,
                f"only admins change built-in roles such as {name!r}",
                field=field,
            )
        for affected in sorted({name, *graph.descendants(name)}):
            missing = sorted(graph.effective([affected]) - actor.permissions)
            if missing:
                raise _not_held(
                    f"role {affected!r} holds {', '.join(missing)}, which you do not hold",
                    field,
                )

    async def act_on_subject(
        self, actor: Actor, graph: RoleGraph, subject: str, *, field: str = "subject"
    ) -> None:
        """Refuse changing anything of ``subject`` unless the actor holds all it holds."""
        missing = sorted(await self.subject_permissions(graph, subject) - actor.permissions)
        if missing:
            raise _not_held(f"{subject!r} holds {', '.join(missing)}, which you do not hold", field)

    async def act_on_holders(self, actor: Actor, graph: RoleGraph, role: str) -> None:
        """Deleting a role unassigns it from every subject that has it."""
        for subject in await self._rbac.holders(role):
            await self.act_on_subject(actor, graph, subject, field="name")

    # -- tokens ------------------------------------------------------------------------
    async def mint(
        self, actor: Actor, graph: RoleGraph, *, subject: str, roles: Iterable[str]
    ) -> bool:
        """Check a new token; returns whether it is capped (minted for someone else)."""
        self.confer(actor, graph.effective(roles), verb="issue a token holding", field="roles")
        for_other = subject != actor.subject
        if for_other and MINT_FOR_OTHERS not in actor.permissions:
            raise _not_held(
                f"minting a token for another subject needs {MINT_FOR_OTHERS}, "
                "which you do not hold",
                "subject",
            )
        await self.act_on_subject(actor, graph, subject)
        return for_other

    async def subject_permissions(self, graph: RoleGraph, subject: str) -> frozenset[str]:
        roles = set(await self._rbac.assigned_roles(subject))
        for token in await self._tokens.of_subject(subject):
            roles.update(token.roles)
        return graph.effective(roles)
