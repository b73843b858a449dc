"""The Hugging Face token the gateway uses: set through the API (stored encrypted with the
app's SecretBox, listed in ``gateway.secrets.ENCRYPTED_FIELDS``) or ``HF_TOKEN``.

A token set through the API wins over the environment; it is never returned, only a hint of
its last characters.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from gateway.models.failures import ModelsFailure, ModelsFailureCode
from gateway.secrets import SecretBox
from gateway.store import names
from gateway.store.base import Document, Store

DOC_ID = "token"
FIELD = "token"
_TOKEN = re.compile(r"^[\x21-\x7e]{8,512}$")  # printable ASCII, no spaces


@dataclass(frozen=True, slots=True)
class TokenInfo:
    source: str
    """``api``, ``env`` or ``none``."""
    hint: str | None
    updated_at: float | None = None
    updated_by: str | None = None


class HubCredentials:
    def __init__(self, *, store: Store, secrets: SecretBox, env_token: str | None) -> None:
        self._store = store
        self._secrets = secrets
        self._env = env_token

    async def token(self) -> str | None:
        stored = await self._stored()
        return stored[0] if stored is not None else self._env

    async def info(self) -> TokenInfo:
        stored = await self._stored()
        if stored is not None:
            token, doc = stored
            updated = doc.data.get("updated_at"), doc.data.get("updated_by")
            return TokenInfo("api", SecretBox.hint(token), *updated)
        if self._env:
            return TokenInfo("env", SecretBox.hint(self._env))
        return TokenInfo("none", None)

    async def _stored(self) -> tuple[str, Document] | None:
        """The token set through the API (decrypted) and its document, if one is set."""
        doc = await self._store.get(names.MODELS_HUB, DOC_ID)
        stored = doc.data.get(FIELD) if doc is not None else None
        if doc is None or not isinstance(stored, str) or not stored:
            return None
        return self._secrets.decrypt(stored), doc

    async def set(self, token: str | None, *, actor: str) -> TokenInfo:
        """Store ``token`` (encrypted); None or "" removes it (back to HF_TOKEN, if set)."""
        if token is None or token.strip() == "":
            await self._store.delete(names.MODELS_HUB, DOC_ID)
            return await self.info()
        token = token.strip()
        if not _TOKEN.fullmatch(token):
            raise ModelsFailure(
                ModelsFailureCode.BAD_USER_INPUT,
                "a token is 8 to 512 printable characters without spaces",
                field="token",
            )
        data = {FIELD: self._secrets.encrypt(token), "updated_at": time.time(), "updated_by": actor}
        await self._store.put(names.MODELS_HUB, DOC_ID, data)
        return await self.info()
