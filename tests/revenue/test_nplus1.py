"""A request's Lago calls follow the question, not the size of Lago (issue 11).

Lists page through to Lago: a page of up to 100 costs one call. Nested customers and plans
come from the revenue snapshot (no call), and figures from the snapshot too (no call) once it
is built; the snapshot itself is built in the background, outside any request.
"""

from __future__ import annotations

import pytest

from gateway.sandbox.lago import LagoSandbox
from gateway.sandbox.lago_seed import LagoData, seed_data
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.servers import ServeApp

NESTED = (
    "query($n: Int!, $after: String) { revenue { subscriptions(first: $n, after: $after) "
    "{ totalCount pageInfo { endCursor } edges { node { customer { name } plan { name } } } } } }"
)


async def warm(gw: Gateway) -> None:
    """Wait for the snapshot (the first figure waits for it; later ones never do)."""
    await gw.data("{ revenue { asOf } }")


async def nested_page(
    gw: Gateway, lago: LagoSandbox, n: int, after: str | None = None
) -> tuple[list[dict[str, object]], dict]:
    lago.reset_counts()
    data = await gw.data(NESTED, {"n": n, "after": after})
    return [e["node"] for e in data["revenue"]["subscriptions"]["edges"]], data


@pytest.mark.parametrize(("n", "calls"), [(50, 1), (100, 1), (200, 2)])
async def test_a_page_with_nested_customers_and_plans_costs_its_pages_only(
    revenue_gw: Gateway, lago: LagoSandbox, lago_data: LagoData, n: int, calls: int
) -> None:
    await warm(revenue_gw)
    nodes, _ = await nested_page(revenue_gw, lago, n)
    everything = lago_data.subscriptions
    expected_names = [
        (
            lago_data.by_customer[s["external_customer_id"]]["name"],
            lago_data.by_plan[s["plan_code"]]["name"],
        )
        for s in everything[:n]
    ]
    assert [(node["customer"]["name"], node["plan"]["name"]) for node in nodes] == expected_names
    assert dict(lago.counts) == {"GET /api/v1/subscriptions": calls}


async def test_paging_on_costs_one_call_per_page(
    revenue_gw: Gateway, lago: LagoSandbox, lago_data: LagoData
) -> None:
    await warm(revenue_gw)
    seen: list[dict[str, object]] = []
    after = None
    while True:
        nodes, data = await nested_page(revenue_gw, lago, 100, after)
        assert lago.total == 1
        seen += nodes
        connection = data["revenue"]["subscriptions"]
        assert connection["totalCount"] == len(lago_data.subscriptions)
        after = connection["pageInfo"]["endCursor"]
        if len(nodes) < 100:
            break
    assert len(seen) == len(lago_data.subscriptions)


async def test_calls_do_not_grow_with_the_size_of_lago(
    gateway_factory: GatewayFactory, serve_app: ServeApp
) -> None:
    calls = {}
    for customers in (100, 1000):
        lago = LagoSandbox(data=seed_data(customers=customers))
        gw = await gateway_factory(**lago.settings_for(await serve_app(lago)))
        await warm(gw)
        lago.reset_counts()
        await gw.data(
            "{ revenue { overview { mrr { amountCents } } churn { rate } "
            "customers(first: 100) { nodes { name } } "
            "subscriptions(first: 100) { nodes { customer { name } plan { name } } } } }"
        )
        calls[customers] = dict(lago.counts)
    assert (
        calls[100]
        == calls[1000]
        == {
            "GET /api/v1/customers": 1,
            "GET /api/v1/subscriptions": 1,
        }
    )


async def test_filters_are_passed_to_lago(
    revenue_gw: Gateway, lago: LagoSandbox, lago_data: LagoData
) -> None:
    query = (
        '{ revenue { subscriptions(first: 5, planCode: "enterprise", status: [ACTIVE]) '
        "{ totalCount nodes { planCode status } } } }"
    )
    await warm(revenue_gw)
    lago.reset_counts()
    data = await revenue_gw.data(query)
    connection = data["revenue"]["subscriptions"]
    wanted = [
        s
        for s in lago_data.subscriptions
        if s["plan_code"] == "enterprise" and s["status"] == "active"
    ]
    assert connection["totalCount"] == len(wanted)
    assert {(n["planCode"], n["status"]) for n in connection["nodes"]} <= {("enterprise", "ACTIVE")}
    assert lago.counts["GET /api/v1/subscriptions"] == 1


async def test_figures_cost_no_call_once_the_snapshot_exists(
    revenue_gw: Gateway, lago: LagoSandbox
) -> None:
    await warm(revenue_gw)
    lago.reset_counts()
    await revenue_gw.data(
        "{ revenue { overview { activeSubscriptions } churn { rate } byPlan { planCode } "
        "byCustomer(first: 100) { nodes { customer { name } } } trends { source } "
        "growth { source } forecast { source } lifetimeValue { currency } } }"
    )
    assert lago.total == 0, dict(lago.counts)
