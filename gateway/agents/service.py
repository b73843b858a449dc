"""AgentsService: the one thing ``schema/agents`` calls.

It owns the Brigade client (whose answers are cached per caller for a minute) and is what
the request's loaders (:mod:`gateway.agents.loaders`) call.
"""

from __future__ import annotations

from gateway.agents.models import AgentUsage, Caller, TaskPage, TaskQuery
from gateway.backends.brigade.client import BrigadeClient


class AgentsService:
    def __init__(self, *, brigade: BrigadeClient) -> None:
        self.brigade = brigade

    async def usage(self, caller: Caller) -> AgentUsage:
        """Agent and task counts, compute hours, API calls and cost, as ``caller`` sees them."""
        return await self.brigade.usage(caller)

    async def tasks(self, caller: Caller, query: TaskQuery) -> TaskPage:
        """One page of ``caller``'s task history, newest first."""
        return await self.brigade.task_history(caller, query)
