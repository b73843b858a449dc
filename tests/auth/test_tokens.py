"""TokenService on real stores (the `store` fixture runs each test on SQLite and Redis)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from gateway.auth.tokens import ApiToken, TokenService, parse_duration, parse_token
from gateway.errors import BadUserInput, NotFound, Unauthenticated
from gateway.store.base import Store
from gateway.store.names import API_TOKENS as COLLECTION
from gateway.store.sqlite import SQLiteStore
from tests.auth.jwks_server import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tokens(store: Store, clock: FakeClock) -> TokenService:
    return TokenService(store=store, clock=clock)


async def test_create_returns_plaintext_once_and_verify_accepts_it(
    tokens: TokenService, clock: FakeClock
) -> None:
    plaintext, created = await tokens.create(
        subject="ci-bot",
        roles=["developer", "viewer", "developer"],
        expires_in=None,
        description="CI pipeline",
        created_by="alice",
    )
    parts = parse_token(plaintext)
    assert parts is not None and plaintext.startswith("ogw_")
    token_id, secret = parts
    assert token_id == created.id and len(token_id) == 10
    assert len(secret) >= 43  # 32 random bytes, url-safe base64
    assert created.roles == ("developer", "viewer")
    assert (created.subject, created.description, created.created_by) == (
        "ci-bot",
        "CI pipeline",
        "alice",
    )
    assert created.created_at == clock.now and created.expires_at is None
    assert secret not in repr(created) and not hasattr(created, "secret_sha256")

    verified = await tokens.verify(plaintext)
    assert verified.id == created.id and verified.subject == "ci-bot"
    stored = await tokens.get(created.id)
    assert stored is not None and stored.last_used_at == clock.now


async def test_two_tokens_differ(tokens: TokenService) -> None:
    a, ta = await tokens.create(subject="s", roles=["viewer"], expires_in=None)
    b, tb = await tokens.create(subject="s", roles=["viewer"], expires_in=None)
    assert a != b and ta.id != tb.id


async def test_store_holds_only_the_hash(tokens: TokenService, store: Store) -> None:
    plaintext, created = await tokens.create(subject="s", roles=["viewer"], expires_in=None)
    _, secret = parse_token(plaintext) or ("", "")
    docs = await store.list(COLLECTION)
    raw = json.dumps([d.data for d in docs])
    assert secret not in raw and plaintext not in raw
    (doc,) = [d for d in docs if d.id == created.id]
    assert doc.data["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()


def raw_files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


async def test_secret_is_not_in_the_sqlite_files(sqlite_store: SQLiteStore, tmp_path: Path) -> None:
    service = TokenService(store=sqlite_store)
    plaintext, _ = await service.create(subject="s", roles=["admin"], expires_in=None)
    await service.verify(plaintext)
    _, secret = parse_token(plaintext) or ("", "")
    files = raw_files(tmp_path / "data")  # the database and its WAL, byte for byte
    assert files
    for name, data in files.items():
        assert secret.encode() not in data, name
    digest = hashlib.sha256(secret.encode()).hexdigest().encode()
    assert any(digest in data for data in files.values())


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ogw_",
        "ogw_abc_def",
        "ogw_AAAAAAAAAA_short",
        "xyz_AAAAAAAAAA_" + "a" * 43,
        "ogw_AAAA-AAAAA_" + "a" * 43,
        "ogw_AAAAAAAAAA_" + "a" * 200,
        "ogw_AAAAAAAAAA_" + "é" * 43,
        "ogw_AAAAAAAAAA_" + "a" * 43,  # well-formed but unknown
    ],
)
async def test_malformed_or_unknown_tokens_are_rejected(tokens: TokenService, bad: str) -> None:
    with pytest.raises(Unauthenticated) as info:
        await tokens.verify(bad)
    assert info.value.message == "invalid API token"


async def test_wrong_secret_for_a_real_id_is_rejected(tokens: TokenService) -> None:
    plaintext, _ = await tokens.create(subject="s", roles=["viewer"], expires_in=None)
    other, _ = await tokens.create(subject="t", roles=["viewer"], expires_in=None)
    last = "A" if plaintext[-1] != "A" else "B"
    for forged in (plaintext[:-1] + last, plaintext[:15] + other[15:]):
        with pytest.raises(Unauthenticated) as info:
            await tokens.verify(forged)
        assert info.value.message == "invalid API token"


async def test_expiry_follows_the_clock(tokens: TokenService, clock: FakeClock) -> None:
    plaintext, created = await tokens.create(subject="s", roles=["viewer"], expires_in=3600)
    assert created.expires_at == clock.now + 3600
    assert await tokens.count_active() == 1
    clock.advance(3599)
    assert (await tokens.verify(plaintext)).id == created.id
    clock.advance(1)
    with pytest.raises(Unauthenticated):
        await tokens.verify(plaintext)
    assert await tokens.count_active() == 0
    # Expired tokens are still listed (not revoked), but not active.
    (listed,) = await tokens.list()
    assert listed.is_expired(clock.now) and not listed.is_active(clock.now)


async def test_revoke(tokens: TokenService, clock: FakeClock) -> None:
    keep, kept = await tokens.create(subject="a", roles=["viewer"], expires_in=None)
    clock.advance(1)
    gone, revoked = await tokens.create(subject="b", roles=["admin"], expires_in=None)
    clock.advance(1)
    result = await tokens.revoke(revoked.id)
    assert result.revoked_at == clock.now
    with pytest.raises(Unauthenticated):
        await tokens.verify(gone)
    assert (await tokens.verify(keep)).id == kept.id
    clock.advance(10)
    again = await tokens.revoke(revoked.id)  # idempotent, keeps the first time
    assert again.revoked_at == result.revoked_at
    assert [t.id for t in await tokens.list()] == [kept.id]
    assert [t.id for t in await tokens.list(include_revoked=True)] == [kept.id, revoked.id]
    assert await tokens.count_active() == 1
    with pytest.raises(NotFound):
        await tokens.revoke("nosuchtokn")
    assert await tokens.get("nosuchtokn") is None


async def test_last_used_is_written_at_most_once_a_minute(
    tokens: TokenService, store: Store, clock: FakeClock
) -> None:
    plaintext, created = await tokens.create(subject="s", roles=["viewer"], expires_in=None)
    first_use = clock.now
    await tokens.verify(plaintext)
    doc = await store.get(COLLECTION, created.id)
    assert doc is not None and doc.data["last_used_at"] == first_use
    version = doc.version
    for _ in range(20):
        clock.advance(2)
        await tokens.verify(plaintext)
    doc = await store.get(COLLECTION, created.id)
    assert doc is not None
    assert doc.version == version  # 20 verifications within 40 s: no writes
    assert doc.data["last_used_at"] == first_use
    clock.advance(21)
    await tokens.verify(plaintext)
    doc = await store.get(COLLECTION, created.id)
    assert doc is not None and doc.version == version + 1
    assert doc.data["last_used_at"] == clock.now


async def test_concurrent_verifications_never_resurrect_a_revoked_token(
    tokens: TokenService, clock: FakeClock
) -> None:
    plaintext, created = await tokens.create(subject="s", roles=["viewer"], expires_in=None)
    results = await asyncio.gather(
        *(tokens.verify(plaintext) for _ in range(10)),
        tokens.revoke(created.id),
        return_exceptions=True,
    )
    assert all(isinstance(r, ApiToken | Unauthenticated) for r in results)
    stored = await tokens.get(created.id)
    assert stored is not None and stored.revoked
    with pytest.raises(Unauthenticated):
        await tokens.verify(plaintext)


async def test_late_last_used_write_cannot_undo_a_revocation(
    tokens: TokenService, store: Store, clock: FakeClock
) -> None:
    # The interleaving the gather above may or may not hit: a verification read the document,
    # a revoke landed, then the verification's last_used_at write arrives.
    plaintext, created = await tokens.create(subject="s", roles=["viewer"], expires_in=None)
    read_by_verification = await store.get(COLLECTION, created.id)
    assert read_by_verification is not None
    await tokens.revoke(created.id)
    await tokens._touch(read_by_verification, clock.now + 120)
    stored = await tokens.get(created.id)
    assert stored is not None and stored.revoked
    with pytest.raises(Unauthenticated):
        await tokens.verify(plaintext)


async def test_create_validates_input(tokens: TokenService) -> None:
    with pytest.raises(BadUserInput):
        await tokens.create(subject="  ", roles=["viewer"], expires_in=None)
    with pytest.raises(BadUserInput):
        await tokens.create(subject="s", roles=["viewer", ""], expires_in=None)
    with pytest.raises(BadUserInput):
        await tokens.create(subject="s", roles=["viewer"], expires_in=0)
    with pytest.raises(BadUserInput):
        await tokens.create(subject="s", roles=["viewer"], expires_in=None, description="x" * 501)
    _, created = await tokens.create(subject="s", roles="admin", expires_in=None)  # type: ignore[arg-type]
    assert created.roles == ("admin",)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30d", 30 * 86400),
        ("12h", 12 * 3600),
        ("15m", 900),
        ("3600s", 3600),
        ("3600", 3600),
        ("2w", 14 * 86400),
        ("1h30m", 5400),
        (" 1.5H ", 5400),
        ("never", None),
        ("NEVER", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "-5m", "0s", "0", "d30", "1h 30m", "999999w"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(BadUserInput) as info:
        parse_duration(text)
    assert info.value.field == "expiresIn"
