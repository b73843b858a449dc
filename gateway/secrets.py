"""Encryption of stored secrets (provider API keys, HF token) with rotatable Fernet keys.

``GATEWAY_SECRET_KEYS`` lists keys newest first: the first encrypts, all decrypt, and
:meth:`SecretBox.rotate` re-encrypts under the first. Key material never reaches a log or an
error message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from gateway.errors import ConfigurationError, ConflictError, GatewayError
from gateway.files import atomic_create
from gateway.store import names
from gateway.store.base import Document, Store, all_documents

log = logging.getLogger(__name__)

KEY_FILE = "secret.keys"
ENCRYPTED_FIELDS: dict[str, tuple[str, ...]] = {
    names.PROVIDERS: ("api_key",),  # LLM provider API keys (gateway/providers)
    names.ACME_ACCOUNTS: ("key",),  # ACME account private keys (gateway/traffic/accounts.py)
    names.MODELS_HUB: ("token",),  # the Hugging Face token set through the API (gateway/models)
}
"""collection -> top-level document fields holding :class:`SecretBox` ciphertexts. Every
domain that stores a secret declares it here, in one place, so ``ops-gateway keys rotate``
cannot miss one (an import-time registration would depend on what the CLI happened to import).
"""
_HINT_MIN_LENGTH = 12
"""Shorter secrets get no visible tail: four characters of an eight-character secret is half
of it."""


class SecretDecryptionError(GatewayError):
    """A stored secret cannot be decrypted with any configured key (wrong/missing key or
    corrupt data). Reported as INTERNAL: it is the operator's problem, not the caller's."""


def _fernets(keys: Sequence[str], *, source: str) -> list[Fernet]:
    fernets: list[Fernet] = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.strip()))
        except (ValueError, TypeError):
            # Name the position only: echoing the value would print a (nearly valid) secret.
            raise ConfigurationError(
                f"{source}: key #{position} is not a valid Fernet key "
                "(32 bytes, url-safe base64, as made by "
                "cryptography.fernet.Fernet.generate_key())"
            ) from None
    if not fernets:
        raise ConfigurationError(f"{source}: no keys")
    return fernets


class SecretBox:
    """Encrypt, decrypt and rotate secrets; the first key encrypts, every key decrypts."""

    def __init__(self, *, keys: Sequence[str]) -> None:
        self._fernet = MultiFernet(_fernets(keys, source="GATEWAY_SECRET_KEYS"))

    def __repr__(self) -> str:
        return "SecretBox(keys=<hidden>)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretDecryptionError(
                "a stored secret could not be decrypted: it was encrypted with a key that is "
                "not in GATEWAY_SECRET_KEYS, or it is corrupt"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise SecretDecryptionError(
                "a stored secret could not be re-encrypted: none of GATEWAY_SECRET_KEYS decrypts it"
            ) from None

    @staticmethod
    def hint(plaintext: str) -> str:
        """What the API may show instead of a secret, e.g. ``…3f9a``."""
        if len(plaintext) < _HINT_MIN_LENGTH:
            return "…"
        return "…" + plaintext[-4:]


async def rotate_stored_secrets(
    store: Store, box: SecretBox, *, fields: Mapping[str, Sequence[str]] | None = None
) -> int:
    """Re-encrypt every stored secret under the newest key; return how many were rotated.

    Safe to re-run (after adding a key, or after an interruption): rotation is idempotent.
    """
    count = 0
    for collection, field_names in (ENCRYPTED_FIELDS if fields is None else fields).items():
        async for doc in all_documents(store, collection):
            count += await _rotate_document(store, box, doc, field_names)
    return count


async def _rotate_document(
    store: Store, box: SecretBox, doc: Document, names: Sequence[str]
) -> int:
    while True:
        data = dict(doc.data)
        rotated = 0
        for name in names:
            value = data.get(name)
            if isinstance(value, str) and value:
                data[name] = box.rotate(value)
                rotated += 1
        if not rotated:
            return 0
        try:
            # Conditional: a concurrent edit (say, a new API key) must not be overwritten.
            await store.put(doc.collection, doc.id, data, expected_version=doc.version)
            return rotated
        except ConflictError:
            fresh = await store.get(doc.collection, doc.id)
            if fresh is None:
                return 0
            doc = fresh


def load_secret_keys(*, configured: Sequence[str], data_dir: Path) -> tuple[list[str], bool]:
    """The keys to use and whether one was just generated.

    Configured keys win. Otherwise ``<data_dir>/secret.keys`` is read, or created with one new
    key: fine for a laptop, but losing that file makes every stored secret unreadable, hence
    the warning.
    """
    if configured:
        keys = [key.strip() for key in configured]
        _fernets(keys, source="GATEWAY_SECRET_KEYS")
        return keys, False
    path = data_dir / KEY_FILE
    generated = False
    if not path.exists():
        generated = _create_key_file(path)
        if generated:
            log.warning(
                "GATEWAY_SECRET_KEYS is not set: generated a secret key into %s (mode 0600). "
                "Production deployments should set GATEWAY_SECRET_KEYS and keep a backup; "
                "without the key, stored secrets cannot be decrypted.",
                path,
            )
    keys = _read_key_file(path)
    if not generated:
        log.warning(
            "GATEWAY_SECRET_KEYS is not set: using the key file %s. Production deployments "
            "should set GATEWAY_SECRET_KEYS.",
            path,
        )
    return keys, generated


def _read_key_file(path: Path) -> list[str]:
    mode = path.stat().st_mode
    if mode & 0o077:
        log.warning("%s is readable by other users (mode %o); chmod 600 it", path, mode & 0o777)
    lines = path.read_text(encoding="ascii").splitlines()
    keys = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise ConfigurationError(f"{path} holds no keys; delete it to generate a new one")
    _fernets(keys, source=str(path))
    return keys


def _create_key_file(path: Path) -> bool:
    """Write a new key file (mode 0600 from its creation, never briefly readable by others);
    return False if another process created it first: workers starting together agree on one
    key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_create(path, Fernet.generate_key() + b"\n", mode=0o600)
