"""The ``ops-gateway`` command, run as a user would: real processes, real store files."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.plugins.servers import free_port

TOKEN = re.compile(r"\b(ogw_[A-Za-z0-9_-]+)\b")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OIDC_", "REDIS_URL"))
    }
    return clean | {
        "GATEWAY_STORE": f"sqlite:///{tmp_path / 'gw.db'}",
        "GATEWAY_DATA_DIR": str(tmp_path),
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_token_create_list_revoke(env: dict[str, str]) -> None:
    created = cli(
        env, "token", "create", "--subject", "ci-bot", "--role", "developer", "--expires-in", "7d"
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert TOKEN.fullmatch(token)
    listing = cli(env, "token", "list")
    assert listing.returncode == 0
    line = next(li for li in listing.stdout.splitlines() if "ci-bot" in li)
    token_id = line.split("\t")[0]
    assert "developer" in line and "active" in line
    assert token.split("_")[-1] not in listing.stdout  # the secret is never shown again
    revoked = cli(env, "token", "revoke", token_id)
    assert revoked.returncode == 0 and token_id in revoked.stdout
    assert "ci-bot" not in cli(env, "token", "list").stdout
    assert "revoked" in cli(env, "token", "list", "--all").stdout
    assert cli(env, "token", "revoke", "nope").returncode == 2
    bad_role = cli(env, "token", "create", "--subject", "x", "--role", "wizard")
    assert bad_role.returncode == 2 and "wizard" in bad_role.stderr
    bad_expiry = cli(
        env, "token", "create", "--subject", "x", "--role", "viewer", "--expires-in", "soon"
    )
    assert bad_expiry.returncode == 2


def test_keys_rotate_runs_on_a_fresh_store(env: dict[str, str], tmp_path: Path) -> None:
    result = cli(env, "keys", "rotate")
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 0 secrets" in result.stdout
    key_file = tmp_path / "secret.keys"
    assert key_file.exists() and key_file.stat().st_mode & 0o777 == 0o600


@pytest.fixture
def serve(env: dict[str, str], tmp_path: Path) -> Iterator[callable]:
    """``ops-gateway serve`` as `make run` runs it: no store settings, in a fresh folder."""
    procs: list[subprocess.Popen[str]] = []
    defaults = {k: v for k, v in env.items() if k not in ("GATEWAY_STORE", "GATEWAY_DATA_DIR")}

    def start() -> tuple[subprocess.Popen[str], str]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
            env=defaults,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return proc, url
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("server did not start")

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    return out


def test_first_serve_prints_a_working_admin_token_once(serve, tmp_path: Path) -> None:
    proc, url = serve()
    output = _stop(proc)
    tokens = TOKEN.findall(output)
    assert len(tokens) == 1, output
    assert f"{url}/graphql" in output
    # The embedded defaults: a SQLite file and a generated key file in the working folder.
    assert (tmp_path / "ops-gateway.db").exists()
    assert (tmp_path / "secret.keys").stat().st_mode & 0o777 == 0o600

    proc, url = serve()
    headers = {"Authorization": f"Bearer {tokens[0]}"}
    query = "{ me { subject roles } access { roles { name } } }"
    response = httpx.post(f"{url}/graphql", json={"query": query}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["me"] == {"subject": "bootstrap-admin", "roles": ["admin"]}
    assert "viewer" in {r["name"] for r in data["access"]["roles"]}
    second_output = _stop(proc)
    assert not TOKEN.findall(second_output), "the bootstrap token is printed only once"
