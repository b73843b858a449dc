"""The backend clients the app owns: built from settings, opened and closed with the app.

Each domain adds one field to :class:`Backends` and one line to :func:`open_backends`; a
client whose URL is unset still exists and answers every call with ``NOT_CONFIGURED``.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, fields
from typing import Any

from gateway.backends.acme import AcmeClient
from gateway.backends.base import BackendClient, CallObserver
from gateway.backends.brigade import BrigadeClient
from gateway.backends.docker import DockerClient
from gateway.backends.hub import HubClient
from gateway.backends.lago import LagoClient
from gateway.backends.providers import ProviderConnector
from gateway.backends.traefik import TraefikClient
from gateway.settings import Settings


@dataclass
class Backends:
    # Domains add their clients here, e.g. ``lago: LagoClient``.
    lago: LagoClient
    brigade: BrigadeClient
    providers: ProviderConnector
    traefik: TraefikClient
    docker: DockerClient
    acme: AcmeClient
    hub: HubClient

    def clients(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    async def readiness(self) -> dict[str, dict[str, object]]:
        """One health probe per configured HTTP backend, run concurrently, for /readyz."""
        probes = {
            name: client
            for name, client in self.clients().items()
            if isinstance(client, BackendClient) and client.configured
        }

        async def probe(client: BackendClient) -> dict[str, object]:
            start = time.perf_counter()
            try:
                # A hanging backend must not hang the orchestrator's readiness probe.
                ok = await asyncio.wait_for(client.health(), 3)
            except TimeoutError:
                ok = False
            return {"ok": ok, "seconds": round(time.perf_counter() - start, 4)}

        results = await asyncio.gather(*(probe(c) for c in probes.values()))
        return dict(zip(probes, results, strict=True))


async def open_backends(
    settings: Settings, *, observer: CallObserver, stack: AsyncExitStack
) -> Backends:
    """Build every client; ``stack`` closes them with the app."""
    clients: dict[str, Any] = {}
    # Domains add: clients["lago"] = LagoClient.from_settings(settings, observer=observer)
    clients["lago"] = LagoClient.from_settings(settings, observer=observer)
    clients["brigade"] = BrigadeClient.from_settings(settings, observer=observer)
    clients["providers"] = ProviderConnector.from_settings(settings, observer=observer)
    clients["traefik"] = TraefikClient.from_settings(settings, observer=observer)
    clients["docker"] = DockerClient.from_settings(settings, observer=observer)
    clients["acme"] = AcmeClient.from_settings(settings, observer=observer)
    clients["hub"] = HubClient.from_settings(settings, observer=observer)
    for client in clients.values():
        breaker = getattr(client, "breaker", None)  # the providers' connector has its own
        if breaker is not None:
            breaker.failure_threshold = settings.breaker_failures
            breaker.reset_timeout = settings.breaker_reset_seconds
        stack.push_async_callback(client.aclose)
    return Backends(**clients)
