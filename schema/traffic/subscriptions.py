"""Live progress of a certificate-renewal job."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from gateway.context import Info
from gateway.errors import NotFound
from schema.permissions import require
from schema.traffic.nodes import RenewalJob, traffic


@strawberry.type
class TrafficSubscription:
    @strawberry.subscription(
        extensions=[require("certificates", "read")],
        description="The job now, then every change until it finishes.",
    )
    async def renewal_progress(
        self, info: Info, job_id: strawberry.ID
    ) -> AsyncGenerator[RenewalJob, None]:
        service = traffic(info)
        if await service.renewal(str(job_id)) is None:
            raise NotFound(f"no renewal job {job_id}")
        async with service.watch(str(job_id)) as updates:
            async for update in updates:
                yield RenewalJob.build(update)
