"""The HTTP protocol ``ops-gateway serve`` runs: uvicorn's, with a deadline on request heads.

uvicorn times out idle keep-alive connections but not a connection that sends nothing, nor
one that trickles its headers a byte at a time (slowloris): either would hold a socket for
as long as the client likes. Here a request's head must arrive within
``GATEWAY_HEADER_TIMEOUT`` seconds of the connection (or of its first byte, for later
requests on a keep-alive connection); past that the connection gets 408 and is closed.
"""

from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.settings import Limits

_REFUSAL = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """A module-level class, so that uvicorn's worker processes (spawned) import it too;
    each reads the limit from its environment once, as the app reads its settings."""

    _timeout: float | None = None
    _head_timer: asyncio.TimerHandle | None = None

    @classmethod
    def head_timeout(cls) -> float:
        if cls._timeout is None:
            cls._timeout = Limits.from_env(os.environ).header_timeout
        return cls._timeout

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout(), self._too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.write(_REFUSAL)
            self.transport.close()
