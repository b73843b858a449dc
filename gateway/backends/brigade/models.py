"""Brigade's answers, parsed once: ``/api/agents/usage`` and ``/api/tasks/history``.

Brigade is a FastAPI service; fields it may omit are optional here, and numbers may come as
strings or nulls, so parsing is lenient about form and strict only about shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.errors import BackendError

TASK_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
MAX_LIMIT = 500  # Brigade's own bound on ``limit``


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """One ``GET /api/tasks/history`` call: hashable, so loaders de-duplicate it."""

    limit: int
    offset: int = 0
    status: str | None = None
    agent_id: str | None = None

    def params(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {"limit": self.limit, "offset": self.offset}
        if self.status:
            params["status"] = self.status
        if self.agent_id:
            params["agent_id"] = self.agent_id
        return params


@dataclass(frozen=True, slots=True)
class AgentUsage:
    agent_count: int = 0
    task_count: int = 0
    compute_hours: float = 0.0
    api_calls: int = 0
    total_cost: float = 0.0
    tasks_by_status: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: Any) -> AgentUsage:
        if not isinstance(body, dict):
            raise _unexpected("usage")
        by_status = body.get("tasks_by_status")
        return cls(
            agent_count=_int(body.get("agent_count")),
            task_count=_int(body.get("task_count")),
            compute_hours=_float(body.get("compute_hours")),
            api_calls=_int(body.get("api_calls")),
            total_cost=_float(body.get("total_cost")),
            tasks_by_status=(
                {str(k): _int(v) for k, v in by_status.items()}
                if isinstance(by_status, dict)
                else {}
            ),
        )


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    agent_id: str
    status: str
    agent_name: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None
    api_calls: int | None = None
    input: Any = None
    output: Any = None
    error: str | None = None

    @classmethod
    def from_json(cls, item: Any) -> Task:
        if not isinstance(item, dict) or not (item.get("task_id") or item.get("id")):
            raise _unexpected("task")
        duration = item.get("duration")
        error = item.get("error")
        return cls(
            id=str(item.get("task_id") or item.get("id")),
            agent_id=str(item.get("agent_id") or ""),
            status=str(item.get("status") or "").lower(),
            agent_name=item.get("agent_name"),
            created_at=_time(item.get("created_at")),
            started_at=_time(item.get("started_at")),
            completed_at=_time(item.get("completed_at")),
            duration_seconds=None if duration is None else _float(duration),
            api_calls=None if item.get("api_calls") is None else _int(item.get("api_calls")),
            input=item.get("input"),
            output=item.get("output"),
            error=None if error is None else str(error),
        )


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: list[Task]
    total: int
    offset: int

    @classmethod
    def from_json(cls, body: Any, *, offset: int) -> TaskPage:
        # Brigade answers an object with ``tasks``; older builds answered the bare list.
        items = body.get("tasks") if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise _unexpected("task history")
        tasks = [Task.from_json(item) for item in items]
        total = body.get("total") if isinstance(body, dict) else None
        return cls(
            tasks=tasks,
            total=_int(total) if total is not None else offset + len(tasks),
            offset=offset,
        )


def _unexpected(what: str) -> BackendError:
    return BackendError(f"unexpected {what} response from brigade", backend="brigade")


def _int(value: Any) -> int:
    try:
        return int(float(value)) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
