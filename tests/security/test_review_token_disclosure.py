"""Hostile review, what the API and ``ops-gateway token list`` reveal about API tokens: never
the secret, never its hash; and a token's subject cannot forge lines or terminal escapes in
the CLI's listing."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

from gateway.store import open_store
from tests.plugins.app import Gateway
from tests.security.review_env import read_all

TOKEN_FIELDS = "id subject roles description createdAt createdBy expiresAt lastUsedAt revokedAt"
CREATE = f"""mutation($input: CreateApiTokenInput!) {{ createApiToken(input: $input) {{
  __typename ... on CreatedApiToken {{ token apiToken {{ {TOKEN_FIELDS} }} }}
  ... on AccessError {{ code message }} }} }}"""
READ_BACK = f"""{{ access {{ apiTokens(includeRevoked: true) {{ {TOKEN_FIELDS} }}
  auditLog(first: 50) {{ nodes {{ actor action target before after }} }} }} }}"""
REVOKE = (
    f"mutation($id: ID!) {{ revokeApiToken(id: $id) {{ ... on ApiToken {{ {TOKEN_FIELDS} }} }} }}"
)
SECRET = re.compile(r"^ogw_([A-Za-z0-9]{10})_([A-Za-z0-9_-]{32,128})$")


def _forbidden_strings(token: str) -> list[str]:
    """The secret part and every hash of it someone might store or print."""
    match = SECRET.fullmatch(token)
    assert match, token
    secret = match.group(2)
    return [
        secret,
        token,
        hashlib.sha256(secret.encode()).hexdigest(),
        hashlib.sha256(token.encode()).hexdigest(),
    ]


async def test_graphql_never_returns_a_secret_or_its_hash(gateway: Gateway, tmp_path: Path) -> None:
    fields = await gateway.data('{ __type(name: "ApiToken") { fields { name } } }')
    names = {f["name"] for f in fields["__type"]["fields"]}
    assert names == set(TOKEN_FIELDS.split())  # nothing like hash, secret, token or digest

    created = await gateway.data(
        CREATE, {"input": {"subject": "ci-bot", "roles": ["viewer"], "description": "ci"}}
    )
    token = created["createApiToken"]["token"]
    token_id = created["createApiToken"]["apiToken"]["id"]
    forbidden = _forbidden_strings(token)
    # The new token works once (so lastUsedAt and the audit log have something to say)...
    assert (await gateway.data("{ me { subject } }", token=token))["me"]["subject"] == "ci-bot"
    revoked = await gateway.gql(REVOKE, {"id": token_id})
    read_back = await gateway.gql(READ_BACK)
    for response in (str(created["createApiToken"]["apiToken"]), str(revoked), str(read_back)):
        assert not [s for s in forbidden if s in response], response

    # ...and neither the database nor its write-ahead log holds the secret in the clear.
    stored = read_all(tmp_path, "gateway.db*")
    assert forbidden[0].encode() not in stored and token.encode() not in stored


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OIDC_"))}
    env |= {"GATEWAY_STORE": f"sqlite:///{tmp_path / 'cli.db'}", "GATEWAY_DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_token_list_shows_neither_secrets_nor_hashes_nor_raw_control_characters(
    tmp_path: Path,
) -> None:
    hostile = "evil\x1b[2J\x1b]0;owned\x07\nfake-id\tadmin\tadmin\tactive\rX"
    # A hostile subject is refused outright (ASCII subjects only), nothing stored.
    refused = _cli(tmp_path, "token", "create", "--subject", hostile, "--role", "viewer")
    assert refused.returncode == 2 and "subject must be" in refused.stderr
    assert not any(c in refused.stderr for c in "\x1b\x07\r")
    # So is an unknown hostile role name, and the refusal is escaped too.
    bad_role = _cli(tmp_path, "token", "create", "--subject", "evil-bot", "--role", hostile)
    assert bad_role.returncode == 2 and "unknown roles: evil\\x1b" in bad_role.stderr
    assert not any(c in bad_role.stderr for c in "\x1b\x07\r")
    created = _cli(tmp_path, "token", "create", "--subject", "ci-bot", "--role", "viewer")
    assert created.returncode == 0, created.stderr
    # A token written by an older version, before subjects were checked, still lists safely.
    legacy = asyncio.run(_plant_legacy_token(tmp_path, hostile))
    tokens = [created.stdout.strip(), legacy]
    revoked = _cli(tmp_path, "token", "revoke", SECRET.fullmatch(tokens[1]).group(1))  # type: ignore[union-attr]
    assert revoked.returncode == 0 and "\x1b" not in revoked.stdout

    listing = _cli(tmp_path, "token", "list", "--all")
    assert listing.returncode == 0, listing.stderr
    for token in tokens:
        assert not [s for s in _forbidden_strings(token) if s in listing.stdout]
    assert not any(c in listing.stdout for c in "\x1b\x07\r")  # no terminal escapes
    lines = listing.stdout.splitlines()
    assert len(lines) == 2 and all(line.count("\t") == 5 for line in lines), lines
    evil = next(line for line in lines if line.split("\t")[1].startswith("evil"))
    assert (
        evil.split("\t")[1]
        == "evil\\x1b[2J\\x1b]0;owned\\x07\\nfake-id\\tadmin\\tadmin\\tactive\\rX"
    )
    assert "revoked" in evil


async def _plant_legacy_token(tmp_path: Path, subject: str) -> str:
    """Write a token document as an older version could have (no subject check)."""
    store = open_store(f"sqlite:///{tmp_path / 'cli.db'}")
    await store.open()
    try:
        await store.put(
            "api_tokens",
            "Legacy0001",
            {"secret_sha256": hashlib.sha256(b"x" * 43).hexdigest(), "subject": subject,
             "roles": ["viewer"], "created_at": 1.0, "expires_at": None,
             "last_used_at": None, "revoked_at": None},
        )  # fmt: skip
    finally:
        await store.close()
    return "ogw_Legacy0001_" + "x" * 43
