"""Request-scoped loaders: identical Brigade calls in one query are made once.

Brigade has no batch endpoint, so a batch is the distinct calls run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiodataloader import DataLoader

from gateway.agents.models import AgentUsage, Caller, TaskPage, TaskQuery

if TYPE_CHECKING:
    from gateway.agents.service import AgentsService


class UsageLoader(DataLoader[Caller, AgentUsage]):
    def __init__(self, agents: AgentsService) -> None:
        super().__init__()
        self.agents = agents

    async def batch_load_fn(self, keys: Iterable[Caller]) -> list[AgentUsage | BaseException]:
        return await asyncio.gather(*(self.agents.usage(k) for k in keys), return_exceptions=True)


class TaskPageLoader(DataLoader[tuple[Caller, TaskQuery], TaskPage]):
    def __init__(self, agents: AgentsService) -> None:
        super().__init__()
        self.agents = agents

    async def batch_load_fn(
        self, keys: Iterable[tuple[Caller, TaskQuery]]
    ) -> list[TaskPage | BaseException]:
        calls = (self.agents.tasks(caller, query) for caller, query in keys)
        return await asyncio.gather(*calls, return_exceptions=True)
