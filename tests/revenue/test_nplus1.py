"""Nested customers and plans are batched: Lago calls do not grow with the page size."""

from __future__ import annotations

import math

import pytest

from gateway.sandbox.lago import LagoSandbox
from gateway.sandbox.lago_seed import LagoData
from tests.plugins.app import Gateway

NESTED = (
    "query($n: Int!) { revenue { subscriptions(first: $n) "
    "{ edges { node { customer { name } plan { name } } } } } }"
)


def pages(items: list[object]) -> int:
    return math.ceil(len(items) / 100)  # the client's page size: Lago's maximum


async def run(gw: Gateway, lago: LagoSandbox, n: int) -> list[dict[str, object]]:
    lago.reset_counts()
    data = await gw.data(NESTED, {"n": n})
    return [e["node"] for e in data["revenue"]["subscriptions"]["edges"]]


@pytest.mark.parametrize("n", [50, 200])
async def test_exact_lago_calls_for_nested_customers_and_plans(
    revenue_gw: Gateway, lago: LagoSandbox, lago_data: LagoData, n: int
) -> None:
    nodes = await run(revenue_gw, lago, n)
    assert len(nodes) == n
    expected_names = [
        (
            lago_data.by_customer[s["external_customer_id"]]["name"],
            lago_data.by_plan[s["plan_code"]]["name"],
        )
        for s in lago_data.subscriptions[:n]
    ]
    assert [(node["customer"]["name"], node["plan"]["name"]) for node in nodes] == expected_names
    # Every subscription page once, every customer page once, the plan list once; no per-key GET.
    assert dict(lago.counts) == {
        "GET /api/v1/subscriptions": pages(lago_data.subscriptions),
        "GET /api/v1/customers": pages(lago_data.customers),
        "GET /api/v1/plans": pages(lago_data.plans),
    }
    assert lago.total == sum(lago.counts.values()) < 12  # e.g. 4 + 3 + 1 for 391, 300, 9


async def test_calls_do_not_grow_with_the_number_of_subscriptions(
    revenue_gw: Gateway, lago: LagoSandbox, lago_data: LagoData
) -> None:
    totals = {}
    for n in (50, 200, len(lago_data.subscriptions)):
        await run(revenue_gw, lago, n)
        totals[n] = lago.total
    assert len(set(totals.values())) == 1, totals


async def test_a_few_keys_are_fetched_one_by_one(
    revenue_gw: Gateway, lago: LagoSandbox, lago_data: LagoData
) -> None:
    # Three customers cost three small GETs rather than every customer page; one plan one GET.
    query = '{ revenue { subscriptions(first: 3, planCode: "enterprise") { edges { node { customer { name } plan { code } } } } } }'
    lago.reset_counts()
    body = await revenue_gw.gql(query)
    nodes = [e["node"] for e in body["data"]["revenue"]["subscriptions"]["edges"]]
    assert {n["plan"]["code"] for n in nodes} == {"enterprise"}
    enterprise = [s for s in lago_data.subscriptions if s["plan_code"] == "enterprise"][:3]
    customers = {s["external_customer_id"] for s in enterprise}
    assert lago.counts["GET /api/v1/customers"] == 0
    assert sum(lago.counts[f"GET /api/v1/customers/{c}"] for c in customers) == len(customers)
    assert lago.counts["GET /api/v1/plans/enterprise"] == 1
    assert lago.counts["GET /api/v1/plans"] == 0


async def test_figures_and_lists_share_one_listing_per_request(
    revenue_gw: Gateway, lago: LagoSandbox, lago_data: LagoData
) -> None:
    query = (
        "query($at: DateTime) { revenue(asOf: $at) { overview { activeSubscriptions } churn { rate } "
        "byPlan { plan { name } } byCustomer(first: 100) { edges { node { customer { name } } } } "
        "subscriptions(first: 100) { edges { node { customer { name } plan { name } } } } "
        "customers(first: 10) { totalCount } plans { totalCount } } }"
    )
    lago.reset_counts()
    body = await revenue_gw.gql(query, {"at": lago_data.now.isoformat()})
    assert "errors" not in body, body
    assert dict(lago.counts) == {
        "GET /api/v1/subscriptions": pages(lago_data.subscriptions),
        "GET /api/v1/customers": pages(lago_data.customers),
        "GET /api/v1/plans": pages(lago_data.plans),
    }
