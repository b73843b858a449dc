"""Brigade down, slow, broken or unset: only the ``agents`` fields fail."""

from __future__ import annotations

import pytest

from gateway.sandbox.brigade import BrigadeSandbox
from tests.agents.conftest import AgentsGateway

QUERY = """{
  me { subject }
  access { roles { name } }
  agents { usage { taskCount } tasks(first: 2) { totalCount } }
}"""


def _agents_errors(body: dict) -> dict[tuple[str, ...], str]:
    return {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}


def _others_answer(body: dict) -> None:
    assert body["data"]["me"] == {"subject": "admin"}
    assert "viewer" in {r["name"] for r in body["data"]["access"]["roles"]}


async def test_brigade_unreachable(agents_gateway: AgentsGateway, refused_url: str) -> None:
    gw = await agents_gateway(brigade_api_url=refused_url)
    body = await gw.gql(QUERY)
    _others_answer(body)
    assert body["data"]["agents"] == {"usage": None, "tasks": None}
    assert _agents_errors(body) == {
        ("agents", "usage"): "BACKEND_UNAVAILABLE",
        ("agents", "tasks"): "BACKEND_UNAVAILABLE",
    }
    assert all(e["extensions"]["backend"] == "brigade" for e in body["errors"])


@pytest.mark.parametrize(
    ("fault", "code"),
    [("fail", "BACKEND_ERROR"), ("malformed", "BACKEND_ERROR"), ("hang", "BACKEND_TIMEOUT")],
)
async def test_brigade_faults(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox, fault: str, code: str
) -> None:
    gw = await agents_gateway(backend_timeout=0.3)
    if fault == "fail":
        brigade.fail("/api/*", status=503)
    elif fault == "malformed":
        brigade.malformed("/api/*")
    else:
        brigade.hang("/api/tasks/*")
    body = await gw.gql(QUERY)
    _others_answer(body)
    errors = _agents_errors(body)
    assert errors[("agents", "tasks")] == code
    if fault != "hang":
        assert errors[("agents", "usage")] == code
    else:  # only the history hangs: usage still answers
        assert body["data"]["agents"]["usage"] == {"taskCount": len(brigade.tasks)}
    brigade.clear_faults()


async def test_brigade_not_configured(agents_gateway: AgentsGateway) -> None:
    gw = await agents_gateway(brigade_api_url=None)
    body = await gw.gql(QUERY)
    _others_answer(body)
    assert set(_agents_errors(body).values()) == {"NOT_CONFIGURED"}
    assert "BRIGADE_API_URL" in body["errors"][0]["message"]


async def test_a_404_means_no_history_yet(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    brigade.fail("/api/*", status=404, body={"detail": "no usage for this user"})
    body = await gw.gql(QUERY)
    assert "errors" not in body, body
    assert body["data"]["agents"] == {"usage": {"taskCount": 0}, "tasks": {"totalCount": 0}}


async def test_readiness_reports_brigade(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    ready = await gw.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["brigade"]["ok"] is True
    brigade.fail("/health", status=503)
    ready = await gw.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["brigade"]["ok"] is False


async def test_agents_needs_agents_read(agents_gateway: AgentsGateway) -> None:
    gw = await agents_gateway()
    nobody = await gw.token(subject="nobody")  # a token without roles
    body = await gw.gql("{ me { subject } agents { usage { taskCount } } }", token=nobody)
    assert body["data"] == {"me": {"subject": "nobody"}, "agents": None}
    assert _agents_errors(body) == {("agents",): "FORBIDDEN"}
