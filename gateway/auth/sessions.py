"""Open websocket sessions, re-authorized whenever access changes (issue 10).

A websocket signs in once, at ``connection_init``, and may then stay open for hours. Each open
session is therefore re-checked whenever the access generation moves
(:class:`~gateway.auth.watch.AccessWatch`: at once for this process's changes and, through
pub/sub, other replicas'; within half a second through its poll otherwise, changes made by
the CLI or a worker on SQLite included). Credential expiry is checked every ``interval``.

A session whose credential was revoked or expired, or whose permissions shrank, is ended with
close code 4403 (the client reconnects and gets what it may still have); one whose
permissions grew is updated in place. Sessions are also counted per subject, for the
per-principal connection cap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.auth.principal import AuthKind, Principal
from gateway.auth.rbac import RBAC, RoleGraph
from gateway.auth.tokens import TokenService
from gateway.auth.watch import AccessWatch
from gateway.tasks import cancel_and_wait

log = logging.getLogger(__name__)

FORBIDDEN = 4403


@dataclass(eq=False)
class Session:
    principal: Principal
    permissions: frozenset[str]
    apply: Callable[[frozenset[str], frozenset[str]], None] = field(repr=False)
    """Called with (roles, permissions) when they grew."""
    end: Callable[[int, str], Awaitable[None]] = field(repr=False)
    """Close the socket with (code, reason)."""
    ended: bool = False


class LiveSessions:
    def __init__(
        self,
        *,
        rbac: RBAC,
        tokens: TokenService,
        watch: AccessWatch,
        max_per_subject: int,
        interval: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rbac = rbac
        self._tokens = tokens
        self._watch = watch
        self._max = max_per_subject
        self._interval = interval
        self._clock = clock
        self._sessions: set[Session] = set()
        self._per_subject: Counter[str] = Counter()
        self._tasks: list[asyncio.Task[None]] = []
        watch.subscribe(self._on_change)

    # -- registry ----------------------------------------------------------------------
    def open(self, session: Session) -> bool:
        """Register a signed-in session; False when its subject is at the connection cap."""
        subject = session.principal.subject
        if self._per_subject[subject] >= self._max:
            return False
        self._per_subject[subject] += 1
        self._sessions.add(session)
        return True

    def close(self, session: Session) -> None:
        if session in self._sessions:
            self._sessions.discard(session)
            self._per_subject[session.principal.subject] -= 1
            if self._per_subject[session.principal.subject] <= 0:
                del self._per_subject[session.principal.subject]

    def __len__(self) -> int:
        return len(self._sessions)

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._expire(), name="websocket-expiry")]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []

    async def _expire(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            now = self._clock()
            for session in list(self._sessions):
                expires = session.principal.expires_at
                if expires is not None and now >= expires:
                    await self._end(session, "credential expired")

    async def _on_change(self, generation: int) -> None:
        await self.recheck()

    # -- re-authorization --------------------------------------------------------------
    async def recheck(self) -> None:
        """Re-authorize every open session against the store (access changed)."""
        if not self._sessions:
            return
        now = self._clock()
        graph = await self._rbac.graph(fresh=True)
        for session in list(self._sessions):
            await self._reauthorize(session, graph, now)

    async def _reauthorize(self, session: Session, graph: RoleGraph, now: float) -> None:
        principal = session.principal
        if principal.kind is AuthKind.API_TOKEN and principal.token_id is not None:
            token = await self._tokens.get(principal.token_id)
            if token is None or not token.is_active(now):
                await self._end(session, "credential revoked")
                return
        roles, permissions = await self._rbac.authorize(principal, graph)
        if not permissions >= session.permissions:
            await self._end(session, "permissions changed; reconnect")
            return
        if permissions != session.permissions:
            session.permissions = permissions
            session.apply(roles, permissions)

    async def _end(self, session: Session, reason: str) -> None:
        if session.ended:
            return
        session.ended = True
        self.close(session)
        log.info("closing websocket of %s: %s", session.principal.subject, reason)
        try:
            await session.end(FORBIDDEN, reason)
        except Exception as exc:  # already gone: nothing left to close
            log.debug("closing websocket: %s", exc)
