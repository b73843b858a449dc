"""Request-scoped loaders: identical Brigade calls in one query are made once.

Brigade has no batch endpoint, so a batch is the distinct calls run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiodataloader import DataLoader

from gateway.backends.brigade.caller import Caller
from gateway.backends.brigade.client import BrigadeClient
from gateway.backends.brigade.models import AgentUsage, TaskPage, TaskQuery


class UsageLoader(DataLoader[Caller, AgentUsage]):
    def __init__(self, client: BrigadeClient) -> None:
        super().__init__()
        self.client = client

    async def batch_load_fn(self, keys: Iterable[Caller]) -> list[AgentUsage | BaseException]:
        return await asyncio.gather(*(self.client.usage(k) for k in keys), return_exceptions=True)


class TaskPageLoader(DataLoader[tuple[Caller, TaskQuery], TaskPage]):
    def __init__(self, client: BrigadeClient) -> None:
        super().__init__()
        self.client = client

    async def batch_load_fn(
        self, keys: Iterable[tuple[Caller, TaskQuery]]
    ) -> list[TaskPage | BaseException]:
        calls = (self.client.task_history(caller, query) for caller, query in keys)
        return await asyncio.gather(*calls, return_exceptions=True)
