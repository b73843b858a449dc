"""API tokens: opaque bearer tokens for scripts and services (``ogw_<id>_<secret>``).

Only ``sha256(secret)`` is stored. The secret is 32 random bytes from :mod:`secrets`, so a
slow password KDF (bcrypt, scrypt) would add latency to every request without adding
security: nobody can brute-force a 256-bit search space, fast hash or not.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import logging
import re
import secrets
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.auth.changes import AccessChanges
from gateway.auth.validation import valid_subject
from gateway.errors import BadUserInput, ConflictError, NotFound, Unauthenticated
from gateway.store import names
from gateway.store.base import Document, Store, all_documents

log = logging.getLogger(__name__)

PREFIX = "ogw_"
ID_LENGTH = 10
SECRET_BYTES = 32
LAST_USED_RESOLUTION = 60.0
"""Seconds between ``last_used_at`` writes for one token: a write per request would double
the store load of every authenticated call for information nobody needs to the second."""
MAX_DESCRIPTION = 500

# The id alphabet has no "_" so the token splits unambiguously at the first "_" after the
# prefix; the secret (url-safe base64) may itself contain "_" and "-".
_ID_ALPHABET = string.ascii_letters + string.digits
_TOKEN_RE = re.compile(rf"ogw_([A-Za-z0-9]{{{ID_LENGTH}}})_([A-Za-z0-9_-]{{32,128}})")
_INVALID = "invalid API token"


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A stored token's metadata. Neither the secret nor its hash is part of this object."""

    id: str
    subject: str
    roles: tuple[str, ...]
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None
    description: str = ""
    created_by: str | None = None
    capped: bool = False
    """Minted for this subject by someone else: holds its roles only (gateway/auth/guard.py)."""

    @property
    def display(self) -> str:
        """What a UI may show to identify the token (the id; never the secret)."""
        return f"{PREFIX}{self.id}_…"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def is_active(self, now: float) -> bool:
        return not self.revoked and not self.is_expired(now)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _to_token(doc: Document) -> ApiToken:
    d = doc.data
    return ApiToken(
        id=doc.id,
        subject=d["subject"],
        roles=tuple(d.get("roles", ())),
        created_at=d["created_at"],
        expires_at=d.get("expires_at"),
        last_used_at=d.get("last_used_at"),
        revoked_at=d.get("revoked_at"),
        description=d.get("description", ""),
        created_by=d.get("created_by"),
        capped=bool(d.get("capped", False)),
    )


def parse_token(token: str) -> tuple[str, str] | None:
    """Split ``ogw_<id>_<secret>`` into ``(id, secret)``; ``None`` if it is not that shape."""
    match = _TOKEN_RE.fullmatch(token)
    return (match.group(1), match.group(2)) if match else None


