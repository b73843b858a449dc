"""The files the gateway writes: confined to their directory, atomic, modes and backups kept."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import yaml

from gateway.backends.traefik.metrics import quantile
from gateway.errors import BadUserInput
from gateway.traffic.acme_json import AcmeJson
from gateway.traffic.dynamic_dir import DynamicDir, check_hostname, validate_config
from tests.traffic.certs import make_cert, write_acme_json

ROUTE = {
    "http": {
        "routers": {"app": {"rule": "Host(`app.example.com`)", "service": "app"}},
        "services": {"app": {"loadBalancer": {"servers": [{"url": "http://app:80"}]}}},
    }
}


@pytest.mark.parametrize(
    "name", ["../x", "..", "a/b", "/etc/passwd", "x/../../y", ".hidden", "a..b", "", "ünïcode"]
)
def test_names_that_could_leave_the_directory_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(BadUserInput):
        DynamicDir(root=tmp_path).write(name, ROUTE)
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "dyn", tmp_path / "outside.yml"
    root.mkdir()
    (root / "evil.yml").symlink_to(outside)
    with pytest.raises(BadUserInput):
        DynamicDir(root=root).write("evil", ROUTE)
    assert not outside.exists()


def test_write_is_atomic_valid_yaml_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = DynamicDir(root=tmp_path).write("app", ROUTE)
    assert path == tmp_path / "app.yml"
    assert yaml.safe_load(path.read_text()) == ROUTE
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in tmp_path.iterdir()] == ["app.yml"]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"http": {"routers": {"x": {"rule": "Host(`a`)"}}}},
        {"http": {"services": {"x": {}}}},
        {"http": {"services": {"x": {"loadBalancer": {"servers": [{"url": "file:///etc"}]}}}}},
        {"entryPoints": {}},
    ],
)
def test_invalid_configs_are_refused(config: dict[str, object]) -> None:
    with pytest.raises(BadUserInput):
        validate_config(config)


@pytest.mark.parametrize(
    "host", ["../../etc", "a b", "x/y", "-a.com", "a" * 64 + ".com", "h`)||Host(`x"]
)
def test_bad_host_names(host: str) -> None:
    with pytest.raises(BadUserInput):
        check_hostname(host)


def test_acme_json_replace_keeps_0600_and_backs_up(tmp_path: Path) -> None:
    path = tmp_path / "acme.json"
    write_acme_json(
        path, {"le": [(["a.example.com", "b.example.com"], 3), (["c.example.com"], 50)]}
    )
    before = path.read_bytes()
    cert, key = make_cert(["a.example.com", "b.example.com"], days=90)
    backup = AcmeJson(path=path).replace(
        resolver="le", main="a.example.com", certificate_pem=cert, key_pem=key
    )
    assert backup is not None and backup.read_bytes() == before
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert oct(backup.stat().st_mode & 0o777) == oct(0o600)
    data = json.loads(path.read_text())
    entries = data["le"]["Certificates"]
    assert base64.b64decode(entries[0]["certificate"]) == cert
    assert base64.b64decode(entries[0]["key"]) == key
    assert entries[0]["domain"] == {"main": "a.example.com", "sans": ["b.example.com"]}
    assert entries[1] == json.loads(before)["le"]["Certificates"][1]  # untouched
    assert data["le"]["Account"]["Email"] == "ops@example.com"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    buckets = [(0.1, 50.0), (0.3, 90.0), (1.2, 100.0), (float("inf"), 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.7, buckets) == pytest.approx(0.2)
    assert quantile(0.95, buckets) == pytest.approx(0.75)
    assert quantile(0.5, []) is None


def test_umask_does_not_widen_the_key_mode(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "acme.json"
        cert, key = make_cert(["x.example.com"])
        AcmeJson(path=path).replace(
            resolver="le", main="x.example.com", certificate_pem=cert, key_pem=key
        )
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
