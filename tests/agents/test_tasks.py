"""``agents.tasks``: a Relay connection over Brigade's offset paging, with its filters."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.sandbox.brigade import BrigadeSandbox
from tests.agents.conftest import AgentsGateway
from tests.plugins.app import Gateway

PAGE = """
query Tasks($first: Int!, $after: String, $status: TaskStatus, $agentId: String) {
  agents {
    tasks(first: $first, after: $after, status: $status, agentId: $agentId) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id agentId agentName status createdAt durationSeconds error } }
    }
  }
}
"""


async def _page(gw: Gateway, **variables: Any) -> dict[str, Any]:
    return (await gw.data(PAGE, {"first": 20, **variables}))["agents"]["tasks"]


async def test_walking_every_page_yields_every_task_once_newest_first(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await _page(gw, first=50, after=after)
        pages += 1
        assert page["totalCount"] == len(brigade.tasks)
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert pages == 5  # 240 tasks, 50 a page
    assert seen == [t["task_id"] for t in brigade.tasks]
    calls = brigade.counts["GET /api/tasks/history"]
    assert calls == 5  # one Brigade call per page


async def test_status_and_agent_filters_go_to_brigade(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    agent = brigade.agents[0].id
    expected = [t for t in brigade.tasks if t["status"] == "completed" and t["agent_id"] == agent]
    page = await _page(gw, first=10, status="COMPLETED", agentId=agent)
    assert page["totalCount"] == len(expected) > 10
    nodes = [e["node"] for e in page["edges"]]
    assert [n["id"] for n in nodes] == [t["task_id"] for t in expected[:10]]
    assert {(n["status"], n["agentId"]) for n in nodes} == {("COMPLETED", agent)}
    assert page["pageInfo"]["hasNextPage"] is True

    failed = await _page(gw, first=100, status="FAILED")
    expected_failed = [t for t in brigade.tasks if t["status"] == "failed"]
    assert failed["totalCount"] == len(expected_failed)
    assert all(e["node"]["error"] for e in failed["edges"])
    assert failed["pageInfo"]["hasNextPage"] is False

    none = await _page(gw, agentId="agt_nope")
    assert none == {
        "totalCount": 0,
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
    }


async def test_first_zero_counts_without_nodes(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    page = await _page(gw, first=0, status="RUNNING")
    running = sum(t["status"] == "running" for t in brigade.tasks)
    assert page["totalCount"] == running > 0
    assert page["edges"] == [] and page["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 501}, "first"),
        ({"first": -1}, "first"),
        ({"after": "not-a-cursor"}, "after"),
        ({"after": "dXNlcjox"}, "after"),  # a cursor of another kind ("user:1")
        ({"status": "UNKNOWN"}, "status"),
    ],
)
async def test_bad_arguments_are_bad_user_input_without_a_backend_call(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox, variables: dict[str, Any], field: str
) -> None:
    gw = await agents_gateway()
    body = await gw.gql(PAGE, {"first": 20, **variables})
    assert body["data"]["agents"]["tasks"] is None
    error = body["errors"][0]
    assert {k: v for k, v in error["extensions"].items() if k != "requestId"} == {
        "code": "BAD_USER_INPUT",
        "field": field,
    }
    assert brigade.total == 0


async def test_task_fields_are_typed(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    body = await gw.gql(
        "{ agents { tasks(first: 3) { nodes { id status startedAt completedAt input output"
        " apiCalls } } } }"
    )
    nodes = body["data"]["agents"]["tasks"]["nodes"]
    pending = next(n for n in nodes if n["status"] == "PENDING")
    assert pending["startedAt"] is None and pending["completedAt"] is None
    running = next(n for n in nodes if n["status"] == "RUNNING")
    assert running["startedAt"] and running["completedAt"] is None
    assert running["input"]["prompt"] == brigade.tasks[1]["input"]["prompt"]