class TokenService:
    """Creates, verifies, lists and revokes API tokens stored in collection ``api_tokens``."""

    def __init__(
        self,
        *,
        store: Store,
        changes: AccessChanges | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._changes = changes or AccessChanges(store=store)
        self._clock = clock

    async def create(
        self,
        *,
        subject: str,
        roles: Sequence[str],
        expires_in: float | None,
        description: str = "",
        created_by: str | None = None,
        capped: bool = False,
    ) -> tuple[str, ApiToken]:
        """Create a token; the returned plaintext is the only copy that will ever exist."""
        if not valid_subject(subject):  # as given: what is checked is what is stored
            raise BadUserInput(
                "subject must be 1-200 characters: ASCII letters, digits and . _ @ : + -",
                field="subject",
            )
        clean_roles = _clean_roles(roles)
        if expires_in is not None and not expires_in > 0:
            raise BadUserInput("expiresIn must be positive (or never)", field="expiresIn")
        if len(description) > MAX_DESCRIPTION:
            raise BadUserInput(
                f"description is longer than {MAX_DESCRIPTION} characters", field="description"
            )
        now = self._clock()
        secret = secrets.token_urlsafe(SECRET_BYTES)
        data: dict[str, Any] = {
            "secret_sha256": _hash(secret),
            "subject": subject,
            "roles": list(clean_roles),
            "created_at": now,
            "expires_at": None if expires_in is None else now + expires_in,
            "last_used_at": None,
            "revoked_at": None,
            "description": description,
            "created_by": created_by,
            "capped": capped,
        }
        # 62**10 ids make a collision astronomically unlikely; expected_version=0 makes sure
        # one could never overwrite another token, and a few retries make it a non-event.
        for _ in range(5):
            token_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
            try:
                doc = await self._store.put(names.API_TOKENS, token_id, data, expected_version=0)
            except ConflictError:
                continue
            log.info("api token %s created for %s", token_id, subject)
            return f"{PREFIX}{token_id}_{secret}", _to_token(doc)
        raise RuntimeError("could not allocate a unique token id")  # pragma: no cover

    async def verify(self, token: str) -> ApiToken:
        """Return the token's metadata or raise :class:`Unauthenticated` (one message for all
        failures, so a caller learns nothing about which part was wrong)."""
        parts = parse_token(token.strip()) if isinstance(token, str) else None
        if parts is None:
            log.debug("api token rejected: malformed")
            raise Unauthenticated(_INVALID)
        token_id, secret = parts
        doc = await self._store.get(names.API_TOKENS, token_id)
        if doc is None:
            log.debug("api token rejected: unknown id %s", token_id)
            raise Unauthenticated(_INVALID)
        if not hmac.compare_digest(_hash(secret), str(doc.data.get("secret_sha256", ""))):
            log.info("api token rejected: wrong secret for id %s", token_id)
            raise Unauthenticated(_INVALID)
        api_token = _to_token(doc)
        now = self._clock()
        if api_token.revoked:
            log.info("api token rejected: %s is revoked", token_id)
            raise Unauthenticated(_INVALID)
        if api_token.is_expired(now):
            log.info("api token rejected: %s expired", token_id)
            raise Unauthenticated(_INVALID)
        last = api_token.last_used_at
        if last is None or now - last >= LAST_USED_RESOLUTION:
            await self._touch(doc, now)
        return api_token

    async def _touch(self, doc: Document, now: float) -> None:
        # Conditional on the version we read: an unconditional write could resurrect a token
        # revoked in between. Losing the race is fine (someone else wrote it, or a revoke).
        data = {**doc.data, "last_used_at": now}
        try:
            await self._store.put(names.API_TOKENS, doc.id, data, expected_version=doc.version)
        except ConflictError:
            log.debug("last_used_at update for %s lost a race; skipped", doc.id)

    async def get(self, token_id: str) -> ApiToken | None:
        doc = await self._store.get(names.API_TOKENS, token_id)
        return None if doc is None else _to_token(doc)

    async def list(self, *, include_revoked: bool = False) -> builtins.list[ApiToken]:
        """All tokens (expired ones included, they are still useful to see), oldest first."""
        tokens = [_to_token(doc) async for doc in all_documents(self._store, names.API_TOKENS)]
        if not include_revoked:
            tokens = [t for t in tokens if not t.revoked]
        tokens.sort(key=lambda t: (t.created_at, t.id))
        return tokens

    async def of_subject(self, subject: str) -> builtins.list[ApiToken]:
        """The subject's active tokens (a scan: for rare changes, not for requests)."""
        now = self._clock()
        return [t for t in await self.list() if t.subject == subject and t.is_active(now)]

    async def revoke(self, token_id: str) -> ApiToken:
        """Revoke a token (idempotent: revoking twice keeps the first revocation time).

        Every replica refuses it from the next request on (verification reads the store), and
        open websockets that signed in with it are closed within a second (the access change
        signal)."""
        while True:
            doc = await self._store.get(names.API_TOKENS, token_id)
            if doc is None:
                raise NotFound(f"API token {token_id!r} not found")
            if doc.data.get("revoked_at") is not None:
                return _to_token(doc)
            data = {**doc.data, "revoked_at": self._clock()}
            try:
                # Conditional so a concurrent last_used_at write cannot drop the revocation.
                new = await self._store.put(
                    names.API_TOKENS, token_id, data, expected_version=doc.version
                )
            except ConflictError:
                continue
            log.info("api token %s revoked", token_id)
            await self._changes.bump("token revoked")
            return _to_token(new)

    async def count_active(self) -> int:
        now = self._clock()
        return sum(1 for t in await self.list() if t.is_active(now))


def _clean_roles(roles: Sequence[str]) -> tuple[str, ...]:
    if isinstance(roles, str):  # a lone string is a classic mistake: "admin" -> a,d,m,i,n
        roles = [roles]
    seen: dict[str, None] = {}
    for role in roles:
        name = role.strip() if isinstance(role, str) else ""
        if not name:
            raise BadUserInput("role names must be non-empty strings", field="roles")
        seen.setdefault(name, None)
    return tuple(seen)


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART_RE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_MAX_DURATION = 100 * 365 * 86400.0


def parse_duration(text: str, *, field: str | None = "expiresIn") -> float | None:
    """Parse ``30d``, ``12h``, ``15m``, ``3600s``, ``1h30m`` or a bare number of seconds into
    seconds; ``never`` (or ``none``) means no expiry and returns ``None``."""
    raw = text.strip().lower() if isinstance(text, str) else ""
    if raw in {"never", "none"}:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        seconds = float(raw)
    elif raw and re.fullmatch(rf"(?:{_PART_RE.pattern})+", raw):
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART_RE.findall(raw))
    else:
        raise BadUserInput(
            f"invalid duration {text!r}: use e.g. 30d, 12h, 15m, 3600s or never", field=field
        )
    if seconds <= 0:
        raise BadUserInput(f"duration {text!r} must be positive", field=field)
    if seconds > _MAX_DURATION:
        raise BadUserInput(f"duration {text!r} is longer than 100 years", field=field)
    return seconds
