"""Prices with effective dates: validation, the price in force per day, unpriced flags."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from gateway.usage.prices import Price, PriceTable, money
from tests.plugins.app import Gateway
from tests.usage.helpers import event, post_events

SET = """mutation($input: SetModelPriceInput!) { setModelPrice(input: $input) {
  __typename
  ... on ModelPrice { model effectiveFrom inputPerMillion outputPerMillion cachedPerMillion
                      currency setBy inForce }
  ... on UsageError { field message code } } }"""
COSTS = """query($from: DateTime, $to: DateTime) { usage { costs(from: $from, to: $to) {
  requests cost inputCost cachedCost outputCost unpricedRequests unpricedModels } } }"""


def _price(model: str, inp: str, out: str, since: str, cached: str | None = None) -> dict:
    data = {"model": model, "inputPerMillion": inp, "outputPerMillion": out}
    return {"input": {**data, "cachedPerMillion": cached, "effectiveFrom": since}}


async def test_set_model_price_validates_and_answers_errors_as_data(gateway: Gateway) -> None:
    for variables, field in [
        (_price("m", "abc", "1", "2024-01-01"), "inputPerMillion"),
        (_price("m", "1", "-1", "2024-01-01"), "outputPerMillion"),
        (_price("m", "1", "1", "2024-01-01", cached="0.0000000001"), "cachedPerMillion"),
        (_price("m", "1", "NaN", "2024-01-01"), "outputPerMillion"),
        (_price("m\x1fx", "1", "1", "2024-01-01"), "model"),
        (_price(" ", "1", "1", "2024-01-01"), "model"),
    ]:
        result = (await gateway.gql(SET, variables))["data"]["setModelPrice"]
        assert (result["__typename"], result["field"], result["code"]) == (
            "UsageError",
            field,
            "INVALID",
        ), variables
    ok = (await gateway.gql(SET, _price("gpt-4o", "2.50", "10.000", "2024-01-01")))["data"]
    assert ok["setModelPrice"] == {
        "__typename": "ModelPrice",
        "model": "gpt-4o",
        "effectiveFrom": "2024-01-01",
        "inputPerMillion": "2.5",
        "outputPerMillion": "10",
        "cachedPerMillion": "2.5",  # defaults to the input price
        "currency": "USD",
        "setBy": "admin",
        "inForce": True,
    }
    audit = await gateway.gql("{ access { auditLog(first: 1) { nodes { action target } } } }")
    assert audit["data"]["access"]["auditLog"]["nodes"] == [
        {"action": "setModelPrice", "target": "gpt-4o"}
    ]


async def test_events_are_priced_by_the_price_in_force_on_their_day(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    today = now.date()
    token = await gateway.token("developer")
    day = timedelta(days=1)
    events = [
        event("old", timestamp=(now - 5 * day).timestamp()),  # before any price: unpriced
        event("mid", timestamp=(now - 3 * day).timestamp()),  # first price
        event("new", timestamp=time.time() - 60),  # second price
    ]
    await post_events(gateway.client, events, token)
    window = {"from": (now - 6 * day).isoformat(), "to": now.isoformat()}
    before = (await gateway.gql(COSTS, window))["data"]["usage"]["costs"]
    assert (before["cost"], before["unpricedRequests"], before["unpricedModels"]) == (
        "0",
        3,
        ["gpt-4o"],
    )
    # Prices set afterwards re-price the past days they cover.
    first = _price("gpt-4o", "1", "2", (today - 4 * day).isoformat(), cached="0.5")
    second = _price("gpt-4o", "10", "20", today.isoformat(), cached="5")
    for p in (first, second):
        assert (await gateway.gql(SET, p))["data"]["setModelPrice"]["__typename"] == "ModelPrice"
    costs = (await gateway.gql(COSTS, window))["data"]["usage"]["costs"]
    # 900 uncached, 100 cached, 200 completion tokens per event.
    mid = Decimal(900 * 1 + 100 * 0.5 + 200 * 2) / 10**6
    new = Decimal(900 * 10 + 100 * 5 + 200 * 20) / 10**6
    assert Decimal(costs["cost"]) == mid + new
    assert Decimal(costs["inputCost"]) == Decimal(900 * 11) / 10**6
    assert (costs["unpricedRequests"], costs["unpricedModels"]) == (1, ["gpt-4o"])
    listed = await gateway.gql("{ usage { prices { model effectiveFrom inForce } } }")
    assert listed["data"]["usage"]["prices"] == [
        {"model": "gpt-4o", "effectiveFrom": (today - 4 * day).isoformat(), "inForce": False},
        {"model": "gpt-4o", "effectiveFrom": today.isoformat(), "inForce": True},
    ]


def test_price_table_and_exact_money() -> None:
    d = datetime(2024, 5, 1).date()
    p1 = Price("m", d, Decimal("0.000000001"), Decimal(3), Decimal(0))
    p2 = Price("m", d + timedelta(days=10), Decimal(1), Decimal(1), Decimal(1))
    table = PriceTable({"m": [p2, p1]})
    assert table.at("m", d - timedelta(days=1)) is None
    assert table.at("m", d) == p1 and table.at("m", d + timedelta(days=9)) == p1
    assert table.at("m", d + timedelta(days=10)) == p2 and table.at("other", d) is None
    # One token at a nano-dollar per million is 1e-15: exact, no float, no exponent notation.
    assert money(p1.cost(1, 0, 0)) == Decimal("0.000000000000001")
    assert str(money(p1.cost(0, 10**9, 0))) == "3000"
    assert str(money(0)) == "0"
