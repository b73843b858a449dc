"""LagoClient and its loaders against the Lago sandbox (and small fakes) over real HTTP."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.backends.lago import LagoClient, LagoEvent
from gateway.backends.lago.client import api_base
from gateway.errors import BackendError, BackendRejected
from gateway.revenue.builder import build_snapshot
from gateway.revenue.loaders import CustomerLoader, PlanLoader
from gateway.sandbox.base import Sandbox
from gateway.sandbox.lago import DEFAULT_API_KEY, LagoSandbox
from gateway.sandbox.lago_seed import LagoData
from tests.plugins.servers import ServeApp


@pytest.fixture
async def client(lago_url: str) -> AsyncIterator[LagoClient]:
    async with LagoClient(base_url=lago_url, api_key=DEFAULT_API_KEY) as c:
        yield c


def test_base_url_gets_the_api_prefix_once() -> None:
    assert api_base("https://api.getlago.com/") == "https://api.getlago.com/api/v1"
    assert api_base("http://lago:3000/api/v1") == "http://lago:3000/api/v1"
    assert api_base(None) is None


async def test_lists_follow_every_page(
    lago: LagoSandbox, lago_url: str, lago_data: LagoData
) -> None:
    async with LagoClient(base_url=lago_url, api_key=DEFAULT_API_KEY, page_size=7) as small:
        customers = await small.customers()
    assert [c.external_id for c in customers] == [c["external_id"] for c in lago_data.customers]
    assert lago.counts["GET /api/v1/customers"] == math.ceil(len(lago_data.customers) / 7)


async def test_page_size_is_capped_and_all_statuses_are_asked_for(
    lago: LagoSandbox, lago_url: str, lago_data: LagoData
) -> None:
    async with LagoClient(base_url=lago_url, api_key=DEFAULT_API_KEY, page_size=10_000) as big:
        subs = await big.subscriptions()
        active = await big.subscriptions(statuses=["active"])
    assert big.page_size == 100
    assert len(subs) == len(lago_data.subscriptions)
    assert {s.status for s in subs} == {"active", "pending", "terminated", "canceled"}
    assert {s.status for s in active} == {"active"}


async def test_a_window_costs_one_call_whatever_the_list_length(
    lago: LagoSandbox, lago_url: str, lago_data: LagoData
) -> None:
    async with LagoClient(base_url=lago_url, api_key=DEFAULT_API_KEY) as client:
        lago.reset_counts()
        page, total = await client.customers_page(offset=100, limit=100)
        assert total == len(lago_data.customers)
        assert [c.external_id for c in page] == [
            c["external_id"] for c in lago_data.customers[100:200]
        ]
        assert lago.total == 1
        # An unaligned window: two calls of the smallest pages that cover it.
        lago.reset_counts()
        page, _ = await client.customers_page(offset=50, limit=100)
        assert [c.external_id for c in page] == [
            c["external_id"] for c in lago_data.customers[50:150]
        ]
        assert lago.total == 2


async def test_a_list_that_grows_while_listed_is_followed(serve_app: ServeApp) -> None:
    # Page 1 announces 2 pages; by page 2 a third exists (next_page says so).
    def page(request: Request) -> Response:
        n = int(request.query_params["page"])
        meta = {"current_page": n, "next_page": n + 1 if n < 3 else None,
                "prev_page": n - 1 or None, "total_pages": 2 if n == 1 else 3, "total_count": 3}  # fmt: skip
        plan = {"lago_id": f"p{n}", "code": f"p{n}", "name": f"P{n}", "interval": "monthly",
                "amount_cents": 100 * n, "amount_currency": "USD", "created_at": None}  # fmt: skip
        return JSONResponse({"plans": [plan], "meta": meta})

    fake = Sandbox(Starlette(routes=[Route("/api/v1/plans", page)]))
    url = await serve_app(fake)
    async with LagoClient(base_url=url, api_key="k", page_size=1) as c:
        plans = await c.plans()
    assert [p.code for p in plans] == ["p1", "p2", "p3"]
    assert fake.counts["GET /api/v1/plans"] == 3


async def test_one_object_and_404(client: LagoClient, lago_data: LagoData) -> None:
    customer = await client.customer("cus_0001")
    assert customer is not None and customer.name == lago_data.by_customer["cus_0001"]["name"]
    assert await client.customer("cus_nope") is None
    assert await client.customer("../plans") is None  # ids never change the path
    plan = await client.plan("burst")
    assert plan is not None and (plan.interval, plan.amount_cents) == ("weekly", 4900)


async def test_analytics_and_their_403(client: LagoClient, lago: LagoSandbox) -> None:
    rows = await client.mrr(months=3)
    assert rows is not None and {r.currency for r in rows} == {"EUR", "USD"} and len(rows) == 6
    lago.analytics = False
    assert await client.mrr(months=3) is None
    assert await client.gross_revenue(months=3) is None
    lago.fail("/api/v1/analytics/mrr", status=403, body={"status": 403, "error": "Forbidden"})
    with pytest.raises(BackendError) as info:  # any other 403 is a real failure
        await client.mrr(months=3)
    assert info.value.status == 403


async def test_invoice_window_fetches_only_covering_pages(
    client: LagoClient, lago: LagoSandbox, lago_data: LagoData
) -> None:
    items, total = await client.invoice_window(150, 80)
    assert total == len(lago_data.invoices)
    assert [i.lago_id for i in items] == [i["lago_id"] for i in lago_data.invoices[150:230]]
    assert lago.counts["GET /api/v1/invoices"] == 2  # pages 2 and 3 of 100


def events(n: int, prefix: str = "t") -> list[LagoEvent]:
    return [
        LagoEvent(transaction_id=f"{prefix}{i}", external_subscription_id="sub_00001", code="tokens",
                  timestamp=1_700_000_000 + i, properties={"total_tokens": i})
        for i in range(n)
    ]  # fmt: skip


async def test_send_events_in_batches_idempotently(client: LagoClient, lago: LagoSandbox) -> None:
    await client.send_events(events(250))
    assert lago.counts["POST /api/v1/events/batch"] == 3
    assert len(lago.events) == 250
    await client.send_events(events(120))  # already delivered: accepted, stored once
    assert len(lago.events) == 250
    stored = lago.event("t7")
    assert stored is not None and stored["properties"] == {"total_tokens": 7}
    assert stored["timestamp"] == "2023-11-14T22:13:27.000Z"
    await client.send_events([])
    assert lago.counts["POST /api/v1/events/batch"] == 5


async def test_send_events_rejected_as_lago_explains(client: LagoClient, lago: LagoSandbox) -> None:
    bad = [*events(101, "ok"), {"transaction_id": "x"}]  # the 102nd is not an event at all

    class Raw(LagoEvent):  # sends whatever it holds, to see Lago's 422
        def to_wire(self) -> dict[str, Any]:
            return {"transaction_id": "", "code": "tokens"}

    payload = [*bad[:101], Raw(transaction_id="r", external_subscription_id="s", code="c")]
    with pytest.raises(BackendRejected) as info:
        await client.send_events(payload)
    # The first batch (100) went through; the second was refused, its index re-based.
    assert info.value.code.value == "BACKEND_ERROR" and info.value.status == 422
    assert info.value.details == {"101": {"transaction_id": ["value_is_mandatory"],
                                          "external_subscription_id": ["value_is_mandatory"]}}  # fmt: skip
    assert len(lago.events) == 100


def test_events_are_validated_before_sending() -> None:
    with pytest.raises(ValueError, match="transaction_id"):
        LagoEvent(transaction_id=" ", external_subscription_id="s", code="c")
    with pytest.raises(ValueError, match="properties"):
        LagoEvent(transaction_id="t", external_subscription_id="s", code="c", properties={"a": [1]})  # type: ignore[dict-item]
    assert LagoEvent("t", "s", "c", timestamp=1.25).to_wire()["timestamp"] == "1.25"


async def test_customer_loader_batches_and_dedupes_without_a_snapshot(
    client: LagoClient, lago: LagoSandbox
) -> None:
    loader = CustomerLoader(client, None)
    found = await asyncio.gather(
        *(loader.load(k) for k in ["cus_0001", "cus_0002", "cus_0001", "cus_x"])
    )
    assert [c.external_id if c else None for c in found] == [
        "cus_0001",
        "cus_0002",
        "cus_0001",
        None,
    ]
    assert lago.total == 3  # two customers and the unknown one, each once; no list call
    assert lago.counts["GET /api/v1/customers"] == 0


async def test_loaders_serve_what_the_snapshot_holds_without_calls(
    client: LagoClient, lago: LagoSandbox, lago_data: LagoData, now: datetime
) -> None:
    snapshot = await build_snapshot(client, now=now, cursor=0)
    lago.reset_counts()
    keys = [f"cus_{i:04d}" for i in range(1, 41)] * 2
    found = await asyncio.gather(*(CustomerLoader(client, snapshot).load(k) for k in keys))
    assert [c.external_id for c in found] == keys
    plans = await asyncio.gather(*(PlanLoader(client, snapshot).load(c) for c in ("pro", "gone")))
    assert [p.code if p else None for p in plans] == ["pro", None]
    assert dict(lago.counts) == {"GET /api/v1/plans/gone": 1}  # only the key it lacks
