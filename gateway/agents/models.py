"""What the agents domain hands the schema: Brigade's usage and tasks as parsed from its
answers, the query of a task history page, and the caller whose credential is sent."""

from __future__ import annotations

from gateway.backends.brigade.caller import Caller
from gateway.backends.brigade.models import TASK_STATUSES, AgentUsage, Task, TaskPage, TaskQuery

__all__ = ["TASK_STATUSES", "AgentUsage", "Caller", "Task", "TaskPage", "TaskQuery"]
