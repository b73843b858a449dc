"""A provider's API key is encrypted at rest and never comes back: not in any GraphQL
response, not in any log line, not in the store file in plain text."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from gateway.secrets import SecretBox
from gateway.store.names import PROVIDERS as COLLECTION
from tests.plugins.app import Gateway
from tests.providers.conftest import ServedSandbox
from tests.providers.helpers import CREATE, GET, TEST, UPDATE

LIST = """{ providers { list { totalCount nodes { id name apiKeyHint hasApiKey
  lastTest { ok models error { code message } } } } } }"""


def store_bytes(folder: Path) -> bytes:
    """The SQLite database with its WAL and shared-memory files (recent writes live there)."""
    files = [p for p in folder.iterdir() if p.name.startswith("gateway.db")]
    assert any(p.name == "gateway.db" for p in files), files
    return b"".join(p.read_bytes() for p in files)


AUDIT = "{ access { auditLog(first: 100) { nodes { action target before after } } } }"


async def test_api_keys_never_leave_the_gateway(
    gateway: Gateway,
    providers_sandbox: ServedSandbox,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    sb = providers_sandbox
    secrets: list[str] = []
    responses: list[str] = []

    async def call(query: str, variables: dict | None = None) -> dict:
        response = await gateway.post(query, variables)
        responses.append(response.text)
        return response.json()

    # Right keys, then the sandboxes' keys changed under them so every call fails with 401.
    ids = {}
    for kind in ("openai", "anthropic", "google", "replicate"):
        key = sb.key(kind)
        assert key
        secrets.append(key)
        body = await call(
            CREATE,
            {"input": {"name": kind, "kind": kind.upper(), "baseUrl": sb.url(kind), "apiKey": key}},
        )
        provider = body["data"]["createProvider"]
        assert provider["apiKeyHint"] == "…" + key[-4:] and provider["hasApiKey"] is True
        ids[kind] = provider["id"]
        assert (await call(TEST, {"id": ids[kind]}))["data"]["testProvider"]["ok"] is True

    # A new key, rejected by the provider (OpenAI's error body quotes part of it).
    new_key = "sk-proj-rotated-Zq81mXv03LpTn4Yw"
    secrets.append(new_key)
    body = await call(UPDATE, {"input": {"id": ids["openai"], "apiKey": new_key}})
    assert body["data"]["updateProvider"]["apiKeyHint"] == "…n4Yw"
    result = (await call(TEST, {"id": ids["openai"]}))["data"]["testProvider"]
    assert result["error"]["code"] == "INVALID_KEY"

    # Careless upstreams echoing the key in 4xx/5xx bodies.
    sb.sandbox.fail("/anthropic/*", status=500, body={"message": f"boom, key={secrets[1]}"})
    sb.sandbox.fail("/google/*", status=422, body={"error": f"bad {secrets[2]} here"})
    for kind, code in (("anthropic", "UPSTREAM_ERROR"), ("google", "REJECTED")):
        result = (await call(TEST, {"id": ids[kind]}))["data"]["testProvider"]
        assert result["error"]["code"] == code, result
    sb.sandbox.clear_faults()

    # Mistakes in requests that carry a key: a typo'd field (graphql-core would quote the
    # whole input object), an invalid key, an unknown provider.
    typo_key = "sk-typo-input-Hn39dKq02mBv"
    secrets.append(typo_key)
    body = await call(
        CREATE, {"input": {"name": "t", "kind": "OPENAI", "apiKey": typo_key, "enabeld": True}}
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "[redacted]" in body["errors"][0]["message"]
    bad_key = "sk-has spaces-Lm20Xq8Vb7"
    secrets.append(bad_key)
    body = await call(CREATE, {"input": {"name": "b", "kind": "OPENAI", "apiKey": bad_key}})
    assert body["data"]["createProvider"]["field"] == "apiKey"
    body = await call(UPDATE, {"input": {"id": "prv_missing", "apiKey": "sk-nope-Rt83Lq0Zm2Xy"}})
    secrets.append("sk-nope-Rt83Lq0Zm2Xy")
    assert body["data"]["updateProvider"]["code"] == "NOT_FOUND"

    # Every read there is.
    await call(LIST)
    for id in ids.values():
        await call(GET, {"id": id})
    audit = await call(AUDIT)
    assert {"provider.create", "provider.update"} <= {
        e["action"] for e in audit["data"]["access"]["auditLog"]["nodes"]
    }

    for text in responses:
        for secret in secrets:
            assert secret not in text, (secret, text[:300])

    assert "HTTP Request: GET" in caplog.text  # DEBUG capture works: httpx's lines are here
    for secret in secrets:
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in str(record.args), record

    # At rest: only ciphertext, in the database and in its WAL.
    blob = store_bytes(tmp_path)
    for secret in secrets:
        assert secret.encode() not in blob
    box = SecretBox(keys=gateway.settings.secret_keys)
    stored = await gateway.services.store.get(COLLECTION, ids["openai"])
    assert stored is not None and box.decrypt(stored.data["api_key"]) == new_key
    assert new_key not in json.dumps(stored.data)
