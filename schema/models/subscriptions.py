"""Live download progress: the job now, then every change until it finishes."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from gateway.context import Info
from schema.models.jobs import DownloadProgress
from schema.permissions import require


@strawberry.type
class ModelsSubscription:
    @strawberry.subscription(
        extensions=[require("models", "read")],
        description="Bytes and files done, rate and ETA of a download, until it finishes "
        "(any replica's download, when REDIS_URL is set).",
    )
    async def download_progress(
        self, info: Info, job_id: strawberry.ID
    ) -> AsyncGenerator[DownloadProgress, None]:
        models = info.context.services.models
        await models.job(str(job_id))  # NOT_FOUND for unknown ids and other kinds of job
        async with models.watch(str(job_id)) as updates:
            async for record in updates:
                yield DownloadProgress.build(record)
