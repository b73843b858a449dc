"""Live audit trail: every grant change as it happens, on any replica."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from gateway.auth.audit import AuditEntry as AuditRecord
from gateway.context import Info
from schema.access.types import AuditEntry
from schema.permissions import require


@strawberry.type
class AccessSubscription:
    @strawberry.subscription(
        extensions=[require("access", "read")],
        description="Audit entries as they are written (live only; use auditLog for history).",
    )
    async def audit_events(self, info: Info) -> AsyncGenerator[AuditEntry, None]:
        async with info.context.services.audit.live() as messages:
            async for message in messages:
                yield AuditEntry.from_record(AuditRecord.from_message(message))
