"""SecretBox (MultiFernet) and the secret-key bootstrap."""

from __future__ import annotations

import logging
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gateway.errors import ConfigurationError
from gateway.secrets import (
    KEY_FILE,
    SecretBox,
    SecretDecryptionError,
    load_secret_keys,
    rotate_stored_secrets,
)
from gateway.store.base import Store


def new_key() -> str:
    return Fernet.generate_key().decode()


def test_round_trip_and_ciphertext_hides_plaintext() -> None:
    box = SecretBox(keys=[new_key()])
    token = box.encrypt("sk-live-0123456789abcdef")
    assert "0123456789" not in token
    assert box.decrypt(token) == "sk-live-0123456789abcdef"
    assert box.decrypt(box.encrypt("ünïcødé")) == "ünïcødé"


def test_rotation_from_old_key_to_new_key() -> None:
    old, new = new_key(), new_key()
    token = SecretBox(keys=[old]).encrypt("hf_secret_token_value")
    both = SecretBox(keys=[new, old])  # newest first: encrypts with new, decrypts with either
    assert both.decrypt(token) == "hf_secret_token_value"
    rotated = both.rotate(token)
    assert rotated != token
    new_only = SecretBox(keys=[new])
    assert new_only.decrypt(rotated) == "hf_secret_token_value"
    with pytest.raises(SecretDecryptionError):
        new_only.decrypt(token)  # the old ciphertext really needed the old key


def test_wrong_key_gives_a_clear_error_without_key_material() -> None:
    key = new_key()
    token = SecretBox(keys=[new_key()]).encrypt("value")
    with pytest.raises(SecretDecryptionError, match="GATEWAY_SECRET_KEYS") as info:
        SecretBox(keys=[key]).decrypt(token)
    assert key not in str(info.value)
    with pytest.raises(SecretDecryptionError):
        SecretBox(keys=[key]).decrypt("not-a-fernet-token")
    with pytest.raises(SecretDecryptionError):
        SecretBox(keys=[key]).rotate(token)


def test_invalid_key_names_position_not_value() -> None:
    bad = "this-is-not-a-valid-fernet-key-but-looks-secret"
    with pytest.raises(ConfigurationError, match="#2") as info:
        SecretBox(keys=[new_key(), bad])
    assert bad not in str(info.value)
    with pytest.raises(ConfigurationError, match="#1") as info:
        load_secret_keys(configured=[bad], data_dir=Path("/nonexistent"))
    assert bad not in str(info.value)
    assert "hidden" in repr(SecretBox(keys=[new_key()]))


def test_hint_shows_only_the_last_four_characters() -> None:
    assert SecretBox.hint("sk-live-0123456789ab3f9a") == "…3f9a"
    assert SecretBox.hint("short") == "…"  # four of five characters would be the secret


def test_configured_keys_win_and_no_file_is_written(tmp_path: Path) -> None:
    keys = [new_key(), new_key()]
    assert load_secret_keys(configured=keys, data_dir=tmp_path) == (keys, False)
    assert not (tmp_path / KEY_FILE).exists()


def test_key_file_is_generated_with_0600_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    # A permissive umask must not matter: the mode is set at creation.
    old_umask = os.umask(0)
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.secrets"):
            keys, generated = load_secret_keys(configured=[], data_dir=data_dir)
    finally:
        os.umask(old_umask)
    path = data_dir / KEY_FILE
    assert generated is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "GATEWAY_SECRET_KEYS" in caplog.text
    assert keys[0] not in caplog.text
    assert path.read_text().split() == keys
    assert list(data_dir.iterdir()) == [path]  # no temporary file left behind
    box = SecretBox(keys=keys)
    token = box.encrypt("persisted")

    again, generated_again = load_secret_keys(configured=[], data_dir=data_dir)
    assert (again, generated_again) == (keys, False)
    assert SecretBox(keys=again).decrypt(token) == "persisted"


def test_workers_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    # `serve --workers N` starts N processes that may all find no key file at once.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: load_secret_keys(configured=[], data_dir=tmp_path), range(16))
        )
    assert len({tuple(keys) for keys, _ in results}) == 1
    assert sum(generated for _, generated in results) == 1
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]


def test_key_file_with_rotation_and_comments(tmp_path: Path) -> None:
    first, second = new_key(), new_key()
    path = tmp_path / KEY_FILE
    path.write_text(f"# newest first\n{first}\n\n{second}\n")
    path.chmod(0o600)
    assert load_secret_keys(configured=[], data_dir=tmp_path) == ([first, second], False)


def test_broken_key_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    path.write_text("\n# nothing\n")
    with pytest.raises(ConfigurationError, match="no keys"):
        load_secret_keys(configured=[], data_dir=tmp_path)
    path.write_text(f"{new_key()}\nnot-a-key\n")
    with pytest.raises(ConfigurationError, match="#2"):
        load_secret_keys(configured=[], data_dir=tmp_path)


async def test_rotate_stored_secrets(store: Store) -> None:
    old, new = new_key(), new_key()
    old_box = SecretBox(keys=[old])
    for i in range(3):
        await store.put(
            "providers", f"p{i}", {"name": f"p{i}", "api_key": old_box.encrypt(f"k{i}")}
        )
    await store.put("providers", "keyless", {"name": "local", "api_key": None})
    await store.put("settings", "hub", {"hf_token": old_box.encrypt("hf_abc"), "other": "x"})
    fields = {"providers": ("api_key",), "settings": ("hf_token",)}

    count = await rotate_stored_secrets(store, SecretBox(keys=[new, old]), fields=fields)
    assert count == 4
    new_only = SecretBox(keys=[new])
    for i in range(3):
        doc = await store.get("providers", f"p{i}")
        assert doc is not None and new_only.decrypt(doc.data["api_key"]) == f"k{i}"
        assert doc.data["name"] == f"p{i}"
    hub = await store.get("settings", "hub")
    assert hub is not None and new_only.decrypt(hub.data["hf_token"]) == "hf_abc"
    assert hub.data["other"] == "x"
    keyless = await store.get("providers", "keyless")
    assert keyless is not None and keyless.version == 1  # nothing to rotate: not rewritten
    # Once rotated, the old key can be dropped: the new key alone rotates again.
    assert await rotate_stored_secrets(store, new_only, fields=fields) == 4
