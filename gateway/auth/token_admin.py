"""Issuing and revoking API tokens on behalf of a caller: privilege-checked and audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.auth.audit import AuditLog
from gateway.auth.rbac import RBAC
from gateway.auth.roles import (
    AccessFailure,
    AccessFailureCode,
    Actor,
    check_description,
    check_subject,
)
from gateway.auth.tokens import TokenService, parse_duration


class TokenAdmin:
    def __init__(self, *, tokens: TokenService, rbac: RBAC, audit: AuditLog) -> None:
        self._tokens = tokens
        self._rbac = rbac
        self._audit = audit

    async def issue(
        self,
        actor: Actor,
        *,
        subject: str,
        roles: Sequence[str],
        expires_in: str | None,
        description: str = "",
    ) -> tuple[str, Any]:
        check_subject(subject)
        if not roles:
            raise AccessFailure(AccessFailureCode.INVALID, "give at least one role", field="roles")
        description = check_description(description)
        graph = await self._rbac.graph()
        unknown = sorted(set(roles) - set(graph.roles))
        if unknown:
            raise AccessFailure(
                AccessFailureCode.NOT_FOUND, f"unknown roles: {', '.join(unknown)}", field="roles"
            )
        missing = sorted(graph.effective(roles) - actor.permissions)
        if missing:
            raise AccessFailure(
                AccessFailureCode.NOT_HELD,
                f"the token would hold {', '.join(missing)}, which you do not hold",
                field="roles",
            )
        seconds = parse_duration(expires_in or "never")
        secret, token = await self._tokens.create(
            subject=subject,
            roles=sorted(set(roles)),
            expires_in=seconds,
            description=description,
            created_by=actor.subject,
        )
        after = {"id": token.id, "subject": subject, "roles": sorted(set(roles))}
        after["expires_at"] = token.expires_at
        await self._audit.record(
            actor=actor.subject, action="createApiToken", target=token.id, before=None, after=after
        )
        return secret, token

    async def revoke(self, actor: Actor, *, token_id: str) -> Any:
        token = await self._tokens.revoke(token_id)
        await self._audit.record(
            actor=actor.subject,
            action="revokeApiToken",
            target=token_id,
            before={"subject": token.subject, "roles": sorted(token.roles)},
            after={"revoked_at": token.revoked_at},
        )
        return token
