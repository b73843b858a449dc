"""The Lago outbox against the Lago sandbox over real HTTP: retried while Lago is down,
every event delivered once, re-sent batches harmless, the backlog visible."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.backends.lago import LagoClient
from gateway.pubsub import MemoryPubSub
from gateway.sandbox.base import Fault
from gateway.sandbox.lago import LagoSandbox
from gateway.store import SQLiteStore
from gateway.usage.outbox import lago_event
from gateway.usage.service import UsageService
from tests.plugins.app import GatewayFactory
from tests.plugins.servers import ServeApp
from tests.usage.helpers import event, eventually, post_events

BATCH = "/api/v1/events/batch"
POST_BATCH = f"POST {BATCH}"


@dataclass
class Rig:
    sandbox: LagoSandbox
    usage: UsageService
    client: LagoClient

    def delivered_posts(self, *faults: Fault) -> int:
        """Batch requests the sandbox's app answered (those ``faults`` took excluded)."""
        return self.sandbox.counts[POST_BATCH] - sum(f.hits for f in faults)


@pytest.fixture
async def rig(tmp_path: Path, serve_app: ServeApp) -> AsyncIterator[Rig]:
    sandbox = LagoSandbox(customers=5)
    url = await serve_app(sandbox)
    store = SQLiteStore(path=tmp_path / "outbox.db")
    await store.open()
    client = LagoClient(base_url=url, api_key=sandbox.api_key, timeout=2, retries=0)
    # Fast backoff so a test sees several retries in a second or two.
    usage = UsageService(
        store=store, pubsub=MemoryPubSub(), lago=client, poll_interval=0.05,
        backoff=0.05, max_backoff=0.2,
    )  # fmt: skip
    await usage.start()
    try:
        yield Rig(sandbox, usage, client)
    finally:
        await usage.stop()
        await client.aclose()
        await store.close()


async def _drained(usage: UsageService) -> bool:
    return await usage.outbox.backlog() == 0


async def test_delivers_every_event_once_after_lago_was_down(rig: Rig) -> None:
    down = rig.sandbox.fail(BATCH, status=503, body={"status": 503, "error": "Unavailable"})
    ids: list[str] = []
    for n in range(5):  # 250 events while Lago is down
        batch = [event(f"{n}-{i}", subject=f"sub-{i % 7}") for i in range(50)]
        ids += [e["id"] for e in batch]
        assert (await rig.usage.ingest(batch)).accepted == 50
    await eventually(lambda: _hit(down, 3))
    assert await rig.usage.outbox.backlog() == 250
    assert rig.usage.outbox.state.last_error is not None
    assert rig.sandbox.events == []

    rig.sandbox.clear_faults()  # Lago is back
    await eventually(lambda: _drained(rig.usage))
    received = rig.sandbox.events
    assert [e["transaction_id"] for e in received] == ids  # all, once each, in order
    # Nothing was sent twice: 250 pending events went out as 100 + 100 + 50.
    assert rig.delivered_posts(down) == 3
    first = received[0]
    assert first["code"] == "llm_usage" and first["external_subscription_id"] == "sub-0"
    assert first["properties"]["total_tokens"] == 1200
    assert rig.usage.outbox.state.failures == 0 and rig.usage.outbox.state.last_error is None


async def _hit(fault: Fault, n: int) -> bool:
    return fault.hits >= n


async def test_a_batch_resent_after_a_crash_is_stored_once(rig: Rig) -> None:
    """A previous process sent the batch, then died before advancing its cursor."""
    batch = [event(i) for i in range(30)]
    await rig.client.send_events([lago_event(e, code="llm_usage") for e in batch])
    assert len(rig.sandbox.events) == 30
    await rig.usage.ingest(batch)
    await eventually(lambda: _drained(rig.usage))
    assert [e["transaction_id"] for e in rig.sandbox.events] == [e["id"] for e in batch]
    assert rig.usage.outbox.state.last_error is None


async def test_lago_refusing_known_transaction_ids_counts_as_delivered(rig: Rig) -> None:
    # Lago's Postgres event store answers 422 value_already_exist for a known transaction_id.
    details = {"0": {"transaction_id": ["value_already_exist"]}}
    body = {"status": 422, "error": "Unprocessable entity", "code": "validation_errors"}
    rig.sandbox.fail(BATCH, status=422, body={**body, "error_details": details}, times=1)
    batch = [event(i) for i in range(5)]
    await rig.usage.ingest(batch)
    await eventually(lambda: _drained(rig.usage))
    # Event 0 is the one Lago said it had; the others were sent again without it.
    assert [e["transaction_id"] for e in rig.sandbox.events] == [e["id"] for e in batch[1:]]


async def test_other_refusals_are_retried_not_skipped(rig: Rig) -> None:
    details = {"0": {"code": ["does_not_exist"]}}
    body = {"status": 422, "error": "Unprocessable entity", "code": "validation_errors"}
    refused = rig.sandbox.fail(BATCH, status=422, body={**body, "error_details": details}, times=3)
    batch = [event(i) for i in range(5)]
    await rig.usage.ingest(batch)
    await eventually(lambda: _hit(refused, 3))
    await eventually(lambda: _drained(rig.usage))
    assert [e["transaction_id"] for e in rig.sandbox.events] == [e["id"] for e in batch]


async def test_app_forwards_ingested_events_and_reports_the_backlog(
    gateway_factory: GatewayFactory, serve_app: ServeApp
) -> None:
    sandbox = LagoSandbox(customers=5)
    url = await serve_app(sandbox)
    gw = await gateway_factory(**sandbox.settings_for(url))
    sandbox.fail(BATCH, status=502, times=2)  # a short outage
    token = await gw.token("developer")
    events = [event(i) for i in range(120)]
    await post_events(gw.client, events, token)
    await eventually(lambda: _drained(gw.services.usage), within=10)
    assert [e["transaction_id"] for e in sandbox.events] == [e["id"] for e in events]
    body = await gw.gql("{ usage { overview { billing { configured backlog delivered } } } }")
    billing = body["data"]["usage"]["overview"]["billing"]
    assert billing == {"configured": True, "backlog": 0, "delivered": 120}
    await gw.services.usage.refresh_backlog()
    assert _gauge((await gw.client.get("/metrics")).text) == 0


def _gauge(text: str) -> Any:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "gateway_usage_billing_backlog":
                return sample.value
    return None
