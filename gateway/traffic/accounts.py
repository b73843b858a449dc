"""The gateway's ACME account key, one per CA directory, kept encrypted in the Store.

Every replica uses the same account (the first to create it wins the optimistic write), so
orders and rate limits are the gateway's, not one pod's.
"""

from __future__ import annotations

import asyncio
import hashlib

from gateway.backends.acme.client import new_account_key_pem
from gateway.errors import ConflictError
from gateway.secrets import SecretBox
from gateway.store import names
from gateway.store.base import Store


class AcmeAccounts:
    def __init__(self, *, store: Store, secrets: SecretBox) -> None:
        self.store = store
        self.secrets = secrets

    async def key_for(self, directory_url: str) -> bytes:
        doc_id = hashlib.sha256(directory_url.encode()).hexdigest()[:32]
        existing = await self.store.get(names.ACME_ACCOUNTS, doc_id)
        if existing is not None:
            return self.secrets.decrypt(existing.data["key"]).encode()
        pem = await asyncio.to_thread(new_account_key_pem)
        data = {"directory": directory_url, "key": self.secrets.encrypt(pem.decode())}
        try:
            await self.store.put(names.ACME_ACCOUNTS, doc_id, data, expected_version=0)
        except ConflictError:  # another replica created it first: use theirs
            return await self.key_for(directory_url)
        return pem
