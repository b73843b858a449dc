"""A fake Brigade (the agent service) speaking its HTTP API, with seeded agents and tasks.

Routes: ``GET /health``, ``/api/agents``, ``/api/agents/usage``, ``/api/tasks/history``
(``limit`` 1-500, ``offset``, ``status``, ``agent_id``, ``user_id``) and ``/api/tasks/{id}``.
Every ``/api`` call needs ``Authorization: Bearer``: the service key sees everything (or one
``user_id``), a user's JWT sees only that user's agents — which is what makes forwarding
observable. JWTs are verified when ``jwt_keys`` are given, else only recognised (well formed,
with ``sub``, not expired), which is enough for a sandbox behind a gateway that verified them.
``callers`` counts who called ("service", "user:<sub>"). Data is deterministic per ``seed``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.sandbox.base import Sandbox, bearer
from gateway.sandbox.brigade_seed import DEFAULT_NOW, STATUSES, Agent, iso, seed_data

DEFAULT_API_KEY = "brigade-sandbox-key"


class BrigadeSandbox(Sandbox):
    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        jwt_keys: Sequence[Any] = (),
        jwt_issuer: str | None = None,
        jwt_audience: str | None = None,
        seed: int = 7,
        tasks: int = 240,
        now: datetime = DEFAULT_NOW,
        latency: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.jwt_keys = list(jwt_keys)
        self.jwt_issuer = jwt_issuer
        self.jwt_audience = jwt_audience
        self.agents, self.tasks = seed_data(seed, tasks, now)
        self.callers: Counter[str] = Counter()
        self._callers_lock = threading.Lock()
        routes = [
            Route("/health", self._health),
            Route("/api/agents", self._agents),
            Route("/api/agents/usage", self._usage),
            Route("/api/tasks/history", self._history),
            Route("/api/tasks/{task_id}", self._task),
        ]
        super().__init__(Starlette(routes=routes), latency=latency)

    # -- auth -------------------------------------------------------------------------------
    def _who(self, request: Request) -> str | None:
        """``"*"`` for the service key, the JWT's subject for a user, None if refused."""
        token = bearer(request)
        if not token:
            return None
        if token == self.api_key:
            return "*"
        try:
            claims = self._claims(token)
        except jwt.PyJWTError:
            return None
        sub = claims.get("sub")
        return sub if isinstance(sub, str) and sub and sub != "*" else None

    def _claims(self, token: str) -> dict[str, Any]:
        if not self.jwt_keys:
            unverified = {"verify_signature": False, "verify_exp": True, "require": ["sub", "exp"]}
            return jwt.decode(token, options=unverified)
        last: jwt.PyJWTError = jwt.InvalidTokenError("no key")
        for key in self.jwt_keys:
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=["RS256", "ES256"],
                    issuer=self.jwt_issuer,
                    audience=self.jwt_audience,
                    options={"verify_aud": self.jwt_audience is not None, "require": ["sub"]},
                )
            except jwt.PyJWTError as exc:
                last = exc
        raise last

    def _authorize(self, request: Request) -> str | JSONResponse:
        who = self._who(request)
        if who is None:
            detail = (
                "Not authenticated"
                if "authorization" not in request.headers
                else ("Invalid authentication credentials")
            )
            return JSONResponse({"detail": detail}, status_code=401)
        with self._callers_lock:
            self.callers["service" if who == "*" else f"user:{who}"] += 1
        if who == "*":  # the service may narrow to one user, as the ops-center proxy does
            return request.query_params.get("user_id") or "*"
        return who

    # -- data -------------------------------------------------------------------------------
    def _visible(self, who: str) -> tuple[list[Agent], list[dict[str, Any]]]:
        agents = [a for a in self.agents if who == "*" or a.owner == who]
        ids = {a.id for a in agents}
        return agents, [t for t in self.tasks if t["agent_id"] in ids]

    async def _health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "healthy", "service": "brigade"})

    async def _agents(self, request: Request) -> JSONResponse:
        who = self._authorize(request)
        if isinstance(who, JSONResponse):
            return who
        agents, tasks = self._visible(who)
        busy = Counter(t["agent_id"] for t in tasks if t["status"] in ("pending", "running"))
        items = [
            {
                "agent_id": a.id,
                "name": a.name,
                "user_id": a.owner,
                "model": a.model,
                "status": "busy" if busy[a.id] else "idle",
                "created_at": iso(a.created_at),
            }
            for a in agents
        ]
        return JSONResponse({"agents": items, "total": len(items)})

    async def _usage(self, request: Request) -> JSONResponse:
        who = self._authorize(request)
        if isinstance(who, JSONResponse):
            return who
        agents, tasks = self._visible(who)
        seconds = sum(t["duration"] or 0 for t in tasks)
        calls = sum(t["api_calls"] for t in tasks)
        hours = round(seconds / 3600, 2)
        by_status = Counter(t["status"] for t in tasks)
        body = {
            "user_id": None if who == "*" else who,
            "agent_count": len(agents),
            "task_count": len(tasks),
            "compute_hours": hours,
            "api_calls": calls,
            "total_cost": round(hours * 0.48 + calls * 0.002, 2),
            "tasks_by_status": {s: by_status[s] for s in STATUSES if by_status[s]},
        }
        return JSONResponse(body)

    async def _history(self, request: Request) -> JSONResponse:
        who = self._authorize(request)
        if isinstance(who, JSONResponse):
            return who
        q = request.query_params
        errors = []
        limit, offset = _int_param(q.get("limit"), 50), _int_param(q.get("offset"), 0)
        if limit is None or not 1 <= limit <= 500:
            errors.append(_invalid("limit", "Input should be between 1 and 500"))
        if offset is None or offset < 0:
            errors.append(_invalid("offset", "Input should be greater than or equal to 0"))
        status = q.get("status")
        if status is not None and status not in STATUSES:
            errors.append(_invalid("status", f"Input should be one of {', '.join(STATUSES)}"))
        if errors:
            return JSONResponse({"detail": errors}, status_code=422)
        assert limit is not None and offset is not None
        _, tasks = self._visible(who)
        agent_id = q.get("agent_id")
        tasks = [
            t
            for t in tasks
            if (status is None or t["status"] == status)
            and (agent_id is None or t["agent_id"] == agent_id)
        ]
        page = tasks[offset : offset + limit]
        return JSONResponse({"tasks": page, "total": len(tasks), "limit": limit, "offset": offset})

    async def _task(self, request: Request) -> JSONResponse:
        who = self._authorize(request)
        if isinstance(who, JSONResponse):
            return who
        _, tasks = self._visible(who)
        task_id = request.path_params["task_id"]
        found = next((t for t in tasks if t["task_id"] == task_id), None)
        if found is None:
            return JSONResponse({"detail": f"Task not found: {task_id}"}, status_code=404)
        return JSONResponse(found)


def _int_param(raw: str | None, default: int) -> int | None:
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def _invalid(name: str, message: str) -> dict[str, Any]:
    return {"loc": ["query", name], "msg": message, "type": "value_error"}


def create_app(**options: Any) -> BrigadeSandbox:
    """A Brigade sandbox with defaults fit for ``--sandbox``; options as :class:`BrigadeSandbox`."""
    return BrigadeSandbox(**options)
