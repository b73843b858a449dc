"""Request-scoped loaders for the Hub: each model's info is fetched at most once per request.

The Hub has no batch endpoint for model info, so a batch is one call per distinct key, run
concurrently (the client's thread pool bounds them); de-duplication is the win.
"""

from __future__ import annotations

import asyncio

from aiodataloader import DataLoader

from gateway.backends.hub.client import HubClient
from gateway.backends.hub.models import HubModel

ModelKey = tuple[str, str | None]
"""(repo id, revision or None for the default branch)"""


class HubModelLoader(DataLoader[ModelKey, HubModel]):
    def __init__(self, client: HubClient, token: str | None) -> None:
        super().__init__()
        self.client = client
        self.token = token

    async def batch_load_fn(self, keys: list[ModelKey]) -> list[HubModel | BaseException]:
        calls = (self.client.model(repo, revision=rev, token=self.token) for repo, rev in keys)
        return list(await asyncio.gather(*calls, return_exceptions=True))  # one failure each
