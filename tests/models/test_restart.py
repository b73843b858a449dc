"""A download cut short by a gateway restart shows as interrupted and can be resumed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from gateway.app import create_app
from gateway.services import Services
from tests.models.conftest import Hub, ModelsGateway
from tests.models.helpers import download, wait_job
from tests.plugins.app import Gateway, make_settings

TINY = "acme/tiny-llama-1b"


async def test_restart_interrupts_and_resume_completes(
    hub: Hub, models_gateway: ModelsGateway, tmp_path: Path
) -> None:
    overrides = {"hf_endpoint": hub.url, "hf_hub_cache": str(tmp_path / "hf-cache")}
    app = create_app(make_settings(tmp_path, **overrides))
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        services: Services = app.state.services
        admin, _ = await services.tokens.create(subject="admin", roles=["admin"], expires_in=60)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as client:
            first = Gateway(app=app, client=client, settings=services.settings, admin_token=admin)
            slow = hub.sandbox.slow(f"/{TINY}/resolve/*/model.safetensors", 0.5, method="GET")
            started = await download(first, TINY)
            await wait_job(first, started["id"], ("RUNNING",))
            for _ in range(200):  # the weights are on their way when the gateway stops
                if slow.hits:
                    break
                await asyncio.sleep(0.02)
    finally:
        await lifespan.__aexit__(None, None, None)

    second = await models_gateway()
    interrupted = await wait_job(second, started["id"], ("INTERRUPTED",), within=2)
    assert interrupted["resumable"] is True
    assert interrupted["error"]["code"] == "INTERRUPTED"
    assert interrupted["progress"]["filesDone"] < interrupted["progress"]["filesTotal"]

    hub.sandbox.clear_faults()
    body = await second.gql(
        "mutation($id: ID!) { resumeDownload(jobId: $id) { ... on DownloadJob { state attempts } } }",
        {"id": started["id"]},
    )
    assert body["data"]["resumeDownload"]["attempts"] == 2
    done = await wait_job(second, started["id"])
    assert done["state"] == "SUCCEEDED"
    snapshot = tmp_path / "hf-cache" / "models--acme--tiny-llama-1b" / "snapshots"
    [commit] = list(snapshot.iterdir())
    for path in hub.files(TINY):
        assert (commit / path).read_bytes() == hub.content(TINY, path), path
