"""Issuing and revoking API tokens on behalf of a caller: privilege-checked and audited."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.auth.actor import AccessFailure, AccessFailureCode, Actor
from gateway.auth.audit import AuditLog
from gateway.auth.guard import PrivilegeGuard
from gateway.auth.rbac import RBAC
from gateway.auth.tokens import ApiToken, TokenService, parse_duration
from gateway.auth.validation import check_description, check_subject


class TokenAdmin:
    def __init__(
        self, *, tokens: TokenService, rbac: RBAC, audit: AuditLog, guard: PrivilegeGuard
    ) -> None:
        self._tokens = tokens
        self._rbac = rbac
        self._audit = audit
        self._guard = guard

    async def issue(
        self,
        actor: Actor,
        *,
        subject: str,
        roles: Sequence[str],
        expires_in: str | None,
        description: str = "",
    ) -> tuple[str, ApiToken]:
        check_subject(subject)
        if not roles:
            raise AccessFailure(AccessFailureCode.INVALID, "give at least one role", field="roles")
        description = check_description(description)
        graph = await self._rbac.graph(fresh=True)
        unknown = sorted(set(roles) - set(graph.roles))
        if unknown:
            raise AccessFailure(
                AccessFailureCode.NOT_FOUND, f"unknown roles: {', '.join(unknown)}", field="roles"
            )
        seconds = parse_duration(expires_in or "never")
        capped = await self._guard.mint(actor, graph, subject=subject, roles=roles)
        secret, token = await self._tokens.create(
            subject=subject,
            roles=sorted(set(roles)),
            expires_in=seconds,
            description=description,
            created_by=actor.subject,
            capped=capped,
        )
        after = {"id": token.id, "subject": subject, "roles": sorted(set(roles))}
        after |= {"expires_at": token.expires_at, "capped": capped}
        await self._audit.record(
            actor=actor.subject, action="createApiToken", target=token.id, before=None, after=after
        )
        return secret, token

    async def revoke(self, actor: Actor, *, token_id: str) -> ApiToken:
        token = await self._tokens.get(token_id)
        if token is None:
            raise AccessFailure(
                AccessFailureCode.NOT_FOUND, f"API token {token_id!r} not found", field="id"
            )
        graph = await self._rbac.graph(fresh=True)
        await self._guard.act_on_subject(actor, graph, token.subject, field="id")
        token = await self._tokens.revoke(token_id)
        await self._audit.record(
            actor=actor.subject,
            action="revokeApiToken",
            target=token_id,
            before={"subject": token.subject, "roles": sorted(token.roles)},
            after={"revoked_at": token.revoked_at},
        )
        return token
