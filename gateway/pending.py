"""Websockets that have not sent ``connection_init`` yet, per client address
(``GATEWAY_WS_MAX_PENDING``).

Each one holds a connection, its handler and an init timer for up to 10 s. Thousands held
from one address cost the event loop their upgrades, their closes and the collector's
walks over their objects, so past the cap an address's next websocket is refused before
the upgrade (HTTP 403), the cheapest answer there is. A browser initialises within
milliseconds, so the cap is never met by clients behind one address that behave.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from gateway.counts import KeyedCount

_MARK = "ogw.pending"


class PendingSockets:
    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self._count = KeyedCount()

    def enter(self, scope: MutableMapping[str, Any], address: str) -> bool:
        """Count a new websocket of ``address``; False (do not accept it) past the cap."""
        if self.limit > 0 and self._count[address] >= self.limit:
            return False
        self._count.add(address)
        scope[_MARK] = address
        return True

    def leave(self, scope: MutableMapping[str, Any]) -> None:
        """The websocket initialised or ended: it is no longer pending (once)."""
        address = scope.pop(_MARK, None)
        if address is None:
            return
        self._count.remove(address)
