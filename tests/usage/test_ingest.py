"""Ingestion over HTTP and GraphQL: idempotency, whole-batch validation, auth and limits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

from prometheus_client.parser import text_string_to_metric_families

from gateway.settings import Limits
from gateway.usage.events import MAX_BATCH
from tests.plugins.app import Gateway, GatewayFactory
from tests.usage.helpers import event, post_events

OVERVIEW = "{ usage { overview(days: 1) { requests promptTokens completionTokens cachedTokens } } }"
RECORD = """mutation($events: [UsageEventInput!]!) { recordUsage(events: $events) {
  __typename
  ... on UsageIngestion { accepted duplicates duplicateIds rejected { index id field reason } }
  ... on UsageError { field message code } } }"""


def gql_event(i: int, **overrides: object) -> dict[str, object]:
    ev = event(i)
    body = {
        "id": ev["id"],
        "timestamp": str(ev["timestamp"]),
        "subject": ev["subject"],
        "model": ev["model"],
        "provider": ev["provider"],
        "promptTokens": ev["prompt_tokens"],
        "completionTokens": ev["completion_tokens"],
        "cachedTokens": ev["cached_tokens"],
        "latencyMs": ev["latency_ms"],
    }
    return {**body, **overrides}


async def test_repeated_ids_are_counted_once(gateway: Gateway) -> None:
    token = await gateway.token("developer")
    batch = [event(1), event(2), event(1), event(3)]  # ev-1 twice within the batch
    first = await post_events(gateway.client, batch, token)
    assert first == {"accepted": 3, "duplicates": 1, "duplicate_ids": ["ev-1"], "rejected": []}
    again = await post_events(gateway.client, [event(3), event(2), event(4)], token)
    assert (again["accepted"], again["duplicate_ids"]) == (1, ["ev-3", "ev-2"])
    body = await gateway.gql(OVERVIEW)
    overview = body["data"]["usage"]["overview"]
    assert overview["requests"] == 4
    assert (overview["promptTokens"], overview["cachedTokens"]) == (4000, 400)
    # A duplicate is a duplicate even with different figures: the first recording stands.
    await post_events(gateway.client, [event(4, prompt_tokens=999_999)], token)
    assert (await gateway.gql(OVERVIEW))["data"]["usage"]["overview"]["promptTokens"] == 4000


async def test_batch_is_validated_as_a_whole(gateway: Gateway) -> None:
    token = await gateway.token("developer")
    now = time.time()
    batch = [
        event("ok-1"),
        event("bad-cached", cached_tokens=5000),
        {"id": "missing"},
        event("future", timestamp=now * 1000),  # milliseconds by mistake
        event("status", status="exploded"),
        event("unknown", colour="blue"),
        "not an object",
        event(
            "ok-2",
            timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 86400)),
            cost=0.1,
        ),
        event("neg", completion_tokens=-1),
        event("ctl", subject="eve\x1fmallory"),
        event("old", timestamp="2024-01-02T03:04:05Z"),  # past the idempotency window
    ]
    result = await post_events(gateway.client, batch, token)
    assert result["accepted"] == 2 and result["duplicates"] == 0
    rejected = {(r["index"], r["id"], r["field"]) for r in result["rejected"]}
    assert rejected == {
        (1, "ev-bad-cached", "cached_tokens"),
        (2, "missing", "timestamp"),
        (3, "ev-future", "timestamp"),
        (4, "ev-status", "status"),
        (5, "ev-unknown", "colour"),
        (6, None, None),
        (8, "ev-neg", "completion_tokens"),
        (9, "ev-ctl", "subject"),
        (10, "ev-old", "timestamp"),
    }
    assert all(r["reason"] for r in result["rejected"])
    old = next(r for r in result["rejected"] if r["id"] == "ev-old")
    assert "30-day idempotency window" in old["reason"]
    # Fixing the rejected events and sending the whole batch again is safe.
    again = await post_events(gateway.client, [event("ok-1"), event("bad-cached")], token)
    assert (again["accepted"], again["duplicates"]) == (1, 1)


async def test_http_auth_and_malformed_bodies(gateway_factory: GatewayFactory) -> None:
    gw = await gateway_factory(limits=Limits(max_body_bytes=20_000))
    url = "/v1/usage/events"
    anonymous = await gw.client.post(url, json=[event(1)])
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    viewer = {"Authorization": f"Bearer {await gw.token('viewer')}"}
    forbidden = await gw.client.post(url, json=[event(1)], headers=viewer)
    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    dev = {"Authorization": f"Bearer {await gw.token('developer')}"}
    for body, status in [
        (b"{not json", 400),
        (b'{"id": "x"}', 400),
        (b"[]", 400),
        (b'"text"', 400),
        (b"[" + b",".join([b"{}"] * (MAX_BATCH + 1)) + b"]", 400),
        (b"[" + b" " * 30_000 + b"]", 413),
    ]:
        response = await gw.client.post(url, content=body, headers=dev)
        assert response.status_code == status, (body[:20], response.text)
        assert response.json()["errors"][0]["extensions"]["code"] in (
            "BAD_USER_INPUT",
            "REQUEST_TOO_LARGE",
        )
    # {"events": [...]} is accepted too; nothing was recorded by the refused requests.
    wrapped = await gw.client.post(url, json={"events": [event(1)]}, headers=dev)
    assert wrapped.json()["accepted"] == 1
    assert (await gw.gql(OVERVIEW))["data"]["usage"]["overview"]["requests"] == 1


async def test_record_usage_mutation(gateway: Gateway) -> None:
    events = [gql_event(1), gql_event(2, timestamp="yesterday"), gql_event(1)]
    body = await gateway.gql(RECORD, {"events": events})
    result = body["data"]["recordUsage"]
    assert result["__typename"] == "UsageIngestion"
    assert (result["accepted"], result["duplicateIds"]) == (1, ["ev-1"])
    assert result["rejected"] == [
        {"index": 1, "id": "ev-2", "field": "timestamp", "reason": "not an ISO 8601 date-time"}
    ]
    recent = datetime.now(UTC) - timedelta(days=3)
    stamp = recent.astimezone(timezone(timedelta(hours=2))).isoformat()  # with an offset
    iso = gql_event(3, timestamp=stamp, cost="0.25", status="ERROR")
    assert (await gateway.gql(RECORD, {"events": [iso]}))["data"]["recordUsage"]["accepted"] == 1
    too_many = await gateway.gql(RECORD, {"events": [gql_event(0)] * (MAX_BATCH + 1)})
    error = too_many["data"]["recordUsage"]
    assert (error["__typename"], error["field"], error["code"]) == (
        "UsageError",
        "events",
        "INVALID",
    )
    viewer = await gateway.token("viewer")
    denied = await gateway.gql(RECORD, {"events": [gql_event(9)]}, token=viewer)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_metrics_count_events_and_show_the_backlog(gateway: Gateway) -> None:
    token = await gateway.token("developer")
    await post_events(gateway.client, [event(1), event(2), event(1), {"id": 3}], token)
    await gateway.services.usage.refresh_backlog()  # what the outbox loop does every second
    text = (await gateway.client.get("/metrics")).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("gateway_usage_events_total", (("outcome", "accepted"),))] == 2
    assert samples[("gateway_usage_events_total", (("outcome", "duplicate"),))] == 1
    assert samples[("gateway_usage_events_total", (("outcome", "rejected"),))] == 1
    # No Lago configured: nothing leaves, and the backlog says so.
    assert samples[("gateway_usage_billing_backlog", ())] == 2
    billing = await gateway.gql("{ usage { billing { configured backlog delivered } } }")
    assert billing["data"]["usage"]["billing"] == {
        "configured": False,
        "backlog": 2,
        "delivered": 0,
    }
