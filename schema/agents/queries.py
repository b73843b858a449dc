"""``agents { usage tasks(status, agentId, first, after) }`` over Brigade."""

from __future__ import annotations

import strawberry

from gateway.agents.loaders import TaskPageLoader, UsageLoader
from gateway.agents.models import Caller, TaskQuery
from gateway.context import Info
from gateway.errors import BadUserInput
from schema.agents.types import AgentTask, AgentUsage, TaskStatus
from schema.cache_control import CacheScope, cache_control
from schema.cost import BACKEND
from schema.pagination import Connection, check_first, index_connection, start_after
from schema.permissions import require

CURSOR = "task"  # a cursor is the task's offset in Brigade's (filtered) history


@strawberry.type
class AgentsQuery:
    @strawberry.field(
        metadata=BACKEND, description="Agent count, task count, compute hours, API calls, cost."
    )
    async def usage(self, info: Info) -> AgentUsage | None:
        loader = info.context.loaders.get(UsageLoader, info.context.services.agents)
        return AgentUsage.from_model(await loader.load(Caller.of(info.context.principal)))

    @strawberry.field(metadata=BACKEND, description="Task history, newest first, as a connection.")
    async def tasks(
        self,
        info: Info,
        status: TaskStatus | None = None,
        agent_id: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[AgentTask] | None:
        check_first(first)
        if status is TaskStatus.UNKNOWN:
            raise BadUserInput("UNKNOWN is not a status to filter by", field="status")
        offset = start_after(CURSOR, after)
        # Brigade wants limit >= 1: with first=0 one item is fetched for the total only.
        query = TaskQuery(
            limit=max(first, 1),
            offset=offset,
            status=status.value if status else None,
            agent_id=agent_id or None,
        )
        loader = info.context.loaders.get(TaskPageLoader, info.context.services.agents)
        page = await loader.load((Caller.of(info.context.principal), query))
        tasks = [AgentTask.from_model(t) for t in page.tasks[:first]]
        return index_connection(tasks, kind=CURSOR, start=offset, total=page.total)


@strawberry.type
class Query:
    @strawberry.field(
        extensions=[require("agents", "read")],
        # Brigade answers each caller with its own agents (the caller's JWT is forwarded).
        directives=[cache_control(30, domain="agents", scope=CacheScope.PRIVATE)],
    )
    def agents(self) -> AgentsQuery | None:
        return AgentsQuery()
