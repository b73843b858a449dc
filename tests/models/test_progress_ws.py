"""Download progress streamed over a real websocket (graphql-transport-ws)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.models.conftest import Hub
from tests.models.helpers import download
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.ws import collect, refusal, subscription

PROGRESS = """subscription($id: ID!) { downloadProgress(jobId: $id) {
  jobId state phase bytesDone bytesTotal filesDone filesTotal currentFiles
  rateBytesPerSecond etaSeconds percent error { code } } }"""


async def _events(gw: Gateway, token: str, job_id: str) -> list[dict[str, Any]]:
    async with subscription(gw, token, PROGRESS, {"id": job_id}) as ws:
        return await collect(ws, "downloadProgress")


async def test_progress_events_arrive_live_until_the_download_ends(
    live_gateway_factory: GatewayFactory, hub: Hub, tmp_path: Any
) -> None:
    gw = await live_gateway_factory(hf_endpoint=hub.url, hf_hub_cache=str(tmp_path / "cache"))
    # Slow files (the weights slowest) so the download spans several progress reports.
    hub.sandbox.slow("/acme/tiny-llama-1b/resolve/*/model.safetensors", 0.8, method="GET")
    hub.sandbox.slow("/acme/tiny-llama-1b/resolve/*", 0.2, method="GET")
    started = await download(gw, "acme/tiny-llama-1b")
    viewer = await gw.token("viewer")  # reading progress needs only models:read
    events = await _events(gw, viewer, started["id"])

    total = sum(hub.files("acme/tiny-llama-1b").values())
    assert {e["jobId"] for e in events} == {started["id"]}
    assert events[-1]["state"] == "SUCCEEDED"
    assert events[-1]["bytesDone"] == events[-1]["bytesTotal"] == total
    assert events[-1]["filesDone"] == events[-1]["filesTotal"] == 7
    assert events[-1]["percent"] == 100.0
    done = [e["bytesDone"] for e in events]
    assert done == sorted(done)  # never goes backwards
    partial = [e for e in events if e["state"] == "RUNNING" and 0 < e["bytesDone"] < total]
    assert len(partial) >= 2, events
    assert any(e["rateBytesPerSecond"] > 0 and e["etaSeconds"] is not None for e in partial)
    assert any(e["currentFiles"] for e in partial)


async def test_progress_of_an_unknown_job_is_not_found(live_gateway: Gateway) -> None:
    token = live_gateway.admin_token
    async with subscription(live_gateway, token, PROGRESS, {"id": "nope"}) as ws:
        errors = await refusal(ws)
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.redis
async def test_progress_reaches_a_subscriber_on_another_replica(
    live_gateway_factory: GatewayFactory,
    hub: Hub,
    tmp_path: Any,
    redis_url: str,
    redis_prefix: str,
) -> None:
    shared = {
        "hf_endpoint": hub.url,
        "hf_hub_cache": str(tmp_path / "cache"),
        "redis_url": redis_url,
        "redis_prefix": redis_prefix,
    }
    first = await live_gateway_factory(**shared)
    second = await live_gateway_factory(**shared)
    hub.sandbox.slow("/acme/mini-bert/resolve/*", 0.2, method="GET")
    started = await download(first, "acme/mini-bert")
    events = await _events(second, second.admin_token, started["id"])
    assert events[-1]["state"] == "SUCCEEDED"
    assert events[-1]["filesDone"] == events[-1]["filesTotal"] == len(hub.files("acme/mini-bert"))
