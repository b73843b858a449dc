"""ProviderService on every Store implementation (SQLite and Redis): records, ciphertext at
rest, optimistic updates, last tests kept apart from the record's version."""

from __future__ import annotations

from cryptography.fernet import Fernet

from gateway.auth.actor import Actor
from gateway.backends.providers import AddressPolicy, ProviderConnector
from gateway.providers import ProviderFailure, ProviderFailureCode, ProviderService
from gateway.secrets import SecretBox
from gateway.store.base import Store
from gateway.store.names import PROVIDER_TESTS as TESTS
from gateway.store.names import PROVIDERS as COLLECTION
from tests.providers.conftest import ServedSandbox

ACTOR = Actor(subject="ops", permissions=frozenset({"providers:delete"}))


async def test_service_on_each_store(store: Store, providers_sandbox: ServedSandbox) -> None:
    sb = providers_sandbox
    box = SecretBox(keys=[Fernet.generate_key().decode()])
    service = ProviderService(
        store=store, secrets=box, connector=ProviderConnector(policy=AddressPolicy.build())
    )
    key = sb.key("cohere")
    assert key
    record = await service.create(ACTOR, name="Cohere", kind="cohere", base_url=sb.url("cohere"),
                                api_key=key)  # fmt: skip
    doc = await store.get(COLLECTION, record.id)
    assert doc is not None and key not in str(doc.data)
    assert box.decrypt(doc.data["api_key"]) == key and doc.data["api_key_hint"] == "…" + key[-4:]

    saved, result = await service.test(ACTOR, id=record.id)
    assert result.ok and [m.id for m in result.models][:2] == ["command-r-plus", "command-r"]
    assert saved.version == record.version  # the test is stored apart: no version bump
    tested = await store.get(TESTS, record.id)
    assert tested is not None and tested.data["ok"] is True
    assert tested.data["config_rev"] == record.config_rev

    renamed = await service.update(ACTOR, id=record.id, name="Cohere EU")
    assert renamed.config_rev == record.config_rev  # a rename keeps the last test current
    rekeyed = await service.update(ACTOR, id=record.id, api_key="co-new-key-000000001234")
    assert rekeyed.config_rev == record.config_rev + 1 and rekeyed.api_key_hint == "…1234"
    try:
        await service.update(ACTOR, id=record.id, enabled=False, expected_version=record.version)
    except ProviderFailure as failure:
        assert failure.code is ProviderFailureCode.CONFLICT
    else:
        raise AssertionError("a stale expectedVersion must conflict")

    assert [r.name for r in await service.all()] == ["Cohere EU"]
    await service.delete(ACTOR, id=record.id)
    assert await service.all() == []
    assert await store.get(TESTS, record.id) is None
