"""The Lago sandbox speaks Lago: paths, pagination meta, error bodies, events, knobs."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.sandbox.lago import DEFAULT_API_KEY, LagoSandbox, create_app
from gateway.sandbox.lago_seed import HISTORY_MONTHS, LagoData, seed_data

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}


@pytest.fixture
async def http(lago_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{lago_url}/api/v1", headers=AUTH, timeout=5) as c:
        yield c


def test_constructible_without_arguments_and_deterministic() -> None:
    fixed = datetime(2025, 6, 15, tzinfo=UTC)
    a, b = seed_data(now=fixed), seed_data(now=fixed)
    assert a.subscriptions == b.subscriptions and a.invoices == b.invoices
    assert seed_data(now=fixed, seed=7).customers != a.customers
    sandbox = create_app()
    assert isinstance(sandbox, LagoSandbox) and sandbox.api_key == DEFAULT_API_KEY
    assert sandbox.data.now.time() == datetime.min.time()  # today, 00:00 UTC
    assert sandbox.settings_for("http://x") == {
        "lago_api_url": "http://x",
        "lago_api_key": DEFAULT_API_KEY,
    }


def test_seeded_history_is_rich(lago_data: LagoData) -> None:
    assert len(lago_data.customers) == 300
    assert {c["currency"] for c in lago_data.customers} == {"USD", "EUR"}
    assert {p["interval"] for p in lago_data.plans} == {
        "weekly",
        "monthly",
        "quarterly",
        "semiannual",
        "yearly",
    }
    statuses = Counter(s["status"] for s in lago_data.subscriptions)
    assert (
        set(statuses) == {"active", "terminated", "pending", "canceled"}
        and statuses["active"] > 200
    )
    assert any(s["previous_plan_code"] for s in lago_data.subscriptions)  # plan changes
    discounted = [s for s in lago_data.subscriptions
                  if s["plan_amount_cents"] != lago_data.by_plan[s["plan_code"]]["amount_cents"]]  # fmt: skip
    assert discounted
    oldest = min(datetime.fromisoformat(c["created_at"]) for c in lago_data.customers)
    assert (
        timedelta(days=30 * (HISTORY_MONTHS - 1))
        < lago_data.now - oldest
        < timedelta(days=31 * (HISTORY_MONTHS + 1))
    )
    assert len(lago_data.invoices) > 1000
    assert {i["status"] for i in lago_data.invoices} >= {"finalized", "voided"}


async def test_bearer_key_required(lago_url: str) -> None:
    async with httpx.AsyncClient(base_url=lago_url) as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": DEFAULT_API_KEY}):
            r = await c.get("/api/v1/customers", headers=headers)
            assert (r.status_code, r.json()) == (401, {"status": 401, "error": "Unauthorized"})
        assert (await c.get("/health")).status_code == 200  # like Lago's, no key needed


async def test_pagination_meta(http: httpx.AsyncClient, lago_data: LagoData) -> None:
    r = await http.get("/customers", params={"page": 2, "per_page": 40})
    body = r.json()
    assert body["meta"] == {
        "current_page": 2,
        "next_page": 3,
        "prev_page": 1,
        "total_pages": 8,
        "total_count": 300,
    }
    assert [c["external_id"] for c in body["customers"]] == [
        c["external_id"] for c in lago_data.customers[40:80]
    ]
    last = (await http.get("/customers", params={"page": 8, "per_page": 40})).json()["meta"]
    assert (last["next_page"], len(lago_data.customers[280:])) == (None, 20)
    default = (await http.get("/plans")).json()
    assert default["meta"]["total_count"] == 9 and len(default["plans"]) == 9


async def test_filters(http: httpx.AsyncClient, lago_data: LagoData) -> None:
    only_active = (await http.get("/subscriptions", params={"per_page": 100})).json()
    assert {s["status"] for s in only_active["subscriptions"]} == {"active"}  # Lago's default
    mixed = await http.get(
        "/subscriptions", params=[("status[]", "pending"), ("status[]", "canceled")]
    )
    assert {s["status"] for s in mixed.json()["subscriptions"]} == {"pending", "canceled"}
    customer = lago_data.invoices[0]["customer"]["external_id"]  # one that has invoices
    mine = (
        await http.get("/invoices", params={"external_customer_id": customer, "per_page": 100})
    ).json()
    assert mine["invoices"] and {i["customer"]["external_id"] for i in mine["invoices"]} == {
        customer
    }
    key = lago_data.invoices[len(lago_data.invoices) // 2]["issuing_date"][:7]
    params = {
        "issuing_date_from": f"{key}-01",
        "issuing_date_to": f"{key}-28",
        "statuses[]": "finalized",
    }
    month = (await http.get("/invoices", params=params)).json()["invoices"]
    assert month and all(i["issuing_date"].startswith(key) for i in month)
    assert {i["status"] for i in month} == {"finalized"}


async def test_error_bodies(http: httpx.AsyncClient) -> None:
    for path, code in [("/customers/nope", "customer_not_found"), ("/plans/nope", "plan_not_found"),
                       ("/subscriptions/nope", "subscription_not_found"), ("/invoices/nope", "invoice_not_found")]:  # fmt: skip
        r = await http.get(path)
        assert (r.status_code, r.json()) == (
            404,
            {"status": 404, "error": "Not Found", "code": code},
        )
    r = await http.get("/invoices", params={"issuing_date_from": "yesterday"})
    assert r.status_code == 422
    assert r.json() == {"status": 422, "error": "Unprocessable entity", "code": "validation_errors",
                        "error_details": {"issuing_date_from": ["invalid_date"]}}  # fmt: skip


async def test_analytics_knob(http: httpx.AsyncClient, lago: LagoSandbox) -> None:
    rows = (await http.get("/analytics/mrr", params={"months": 2, "currency": "EUR"})).json()[
        "mrrs"
    ]
    assert [r["currency"] for r in rows] == ["EUR", "EUR"] and rows[-1]["month"].endswith(
        "-01T00:00:00.000Z"
    )
    lago.analytics = False
    r = await http.get("/analytics/gross_revenue")
    assert (r.status_code, r.json()) == (
        403,
        {"status": 403, "error": "Forbidden", "code": "feature_unavailable"},
    )


async def test_events_single_batch_and_idempotency(
    http: httpx.AsyncClient, lago: LagoSandbox
) -> None:
    event = {"transaction_id": "tx-1", "external_subscription_id": "sub_00001", "code": "tokens",
             "timestamp": 1_700_000_000, "properties": {"total_tokens": 12}}  # fmt: skip
    r = await http.post("/events", json={"event": event})
    assert r.status_code == 200 and r.json()["event"]["transaction_id"] == "tx-1"
    assert r.json()["event"]["lago_customer_id"] is None  # Lago resolves it asynchronously
    again = await http.post(
        "/events", json={"event": {**event, "properties": {"total_tokens": 99}}}
    )
    assert again.status_code == 200
    batch = [{**event, "transaction_id": f"tx-{i}"} for i in range(1, 6)]
    assert (await http.post("/events/batch", json={"events": batch})).status_code == 200
    assert [e["transaction_id"] for e in lago.events] == [f"tx-{i}" for i in range(1, 6)]
    assert lago.event("tx-1")["properties"] == {"total_tokens": 12}  # the first one stays
    listed = (await http.get("/events", params={"external_subscription_id": "sub_00001"})).json()
    assert listed["meta"]["total_count"] == 5
    lago.clear_events()
    assert lago.events == []


async def test_event_validation(http: httpx.AsyncClient, lago: LagoSandbox) -> None:
    r = await http.post(
        "/events", json={"event": {"transaction_id": "t", "code": "c", "timestamp": "soon"}}
    )
    assert r.status_code == 422
    assert r.json()["error_details"] == {"external_subscription_id": ["value_is_mandatory"],
                                         "timestamp": ["invalid_format"]}  # fmt: skip
    too_many = [
        {"transaction_id": f"t{i}", "external_subscription_id": "s", "code": "c"}
        for i in range(101)
    ]
    r = await http.post("/events/batch", json={"events": too_many})
    assert (r.status_code, r.json()["error_details"]) == (422, {"events": ["too_many_events"]})
    mixed = [too_many[0], {"external_subscription_id": "s", "code": "c"}]
    r = await http.post("/events/batch", json={"events": mixed})
    assert r.json()["error_details"] == {"1": {"transaction_id": ["value_is_mandatory"]}}
    assert (await http.post("/events/batch", content=b"{not json")).status_code == 400
    assert lago.events == []  # a refused batch stores nothing


async def test_latency_faults_and_counter(http: httpx.AsyncClient, lago: LagoSandbox) -> None:
    lago.latency = 0.15
    started = time.perf_counter()
    await http.get("/plans")
    assert time.perf_counter() - started >= 0.15
    lago.latency = 0
    lago.fail("/api/v1/plans", status=503, times=1)
    assert (await http.get("/plans")).status_code == 503
    assert (await http.get("/plans")).status_code == 200
    assert lago.counts["GET /api/v1/plans"] == 3
