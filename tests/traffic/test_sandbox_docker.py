"""The fake Docker Engine API used by ``serve --sandbox`` speaks what aiodocker expects."""

from __future__ import annotations

from typing import Any

from gateway.sandbox.docker import DockerSandbox, create_app
from tests.plugins.servers import ServeApp


async def test_discovery_through_the_docker_sandbox(
    traffic_factory: Any, serve_app: ServeApp
) -> None:
    docker: DockerSandbox = create_app()
    url = await serve_app(docker)
    t = await traffic_factory(**DockerSandbox.settings_for(url))
    body = await t.gw.gql(
        "{ traffic { discovered { nodes { name state suggestion { port { value } network { value reason } } } } } }"
    )
    assert "errors" not in body, body
    nodes = {n["name"]: n for n in body["data"]["traffic"]["discovered"]["nodes"]}
    assert set(nodes) == {"jupyter", "minio", "whoami"}  # postgres has no traefik.enable
    assert nodes["jupyter"]["state"] == "exited"
    assert nodes["minio"]["suggestion"]["port"]["value"] == "9001"
    assert nodes["minio"]["suggestion"]["network"]["reason"] == "label traefik.docker.network"
    assert docker.counts["GET /version"] == 1  # aiodocker's version probe, then versioned paths
    assert docker.counts["GET /v1.43/containers/json"] == 1
