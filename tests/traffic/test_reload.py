"""reloadService: rewrite a file-provider service's file atomically; others get a reason."""

from __future__ import annotations

from typing import Any

from tests.traffic.conftest import GRAFANA, Traffic

RELOAD = """mutation($name: String!) { reloadService(name: $name) {
    __typename
    ... on ReloadedService { name file reloaded service { name health servers { status } } }
    ... on TrafficError { field code message } } }"""


async def test_reload_rewrites_the_file_and_reports_traefiks_view(traffic: Traffic) -> None:
    path = traffic.dynamic / "grafana.yml"
    inode = path.stat().st_ino
    result = (await traffic.gw.gql(RELOAD, {"name": "grafana@file"}))["data"]["reloadService"]
    assert result["__typename"] == "ReloadedService", result
    assert result["file"] == str(path)
    assert result["reloaded"] is True  # Traefik's reload counter moved
    assert result["service"] == {
        "name": "grafana@file",
        "health": "HEALTHY",
        "servers": [{"status": "UP"}],
    }
    assert path.read_text() == GRAFANA  # same content, new inode: a rename, not an edit
    assert path.stat().st_ino != inode
    assert sorted(p.name for p in traffic.dynamic.iterdir()) == ["grafana.yml"]  # no temp left


async def test_reload_by_bare_name_reports_the_current_status(traffic: Traffic) -> None:
    traffic.traefik.state.set_down("http://10.0.0.7:3000")
    result = (await traffic.gw.gql(RELOAD, {"name": "grafana"}))["data"]["reloadService"]
    assert result["name"] == "grafana@file"
    assert result["service"]["health"] == "DOWN"


async def test_other_providers_get_a_reason(traffic: Traffic) -> None:
    docker = (await traffic.gw.gql(RELOAD, {"name": "gateway@docker"}))["data"]["reloadService"]
    assert docker["code"] == "UNSUPPORTED"
    assert "docker provider" in docker["message"] and "no reload API" in docker["message"]
    bare = (await traffic.gw.gql(RELOAD, {"name": "lago"}))["data"]["reloadService"]
    assert bare["code"] == "UNSUPPORTED"
    assert "lago@docker" in bare["message"]
    missing = (await traffic.gw.gql(RELOAD, {"name": "nothing"}))["data"]["reloadService"]
    assert missing["code"] == "NOT_FOUND"


async def test_path_escaping_names_are_refused(traffic: Traffic) -> None:
    for name in ("../../etc/passwd", "../grafana", "/etc/passwd", "a/b@file", "grafana@../x"):
        result = (await traffic.gw.gql(RELOAD, {"name": name}))["data"]["reloadService"]
        assert result["code"] == "INVALID", (name, result)
        assert result["field"] == "name"
    assert traffic.traefik.counts["GET /api/http/services"] == 0


async def test_without_a_dynamic_dir(traffic_factory: Any) -> None:
    t = await traffic_factory(traefik_dynamic_dir=None)
    result = (await t.gw.gql(RELOAD, {"name": "grafana"}))["data"]["reloadService"]
    assert result["code"] == "NOT_CONFIGURED"
    assert "TRAEFIK_DYNAMIC_DIR" in result["message"]
