"""Docker discovery against a real Docker Engine API: podman's service on a unix socket."""

from __future__ import annotations

from typing import Any

import yaml

from tests.traffic.conftest import Traffic
from tests.traffic.engines import Podman

DISCOVERED = """{ traffic { discovered { totalCount nodes {
    id name image state status networks { name } ports { privatePort publicPort type }
    labels { key value } file routed routedBy
    suggestion { router service scheme entryPoints
      rule { value reason } port { value reason } network { value reason } } } } } }"""

APPLY = """mutation($id: String!, $host: String!) { applyDiscoveredRoute(containerId: $id, host: $host) {
    __typename
    ... on AppliedRoute { file router service rule url config container { name }
                          suggestion { port { value reason } network { value } } }
    ... on TrafficError { field code message } } }"""


async def test_lists_labelled_containers_with_reasoned_suggestions(
    traffic_factory: Any, podman: Podman
) -> None:
    t: Traffic = await traffic_factory(docker_host=podman.url)
    body = await t.gw.gql(DISCOVERED)
    assert "errors" not in body, body
    found = body["data"]["traffic"]["discovered"]
    nodes = {n["name"]: n for n in found["nodes"]}
    assert set(nodes) == {"web", "api", "plain"}  # "hidden" has no traefik.enable label
    assert found["totalCount"] == 3

    web = nodes["web"]
    assert web["id"] == podman.containers["web"]
    assert web["image"] == "localhost/ogw-tiny:1"
    assert web["state"] == "created"
    assert web["ports"] == [{"privatePort": 80, "publicPort": 18080, "type": "tcp"}]
    assert {"key": "traefik.enable", "value": "true"} in web["labels"]
    s = web["suggestion"]
    assert s["rule"] == {
        "value": "Host(`web.example.com`)",
        "reason": "label traefik.http.routers.web.rule",
    }
    assert s["port"] == {"value": "80", "reason": "the only TCP port the container exposes"}
    assert s["network"]["reason"] == "the container's only network"
    assert web["file"] == "container-web.yml"
    assert web["routed"] is False and web["routedBy"] == []

    api = nodes["api"]["suggestion"]
    assert api["port"] == {
        "value": "8000",
        "reason": "label traefik.http.services.api.loadbalancer.server.port",
    }
    assert api["network"] == {"value": "ogw-front", "reason": "label traefik.docker.network"}
    assert api["rule"]["value"] == "Host(`api.localhost`)"
    assert "no rule label" in api["rule"]["reason"]

    plain = nodes["plain"]
    assert sorted(n["name"] for n in plain["networks"]) == ["ogw-back", "ogw-front"]
    assert plain["suggestion"]["network"]["value"] == "ogw-back"
    assert "set traefik.docker.network" in plain["suggestion"]["network"]["reason"]
    assert plain["suggestion"]["port"] == {
        "value": "80",
        "reason": "no port exposed or labelled: Traefik's default 80",
    }


async def test_apply_writes_a_validated_file_and_traefik_routes_it(
    traffic_factory: Any, podman: Podman
) -> None:
    t: Traffic = await traffic_factory(docker_host=podman.url)
    result = await t.gw.gql(APPLY, {"id": podman.containers["api"][:12], "host": "API.Example.com"})
    applied = result["data"]["applyDiscoveredRoute"]
    assert applied["__typename"] == "AppliedRoute", applied
    path = t.dynamic / "container-api.yml"
    assert applied["file"] == str(path)
    assert applied["rule"] == "Host(`api.example.com`)"
    assert applied["url"] == "http://api:8000"
    assert yaml.safe_load(path.read_text()) == applied["config"]
    assert not [p for p in t.dynamic.iterdir() if p.name.startswith(".")]

    # The sandbox watches the directory like Traefik's file provider: the route is live.
    body = await t.gw.gql(
        '{ traffic { service(name: "api@file") { health servers { url } } discovered { nodes { name routed routedBy } } } }'
    )
    tr = body["data"]["traffic"]
    assert tr["service"]["servers"] == [{"url": "http://api:8000"}]
    routed = {n["name"]: n for n in tr["discovered"]["nodes"]}
    assert routed["api"]["routedBy"] == ["api@file"] and routed["api"]["routed"] is True
    assert routed["web"]["routed"] is False


async def test_apply_refuses_bad_input(traffic_factory: Any, podman: Podman) -> None:
    t: Traffic = await traffic_factory(docker_host=podman.url)
    before = sorted(p.name for p in t.dynamic.iterdir())
    cases = [
        ("../../etc/passwd", "a.example.com", "INVALID", "containerId"),
        ("web/../../x", "a.example.com", "INVALID", "containerId"),
        ("web", "../../etc", "INVALID", "host"),
        ("web", "x`) || Host(`evil.com", "INVALID", "host"),
        ("hidden", "a.example.com", "NOT_FOUND", "containerId"),
        ("nope", "a.example.com", "NOT_FOUND", "containerId"),
    ]
    for ref, host, code, field in cases:
        r = (await t.gw.gql(APPLY, {"id": ref, "host": host}))["data"]["applyDiscoveredRoute"]
        assert (r["code"], r["field"]) == (code, field), (ref, host, r)
    assert sorted(p.name for p in t.dynamic.iterdir()) == before


async def test_missing_docker_socket_nulls_only_discovery(traffic: Traffic) -> None:
    body = await traffic.gw.gql(
        "{ traffic { discovered { totalCount } services { totalCount } certificates { totalCount } } }"
    )
    tr = body["data"]["traffic"]
    assert tr["discovered"] is None
    assert tr["services"]["totalCount"] == 6
    assert tr["certificates"]["totalCount"] == 3
    [error] = body["errors"]
    assert error["path"] == ["traffic", "discovered"]
    assert {k: v for k, v in error["extensions"].items() if k != "requestId"} == {
        "code": "BACKEND_UNAVAILABLE",
        "backend": "docker",
    }
    applied = await traffic.gw.gql(APPLY, {"id": "web", "host": "web.example.com"})
    assert applied["data"]["applyDiscoveredRoute"]["code"] == "BACKEND_UNAVAILABLE"
