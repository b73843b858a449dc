"""``ops-gateway keys rotate`` re-encrypts real provider records: after it, the new key alone
decrypts them, and a gateway holding only the new key still reaches the providers."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gateway.secrets import SecretBox, SecretDecryptionError
from gateway.store.names import PROVIDERS as COLLECTION
from tests.plugins.app import GatewayFactory
from tests.providers.conftest import ServedSandbox
from tests.providers.helpers import create, probe


async def test_keys_rotate_reencrypts_provider_keys(
    gateway_factory: GatewayFactory, providers_sandbox: ServedSandbox, tmp_path: Path
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sb = providers_sandbox
    before = await gateway_factory(secret_keys=(old,))
    ids = {}
    for kind in ("openai", "cohere"):
        provider = await create(before, kind=kind, base_url=sb.url(kind), api_key=sb.key(kind))
        ids[kind] = provider["id"]
    keyless = await create(before, kind="ollama", base_url=sb.url("ollama"))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "REDIS_URL"))}
    env |= {
        "GATEWAY_STORE": before.settings.store_url,
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_SECRET_KEYS": f"{new},{old}",  # newest first
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "keys", "rotate",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "re-encrypted 2 secrets" in out.decode()
    for secret in (sb.key("openai"), sb.key("cohere"), old, new):
        assert secret not in out.decode() + err.decode()

    store = before.services.store
    new_only, old_only = SecretBox(keys=[new]), SecretBox(keys=[old])
    for kind, id in ids.items():
        doc = await store.get(COLLECTION, id)
        assert doc is not None
        assert new_only.decrypt(doc.data["api_key"]) == sb.key(kind)
        with pytest.raises(SecretDecryptionError):
            old_only.decrypt(doc.data["api_key"])
        assert doc.data["api_key_hint"] == "…" + sb.key(kind)[-4:]  # unchanged by rotation
    untouched = await store.get(COLLECTION, keyless["id"])
    assert untouched is not None and untouched.data["api_key"] is None and untouched.version == 1

    after = await gateway_factory(secret_keys=(new,))  # the old key is gone
    for id in ids.values():
        result = await probe(after, id)
        assert result["ok"] is True, result
    stale = await probe(before, ids["openai"])  # a replica still on the old key alone
    assert stale["error"]["code"] == "KEY_UNREADABLE"
