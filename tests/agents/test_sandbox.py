"""The Brigade sandbox itself: deterministic data, token checks, Brigade's validation."""

from __future__ import annotations

import time

import httpx
import jwt

from gateway.sandbox.brigade import BrigadeSandbox
from tests.plugins.servers import ServeApp


def test_seeded_data_is_deterministic_and_realistic() -> None:
    one, two = BrigadeSandbox(), BrigadeSandbox()
    assert one.tasks == two.tasks and one.agents == two.agents
    assert BrigadeSandbox(seed=8).tasks != one.tasks
    statuses = {t["status"] for t in one.tasks}
    assert statuses == {"pending", "running", "completed", "failed", "cancelled"}
    created = [t["created_at"] for t in one.tasks]
    assert created == sorted(created, reverse=True)  # newest first, as Brigade answers


async def test_tokens_are_checked(serve_app: ServeApp) -> None:
    sandbox = BrigadeSandbox(api_key="k-123")
    url = await serve_app(sandbox)
    now = int(time.time())
    recognised = jwt.encode({"sub": "bob", "exp": now + 60}, "s" * 32, algorithm="HS256")
    expired = jwt.encode({"sub": "bob", "exp": now - 60}, "s" * 32, algorithm="HS256")
    async with httpx.AsyncClient(base_url=url) as client:

        async def status(token: str | None) -> int:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return (await client.get("/api/agents/usage", headers=headers)).status_code

        assert await status("k-123") == 200
        assert await status(recognised) == 200  # no keys configured: recognised, not verified
        assert await status(None) == 401
        assert await status("k-124") == 401
        assert await status(expired) == 401
        sandbox.jwt_keys = ["x" * 32]  # with keys, only RS256/ES256 signed by them pass
        assert await status(recognised) == 401
        assert sandbox.callers == {"service": 1, "user:bob": 1}

        bad = await client.get(
            "/api/tasks/history",
            params={"limit": 0, "status": "sleeping"},
            headers={"Authorization": "Bearer k-123"},
        )
        assert bad.status_code == 422
        assert [d["loc"][1] for d in bad.json()["detail"]] == ["limit", "status"]
        task = await client.get("/api/tasks/tsk_00001", headers={"Authorization": "Bearer k-123"})
        assert task.json()["task_id"] == "tsk_00001"
