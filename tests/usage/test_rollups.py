"""Rollup figures equal a recomputation from the raw events, on both stores, and survive
crashes between the log and the rollups."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gateway.pubsub import MemoryPubSub
from gateway.store import SQLiteStore
from gateway.store.names import USAGE_STREAM as STREAM
from gateway.usage.buckets import day_key
from gateway.usage.events import UsageEvent
from gateway.usage.prices import money
from gateway.usage.service import UsageService
from tests.plugins.app import Gateway, GatewayFactory
from tests.usage.helpers import (
    event,
    eventually,
    parse_dt,
    post_events,
    random_events,
    raw_events,
    recompute,
)

FIGURES = "requests errors promptTokens completionTokens cachedTokens cost unpricedRequests"
WINDOW = "window { from to }"
QUERY = f"""query($days: Int, $from: DateTime, $to: DateTime) {{ usage {{
  overview(days: $days, from: $from, to: $to) {{ {FIGURES} activeUsers activeModels {WINDOW} }}
  byModel(days: $days, from: $from, to: $to) {{ model provider {FIGURES} }}
  byUser(days: $days, from: $from, to: $to, first: 500) {{ totalCount nodes {{ subject {FIGURES} }} }}
  costs(days: $days, from: $from, to: $to) {{ {FIGURES} unpricedModels
    byDay {{ start {FIGURES} }} }}
  history(days: $days, from: $from, to: $to, bucket: DAY) {{ start {FIGURES} }}
  topUsers(days: $days, from: $from, to: $to, limit: 3, by: REQUESTS) {{ subject requests }}
  topModels(days: $days, from: $from, to: $to, limit: 3, by: TOKENS) {{ model provider {FIGURES} }}
}} }}"""
PRICE = """mutation($input: SetModelPriceInput!) { setModelPrice(input: $input) { __typename } }"""


async def _set_prices(gw: Gateway) -> None:
    today = datetime.now(UTC).date()
    prices = [
        ("gpt-4o", "2.5", "10", "1.25", today - timedelta(days=400)),
        ("gpt-4o", "3.000001", "12", None, today - timedelta(days=20)),  # a change mid-range
        ("claude-3-5-sonnet", "3", "15", "0.3", today - timedelta(days=10)),  # unpriced before
        ("llama-3-70b", "0.9", "0.9", "0", today - timedelta(days=400)),
    ]
    for model, inp, out, cached, since in prices:
        variables = {"model": model, "inputPerMillion": inp, "outputPerMillion": out}
        variables |= {"cachedPerMillion": cached, "effectiveFrom": since.isoformat()}
        body = await gw.gql(PRICE, {"input": variables})
        assert body["data"]["setModelPrice"]["__typename"] == "ModelPrice", body


async def _check(gw: Gateway, variables: dict[str, Any]) -> dict[str, Any]:
    body = await gw.gql(QUERY, variables)
    assert "errors" not in body, body["errors"]
    usage = body["data"]["usage"]
    window = usage["overview"]["window"]
    start, end = parse_dt(window["from"]), parse_dt(window["to"])
    events = await raw_events(gw.services.store)
    table = await gw.services.usage.prices.table(fresh=True)

    total = recompute(events, table, start, end)[None]
    total.matches(usage["overview"])
    total.matches(usage["costs"])
    assert usage["overview"]["activeUsers"] == len(total.subjects)

    per_model = recompute(events, table, start, end, key=lambda e: (e.model, e.provider))
    assert {(r["model"], r["provider"]) for r in usage["byModel"]} == set(per_model)
    for row in usage["byModel"]:
        per_model[(row["model"], row["provider"])].matches(row)
    # Most tokens first; ties by cost, then requests, then name.
    ranked = sorted(
        per_model.items(),
        key=lambda kv: (
            -(kv[1].prompt + kv[1].completion),
            -kv[1].cost,
            -kv[1].requests,
            str(kv[0]),
        ),
    )[:3]
    assert [(r["model"], r["provider"]) for r in usage["topModels"]] == [k for k, _ in ranked]
    for row in usage["topModels"]:
        per_model[(row["model"], row["provider"])].matches(row)
    costs = [Decimal(r["cost"]) for r in usage["byModel"]]
    assert costs == sorted(costs, reverse=True)
    assert usage["costs"]["unpricedModels"] == sorted(
        {m for (m, _), x in per_model.items() if x.unpriced}
    )

    per_user = recompute(events, table, start, end, key=lambda e: e.subject)
    assert usage["byUser"]["totalCount"] == len(per_user)
    for row in usage["byUser"]["nodes"]:
        per_user[row["subject"]].matches(row)
    top = sorted(per_user.items(), key=lambda kv: (-kv[1].requests, kv[0]))[:3]
    assert [(u["subject"], u["requests"]) for u in usage["topUsers"]] == [
        (s, x.requests) for s, x in top
    ]

    for points in (usage["history"], usage["costs"]["byDay"]):
        for point in points:
            day = parse_dt(point["start"])
            lo, hi = max(day, start), min(day + timedelta(days=1), end)
            recompute(events, table, lo, hi)[None].matches(point)
        assert sum(Decimal(p["cost"]) for p in points) == money(total.cost)
    return usage


async def _applied(service: UsageService, cursor: int) -> bool:
    return await service.projector.cursor() == cursor


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def test_rollups_equal_a_recomputation_from_raw_events(
    gateway_factory: GatewayFactory, request: pytest.FixtureRequest, backend: str
) -> None:
    overrides: dict[str, Any] = {"idempotency_days": 365}  # events over 70 days
    if backend == "redis":
        url = request.getfixturevalue("redis_url")
        overrides |= {"store_url": url, "redis_prefix": request.getfixturevalue("redis_prefix")}
    gw = await gateway_factory(**overrides)
    token = await gw.token("developer")
    events = random_events(1500, seed=5, days=70)
    for i in range(0, len(events), 100):
        await post_events(gw.client, events[i : i + 100], token)
    # Duplicates re-sent (a proxy retrying) change nothing.
    again = await post_events(gw.client, events[:100], token)
    assert (again["accepted"], again["duplicates"]) == (0, 100)
    await _set_prices(gw)  # after ingestion: past days are re-priced too

    now = datetime.now(UTC)
    ninety = await _check(gw, {"days": 90})
    assert ninety["overview"]["requests"] == 1500
    assert ninety["overview"]["unpricedRequests"] > 0  # mystery-model, claude before its price
    assert "mystery-model" in ninety["costs"]["unpricedModels"]
    await _check(gw, {"days": 1})
    # A range with ragged edges: hour buckets at both ends, whole days between.
    start = (now - timedelta(days=33, hours=5, minutes=17)).isoformat()
    await _check(gw, {"from": start, "to": (now - timedelta(days=2, hours=7)).isoformat()})


async def test_queries_do_not_read_raw_events(gateway_factory: GatewayFactory) -> None:
    """Drop every raw event after ingestion: a 90-day query answers exactly the same."""
    gateway = await gateway_factory(idempotency_days=365)  # events over 85 days
    token = await gateway.token("developer")
    events = random_events(400, seed=9, days=85)
    for i in range(0, len(events), 100):
        await post_events(gateway.client, events[i : i + 100], token)
    await _set_prices(gateway)
    before = await gateway.gql(QUERY, {"days": 90})
    store = gateway.services.store
    head = (await store.read(STREAM, limit=1, reverse=True))[0].cursor
    assert await store.trim(STREAM, upto=head) == 400
    after = await gateway.gql(QUERY, {"days": 90})
    assert after == before and after["data"]["usage"]["overview"]["requests"] == 400
    hourly = "{ usage { history(days: 3, bucket: HOUR) { requests } } }"
    assert len((await gateway.gql(hourly))["data"]["usage"]["history"]) == 72


async def test_rollups_catch_up_after_a_crash_between_log_and_rollups(tmp_path: Any) -> None:
    """Events in the log that a crashed process never rolled up are applied on restart, once."""
    store = SQLiteStore(path=tmp_path / "u.db")
    await store.open()
    try:
        # The crashed process: its append committed, then it died before its projector ran.
        records = [event(i, timestamp=time.time() - i * 3000) for i in range(50)]
        events = [UsageEvent.from_record({**r, "reported_cost_nanos": None}) for r in records]
        await store.append(STREAM, [(e.id, e.to_record()) for e in events])
        for attempt in range(2):  # the second restart must not count anything again
            service = UsageService(store=store, pubsub=MemoryPubSub(), poll_interval=0.05)
            await service.start()
            try:
                await eventually(lambda s=service: _applied(s, 50))
            finally:
                await service.stop()
            for day in {day_key(e.timestamp) for e in events}:
                counters = await store.counters(f"usage:d:{day}:m")
                expected = sum(day_key(e.timestamp) == day for e in events)
                assert counters["gpt-4o\x1fopenai\x1fn"] == expected, attempt
    finally:
        await store.close()


async def test_racing_projectors_apply_each_entry_once(tmp_path: Any) -> None:
    """Two replicas' projectors on one store (two connections, like two processes)."""
    path = tmp_path / "shared.db"
    stores = [SQLiteStore(path=path), SQLiteStore(path=path)]
    for s in stores:
        await s.open()
    try:
        services = [UsageService(store=s, pubsub=MemoryPubSub()) for s in stores]
        now = time.time()
        for n in range(20):  # each replica ingests its own batches and both project
            batch = [event(f"{n}-{i}", timestamp=now - 10) for i in range(25)]
            await asyncio.gather(
                services[n % 2].ingest(batch[:12]),
                services[(n + 1) % 2].ingest(batch[12:]),
                services[0].projector.catch_up(),
                services[1].projector.catch_up(),
            )
        counters = await stores[0].counters(f"usage:d:{day_key(now - 10)}:m")
        assert counters["gpt-4o\x1fopenai\x1fn"] == 500
        assert counters["gpt-4o\x1fopenai\x1fp"] == 500 * 1000
        assert await services[1].projector.cursor() == 500
    finally:
        for s in stores:
            await s.close()
