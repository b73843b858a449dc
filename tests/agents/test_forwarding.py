"""Whose credential reaches Brigade: the caller's JWT, else the service key."""

from __future__ import annotations

from gateway.sandbox.brigade import BrigadeSandbox
from tests.agents.conftest import AgentsGateway
from tests.auth.jwks_server import SigningKey
from tests.plugins.oidc import IdP

USAGE = "{ agents { usage { agentCount taskCount apiCalls totalCost } } }"


async def test_api_token_callers_are_represented_by_the_service_key(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    body = await gw.gql(USAGE, token=await gw.token("viewer"))
    assert "errors" not in body, body
    usage = body["data"]["agents"]["usage"]
    assert usage["agentCount"] == len(brigade.agents) == 12
    assert usage["taskCount"] == len(brigade.tasks)
    assert brigade.callers == {"service": 1}


async def test_oidc_callers_forward_their_own_jwt(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox, idp: IdP
) -> None:
    gw = await agents_gateway()
    body = await gw.gql(USAGE, token=idp.token("alice", "viewer"))
    assert "errors" not in body, body
    # Brigade scoped the answer to alice: only the agents she owns.
    alice_agents = [a for a in brigade.agents if a.owner == "alice"]
    assert body["data"]["agents"]["usage"]["agentCount"] == len(alice_agents) == 2
    assert brigade.callers == {"user:alice": 1}

    tasks = await gw.gql(
        "{ agents { tasks(first: 100) { totalCount nodes { agentId } } } }",
        token=idp.token("alice", "viewer"),
    )
    ids = {a.id for a in alice_agents}
    nodes = tasks["data"]["agents"]["tasks"]["nodes"]
    assert nodes and {n["agentId"] for n in nodes} <= ids
    assert brigade.callers == {"user:alice": 2}


async def test_a_jwt_brigade_does_not_trust_is_the_callers_problem_not_the_key(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox, idp: IdP
) -> None:
    gw = await agents_gateway()
    brigade.jwt_keys = [SigningKey.rsa("other").public_pem()]  # Brigade trusts another IdP
    body = await gw.gql("{ me { subject } " + USAGE[1:], token=idp.token("alice", "viewer"))
    assert body["data"]["me"] == {"subject": "alice"}
    assert body["data"]["agents"]["usage"] is None
    error = body["errors"][0]
    assert error["path"] == ["agents", "usage"]
    assert error["extensions"]["code"] == "BACKEND_ERROR"
    assert error["extensions"]["status"] == 401
    assert "caller's token" in error["message"] and "BRIGADE_API_KEY" not in error["message"]
    assert brigade.counts["GET /api/agents/usage"] == 1  # a 401 is not retried


async def test_without_a_service_key_brigade_refuses_and_the_error_names_the_variable(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway(brigade_api_key=None)
    body = await gw.gql(USAGE)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BACKEND_ERROR"
    assert error["extensions"]["status"] == 401
    assert "BRIGADE_API_KEY" in error["message"]
    assert brigade.callers == {}


async def test_the_service_key_never_appears_in_responses(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    brigade.fail("/api/agents/usage", status=400, body={"detail": f"bad key {brigade.api_key}"})
    response = await gw.post(USAGE)
    assert brigade.api_key not in response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BACKEND_ERROR"
