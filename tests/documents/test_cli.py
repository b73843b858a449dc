"""`ops-gateway documents import | list | revoke`, run as the command, on the store a
gateway then serves from."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from gateway.settings import WebSettings
from tests.plugins.app import GatewayFactory

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "examples" / "operations" / "manifest.json"


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_STORE"] = f"sqlite:///{tmp_path / 'gateway.db'}"
    command = [sys.executable, "-m", "gateway.cli", "documents", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_import_list_revoke_apollo_manifest(tmp_path: Path) -> None:
    imported = cli(tmp_path, "import", str(MANIFEST))
    assert imported.returncode == 0, imported.stderr
    count = len(json.loads(MANIFEST.read_text())["operations"])
    assert f"imported {count} documents (0 already trusted)" in imported.stdout
    again = cli(tmp_path, "import", str(MANIFEST))
    assert f"imported 0 documents ({count} already trusted)" in again.stdout
    listing = cli(tmp_path, "list").stdout.splitlines()
    assert len(listing) == count
    first = listing[0].split("\t")
    assert first[1] in ("query", "subscription") and first[3] == "manifest.json"
    revoked = cli(tmp_path, "revoke", first[0])
    assert revoked.returncode == 0 and first[0] in revoked.stdout
    assert len(cli(tmp_path, "list").stdout.splitlines()) == count - 1
    missing = cli(tmp_path, "revoke", "no-such-id")
    assert missing.returncode == 1 and "no trusted document" in missing.stderr


async def test_codegen_manifest_then_served(
    tmp_path: Path, gateway_factory: GatewayFactory
) -> None:
    body = "query Who { me { subject } }"
    sha = hashlib.sha256(body.encode()).hexdigest()
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({sha: body}))  # GraphQL Codegen's client preset output
    result = cli(tmp_path, "import", str(manifest))
    assert result.returncode == 0, result.stderr
    gw = await gateway_factory(web=WebSettings(documents="trusted"))  # same SQLite file
    token = await gw.token("viewer")
    response = await gw.client.post(
        "/graphql", json={"documentId": sha}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.json() == {"data": {"me": {"subject": "test-viewer"}}}


def test_an_invalid_manifest_imports_nothing(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.json"
    manifest.write_text(json.dumps({"good": "{ me { subject } }", "bad": "{ me { nope } }"}))
    result = cli(tmp_path, "import", str(manifest))
    assert result.returncode == 1
    assert "bad: Cannot query field 'nope'" in result.stderr
    assert cli(tmp_path, "list").stdout == ""
    (tmp_path / "junk.json").write_text('{"format": "something-else"}')
    junk = cli(tmp_path, "import", str(tmp_path / "junk.json"))
    assert junk.returncode == 2 and "unknown manifest format" in junk.stderr
