"""Signed-in callers, cached by credential while access stands still (issue 11).

Signing a caller in costs store round trips (the token, the subject's assignments) and, for
a JWT, a signature check. A dashboard repeats the same credential many times a second, so
the result is kept in memory, keyed by a digest of the ``Authorization`` value, and reused
while the access generation (:class:`~gateway.auth.watch.AccessWatch`) has not moved — a
revocation, grant or assignment anywhere empties it for every credential at once — for at
most ``ttl`` seconds and never past the credential's own expiry. Failures are not cached.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from gateway.auth.authenticator import Authenticator
from gateway.auth.principal import Principal
from gateway.auth.rbac import RBAC
from gateway.auth.watch import AccessWatch


@dataclass(frozen=True, slots=True)
class SignedIn:
    principal: Principal
    roles: frozenset[str]
    permissions: frozenset[str]


class SignInCache:
    def __init__(
        self,
        *,
        authenticator: Authenticator,
        rbac: RBAC,
        watch: AccessWatch,
        size: int = 10_000,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._authenticator = authenticator
        self._rbac = rbac
        self._watch = watch
        self._size = size
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[SignedIn, int, float]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def sign_in(self, authorization: str | None) -> SignedIn:
        """The caller of this ``Authorization`` value; raises ``Unauthenticated``."""
        if not authorization:
            await self._authenticator.authenticate(authorization)  # raises, with its message
        assert authorization is not None
        key = hashlib.blake2b(authorization.encode(), digest_size=16).digest()
        generation = self._watch.generation
        now = self._clock()
        found = self._entries.get(key)
        if found is not None and found[1] == generation and now < found[2]:
            self._entries.move_to_end(key)
            self.hits += 1
            return found[0]
        self.misses += 1
        principal = await self._authenticator.authenticate(authorization)
        roles, permissions = await self._rbac.authorize(principal)
        signed = SignedIn(principal, roles, permissions)
        until = now + self._ttl
        if principal.expires_at is not None:
            until = min(until, principal.expires_at)
        self._entries[key] = (signed, generation, until)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return signed

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
