"""GraphQL types of the agents domain."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from gateway.agents.models import TASK_STATUSES
from gateway.agents.models import AgentUsage as UsageModel
from gateway.agents.models import Task as TaskModel
from schema.enums import enum_of
from schema.mirror import mirror

TaskStatus = enum_of(
    "TaskStatus",
    (*TASK_STATUSES, "unknown"),
    description="A Brigade task's state; UNKNOWN for states this gateway predates.",
)


def task_status(value: str) -> Enum:
    return TaskStatus(value) if value in TASK_STATUSES else TaskStatus.UNKNOWN


@strawberry.type
class TaskStatusCount:
    status: TaskStatus
    count: int


@strawberry.type(description="Brigade usage as the caller may see it.")
class AgentUsage:
    agent_count: int
    task_count: int
    compute_hours: float
    api_calls: int
    total_cost: float
    tasks_by_status: list[TaskStatusCount]

    @classmethod
    def from_model(cls, usage: UsageModel) -> AgentUsage:
        counts = [
            TaskStatusCount(status=task_status(s), count=n)
            for s, n in sorted(usage.tasks_by_status.items())
        ]
        return mirror(cls, usage, tasks_by_status=counts)


@strawberry.type(description="One agent task run by Brigade.")
class AgentTask:
    id: strawberry.ID
    agent_id: str
    agent_name: str | None
    status: TaskStatus
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    duration_seconds: float | None
    api_calls: int | None
    error: str | None
    input: JSON | None
    output: JSON | None

    @classmethod
    def from_model(cls, task: TaskModel) -> AgentTask:
        return mirror(cls, task, id=strawberry.ID(task.id), status=task_status(task.status))
