"""Hostile review, applyDiscoveredRoute: container names and labels chosen by whoever starts
containers must not place the file outside TRAEFIK_DYNAMIC_DIR, write through a planted
link, inject YAML, or point the route at another server. Docker is the fake Docker Engine
API served over HTTP, with hostile containers added to it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.sandbox.docker import DockerSandbox, create_app
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.servers import ServeApp
from tests.security.review_env import tree

APPLY = """mutation($id: String!, $host: String!) { applyDiscoveredRoute(containerId: $id,
  host: $host) { __typename ... on AppliedRoute { file url config }
  ... on TrafficError { field code message } } }"""


def container(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A running container as the Docker Engine API lists it."""
    return {
        "Id": hashlib.sha256(name.encode()).hexdigest(),
        "Names": [f"/{name}"],
        "Image": "hostile:1",
        "ImageID": "sha256:" + "0" * 64,
        "Command": "/run",
        "Created": 1736150400,
        "Ports": [{"PrivatePort": 80, "Type": "tcp"}],
        "Labels": {"traefik.enable": "true", **(labels or {})},
        "State": "running",
        "Status": "Up 1 minute",
        "HostConfig": {"NetworkMode": "proxy"},
        "NetworkSettings": {"Networks": {"proxy": {"IPAddress": "172.18.0.9"}}},
        "Mounts": [],
    }


async def _setup(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> tuple[DockerSandbox, Gateway, Path, Path]:
    docker = create_app()
    url = await serve_app(docker)
    dynamic = tmp_path / "dynamic"
    dynamic.mkdir()
    (dynamic / "grafana.yml").write_text("http: {services: {grafana: {}}}\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.yml").write_text("keep: me\n")
    gw = await gateway_factory(traefik_dynamic_dir=str(dynamic), **DockerSandbox.settings_for(url))
    return docker, gw, dynamic, outside


def _cid(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12]


async def _apply(gw: Gateway, ref: str, host: str = "app.example.com") -> dict[str, Any]:
    return (await gw.data(APPLY, {"id": ref, "host": host}))["applyDiscoveredRoute"]


HOSTILE_NAMES = [
    "../../../outside/evil",
    "a/../../b",
    "web@evil.example",
    "web:81@evil.example",
    "evil.example/#",
    "web\nhttp: {routers: {x: {rule: 'Host(`x`)'}}}",
    "..",
    "-",
    "w" * 300,
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_hostile_container_names_stay_in_the_directory_or_are_refused(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path, name: str
) -> None:
    docker, gw, dynamic, outside = await _setup(serve_app, gateway_factory, tmp_path)
    docker.containers.append(container(name))
    before = tree(outside)
    result = await _apply(gw, _cid(name))
    assert result["__typename"] == "TrafficError", result  # not a name Docker would allow
    assert result["code"] == "INVALID" and result["field"] == "containerId", result
    assert sorted(p.name for p in dynamic.iterdir()) == ["grafana.yml"]
    assert tree(outside) == before


@pytest.mark.parametrize(
    "labels",
    [
        {"traefik.http.services.s.loadbalancer.server.port": "80@evil.example"},
        {"traefik.http.services.s.loadbalancer.server.port": "80/admin?x="},
        {"traefik.http.services.s.loadbalancer.server.port": "99999"},
        {"traefik.http.services.s.loadbalancer.server.port": "٨٠"},  # Arabic-Indic digits
        {"traefik.http.services.s.loadbalancer.server.scheme": "http://evil.example/#"},
        {"traefik.http.services.s.loadbalancer.server.scheme": "file"},
        {"traefik.http.routers.r.entrypoints": "web\n  middlewares: [evil]"},
        {"traefik.http.routers.r.entrypoints": "web,{evil: 1}"},
    ],
)
async def test_labels_cannot_redirect_the_route_or_inject_yaml(
    serve_app: ServeApp,
    gateway_factory: GatewayFactory,
    tmp_path: Path,
    labels: dict[str, str],
) -> None:
    docker, gw, dynamic, _ = await _setup(serve_app, gateway_factory, tmp_path)
    docker.containers.append(container("app", labels))
    result = await _apply(gw, "app")
    assert result["__typename"] == "TrafficError", result
    assert result["code"] == "INVALID" and "traefik labels" in result["message"], result
    assert not (dynamic / "container-app.yml").exists()


async def test_what_is_written_is_exactly_one_router_and_one_service(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    docker, gw, dynamic, _ = await _setup(serve_app, gateway_factory, tmp_path)
    labels = {
        "traefik.http.routers.app.rule": "Host(`x`) || PathPrefix(`/`)\nhttp: {evil: 1}",
        "traefik.http.routers.app.entrypoints": "web, websecure",
        "traefik.http.services.app.loadbalancer.server.port": "8080",
        "traefik.http.services.app.loadbalancer.server.scheme": "HTTPS",
    }
    docker.containers.append(container("app.v2", labels))
    result = await _apply(gw, "app.v2", host="App.Example.com")
    assert result["__typename"] == "AppliedRoute", result
    assert result["url"] == "https://app.v2:8080"
    written = yaml.safe_load((dynamic / "container-app-v2.yml").read_text())
    assert (
        written
        == result["config"]
        == {
            "http": {
                "routers": {
                    "app-v2": {
                        "rule": "Host(`app.example.com`)",  # the host asked for, not the label
                        "service": "app-v2",
                        "entryPoints": ["web", "websecure"],
                    }
                },
                "services": {
                    "app-v2": {"loadBalancer": {"servers": [{"url": "https://app.v2:8080"}]}}
                },
            }
        }
    )


async def test_names_that_clean_up_alike_do_not_replace_each_others_route(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    docker, gw, dynamic, _ = await _setup(serve_app, gateway_factory, tmp_path)
    docker.containers += [container("web-prod"), container("web.prod")]
    first = await _apply(gw, "web-prod", host="prod.example.com")
    assert first["__typename"] == "AppliedRoute", first
    original = (dynamic / "container-web-prod.yml").read_bytes()
    clash = await _apply(gw, "web.prod", host="evil.example.com")
    assert clash["__typename"] == "TrafficError", clash
    assert clash["code"] == "CONFLICT" and "web-prod" in clash["message"], clash
    assert (dynamic / "container-web-prod.yml").read_bytes() == original
    again = await _apply(gw, "web-prod", host="www.prod.example.com")  # its own file: fine
    assert again["__typename"] == "AppliedRoute", again


@pytest.mark.parametrize("target", ["outside", "inside"])
async def test_a_planted_link_is_never_written_through(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path, target: str
) -> None:
    docker, gw, dynamic, outside = await _setup(serve_app, gateway_factory, tmp_path)
    docker.containers.append(container("app"))
    aim = outside / "keep.yml" if target == "outside" else dynamic / "grafana.yml"
    (dynamic / "container-app.yml").symlink_to(aim)
    before_outside, before_dir = tree(outside), tree(dynamic)
    result = await _apply(gw, "app")
    assert result["__typename"] == "TrafficError", result
    assert result["code"] == "INVALID" and "link" in result["message"], result
    assert tree(outside) == before_outside
    assert tree(dynamic) == before_dir
