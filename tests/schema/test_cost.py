"""Demand control (GATEWAY_MAX_COST) and schema usage counters, through real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import parse

from gateway.settings import Limits
from schema import build_schema
from schema.cost import document_facts
from tests.plugins.app import Gateway, GatewayFactory

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "operations"
ROLES = "{ access { roles { name } } }"


def cost(query: str) -> int:
    return document_facts(build_schema()._schema, parse(query)).cost


def test_a_backend_field_costs_more_than_a_stored_one() -> None:
    # The same shape: customers are paged from Lago, providers read from the store.
    lago = cost("{ revenue { customers(first: 10) { nodes { name } } } }")
    store = cost("{ providers { list(first: 10) { nodes { name } } } }")
    assert lago == store + 10


def test_list_sizes_follow_the_slicing_arguments() -> None:
    small = cost("{ revenue { customers(first: 10) { nodes { name } } } }")
    large = cost("{ revenue { customers(first: 100) { nodes { name } } } }")
    assert large > small
    by_variable = cost(
        "query($n: Int! = 100) { revenue { customers(first: $n) { nodes { name } } } }"
    )
    assert by_variable == large
    assert cost("{ revenue { customers { nodes { name } } } }") == cost(
        "{ revenue { customers(first: 50) { nodes { name } } } }"
    )  # the argument's default


def test_every_shipped_operation_is_well_under_the_default_limit() -> None:
    for path in sorted(EXAMPLES.glob("*.graphql")):
        assert cost(path.read_text()) * 10 < Limits().max_cost, path.name


async def test_over_the_limit_is_refused_with_the_estimate(
    gateway_factory: GatewayFactory,
) -> None:
    gw = await gateway_factory(limits=Limits(max_cost=50))
    query = "{ revenue { customers(first: 100) { nodes { name } } } }"
    response = await gw.post(query)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"] == {"estimated": cost(query), "max": 50}
    assert (await gw.post(ROLES)).status_code == 200


async def test_the_cost_is_reported_when_asked(gateway: Gateway) -> None:
    headers = {"Authorization": f"Bearer {gateway.admin_token}"}
    plain = await gateway.client.post("/graphql", json={"query": ROLES}, headers=headers)
    assert "extensions" not in plain.json()
    asked = await gateway.client.post(
        "/graphql", json={"query": ROLES, "extensions": {"cost": True}}, headers=headers
    )
    body = asked.json()
    roles = len(body["data"]["access"]["roles"])
    # access (1) + one per role returned; estimated with the assumed list size.
    assert body["extensions"]["cost"] == {
        "estimated": cost(ROLES),
        "actual": 1 + roles,
        "max": Limits().max_cost,
    }


def _samples(text: str, field: str) -> float:
    pattern = rf'^gateway_graphql_field_requests_total{{field="{field}",type="([^"]+)"}} (\S+)$'
    return sum(float(m.group(2)) for m in re.finditer(pattern, text, re.M))


async def test_schema_usage_counts_fields_per_execution(gateway: Gateway) -> None:
    before = (await gateway.client.get("/metrics")).text
    for _ in range(3):
        await gateway.data(ROLES)
    await gateway.data("{ me { subject } }")
    after = (await gateway.client.get("/metrics")).text
    assert _samples(after, "roles") - _samples(before, "roles") == 3
    assert _samples(after, "subject") - _samples(before, "subject") >= 1
    assert 'type="AccessQuery"' in after and 'type="Query"' in after
