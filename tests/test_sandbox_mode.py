"""``ops-gateway serve --sandbox``: every sandbox in-process, and the README's queries on it.

The dashboard queries are read from README.md's "Sandbox mode" section, so the documentation
and this test cannot drift apart. A query whose backend's sandbox or schema is not part of
this build is skipped with the reason (see ``NEEDS``); everything present must return data.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse

from gateway.sandbox.entries import ENTRIES, SandboxEntry
from gateway.sandbox.suite import SandboxSuite
from gateway.settings import Settings
from schema import build_schema
from tests.plugins.app import GatewayFactory
from tests.plugins.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
# Root field -> the sandboxes it needs to return data.
NEEDS: dict[str, tuple[str, ...]] = {
    "revenue": ("lago",),
    "models": ("hub",),
    "traffic": ("traefik", "docker"),
    "agents": ("brigade",),
    "providers": ("providers",),
    "usage": ("providers",),  # the providers entry also seeds the usage
}
TOKEN = re.compile(r"\b(ogw_[A-Za-z0-9_-]+)\b")


def readme_queries() -> list[tuple[str, str]]:
    """``(title, query)`` for each ```graphql block of the README's "Sandbox mode" section;
    the title is the sentence just above the block."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Sandbox mode\n", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"\n([^\n`][^\n]*)\n\n```graphql\n(.*?)```", section, flags=re.S)
    return [(title.strip().rstrip(":"), query) for title, query in found]


QUERIES = readme_queries()


def root_fields(query: str) -> list[str]:
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return [sel.name.value for sel in operation.selection_set.selections]  # type: ignore[attr-defined]


def empty_parts(value: Any, path: str = "") -> list[str]:
    """Where the answer has no data: a null section, or a list (connection nodes, edges,
    breakdowns) with nothing in it. A dashboard page wants every part filled."""
    if value is None:
        return [path or "."]
    if isinstance(value, list):
        return [path] if not value else empty_parts(value[0], f"{path}[0]")
    if isinstance(value, dict):
        # Sections (two levels down) must be there; deeper nullable leaves may be null.
        return [
            p
            for k, v in value.items()
            for p in empty_parts(v, f"{path}.{k}")
            if not (v is None and path.count(".") >= 2)
        ]
    return []


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxSuite]:
    with SandboxSuite(workdir=tmp_path_factory.mktemp("sandboxes")) as started:
        yield started


def test_readme_shows_the_three_dashboard_pages() -> None:
    titles = " ".join(title.lower() for title, _ in QUERIES)
    for page in ("billing", "models", "traffic", "usage", "agents"):
        assert page in titles, f"README's Sandbox mode section has no {page} page query"


def test_overrides_are_settings_and_survive_the_environment(suite: SandboxSuite) -> None:
    assert "brigade" in suite.running
    settings = Settings().replace(**suite.overrides)
    assert settings.brigade_api_url == suite.running["brigade"].url
    from_env = Settings.from_env(suite.environ())
    for name in suite.overrides:
        assert getattr(from_env, name) == getattr(settings, name), name


def test_a_missing_sandbox_is_skipped_and_reported(tmp_path: Path) -> None:
    absent = SandboxEntry("ghost", "gateway.sandbox.no_such_backend", lambda a, u, h: {})
    brigade = next(e for e in ENTRIES if e.name == "brigade")
    with SandboxSuite(entries=(absent, brigade), workdir=tmp_path) as partial:
        assert list(partial.running) == ["brigade"]
        assert "ghost" in partial.skipped
        assert any("not started" in line for line in partial.describe())
    broken = SandboxEntry("broken", "gateway.sandbox.brigade", lambda a, u, h: {}, "nope")
    with pytest.raises(AttributeError):
        SandboxSuite(entries=(broken,), workdir=tmp_path).start()


@pytest.mark.parametrize(("title", "query"), QUERIES, ids=[t for t, _ in QUERIES])
async def test_readme_query_returns_data(
    gateway_factory: GatewayFactory, suite: SandboxSuite, title: str, query: str
) -> None:
    fields = build_schema().get_type_by_name("Query").fields  # type: ignore[union-attr]
    known = {f.graphql_name or f.name for f in fields}
    for root in root_fields(query):
        if root not in known:
            pytest.skip(f"{title}: the schema has no `{root}` yet")
        missing = [name for name in NEEDS.get(root, ()) if name not in suite.running]
        if missing:
            pytest.skip(f"{title}: sandbox {', '.join(missing)} not in this build")
    gw = await gateway_factory(**suite.overrides)
    await suite.seed(gw.services)
    body = await gw.gql(query)
    assert "errors" not in body, body
    assert empty_parts(body["data"]) == [], body


# -- the real command ------------------------------------------------------------------
def test_serve_sandbox_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OIDC_"))}
    for name in ("REDIS_URL", "BRIGADE_API_URL", "BRIGADE_API_KEY", "LAGO_API_URL"):
        env.pop(name, None)
    temp, work = tmp_path / "tmp", tmp_path / "work"  # where the suite's folder goes; the cwd
    temp.mkdir()
    work.mkdir()
    env["TMPDIR"] = str(temp)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--sandbox", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError("gateway did not become ready:\n" + "".join(lines))
        token = TOKEN.search("".join(lines))
        assert token, "".join(lines)
        auth = {"Authorization": f"Bearer {token.group(1)}"}
        # What `make demo` promises: the README's pages answer, and seeded records exist.
        seeded = "{ providers { list(first: 50) { totalCount } } }"
        for query in [q for _, q in QUERIES] + [seeded]:
            response = httpx.post(f"{url}/graphql", json={"query": query}, headers=auth, timeout=30)
            body = response.json()
            assert "errors" not in body and empty_parts(body["data"]) == [], body
        assert body["data"]["providers"]["list"]["totalCount"] >= 9
        checks = httpx.get(f"{url}/readyz", timeout=5).json()["checks"]
        assert checks["brigade"]["ok"] is True
        assert any(p.name.startswith("ogw-sandbox-") for p in temp.iterdir())
    finally:
        proc.send_signal(signal.SIGTERM)  # as a container runtime or systemd stops it
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)
    output = "".join(lines)
    assert proc.returncode == 128 + signal.SIGTERM, output
    assert "sandbox mode" in output and "brigade" in output
    # The demo kept its store in its own temporary folder, removed on the way out: nothing
    # is left in the working directory or in the temporary one.
    assert list(work.iterdir()) == [] and list(temp.iterdir()) == [], output
