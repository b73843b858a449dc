"""DockerClient: aiodocker with the same contract as the HTTP backends (DESIGN §8).

One aiodocker client (its own aiohttp pool) for the app's lifetime, created on first use
(it needs the running loop), a timeout per call, a circuit breaker, the call observer, and
ONE place (:meth:`DockerClient._call`) where aiodocker's failures become gateway errors: a
missing or refusing socket is ``BACKEND_UNAVAILABLE``, a slow engine ``BACKEND_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiodocker
import aiohttp

from gateway.backends.base import CallObserver
from gateway.backends.breaker import CircuitBreaker
from gateway.backends.observer import Outcome, notify
from gateway.errors import BackendError, BackendTimeout, BackendUnavailable, CircuitOpen
from gateway.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
TRAEFIK_ENABLED = "traefik.enable=true"
_UNREACHABLE = 900  # aiodocker's status for "could not connect"


@dataclass(frozen=True, slots=True)
class Port:
    private: int
    public: int | None
    type: str
    ip: str | None


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    ip_address: str | None
    aliases: list[str]


@dataclass(frozen=True, slots=True)
class Container:
    id: str
    name: str
    image: str
    state: str
    status: str
    created: float | None
    labels: dict[str, str]
    ports: list[Port]
    networks: list[Network]
    network_mode: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Container:
        names = raw.get("Names") or []
        settings = (raw.get("NetworkSettings") or {}).get("Networks") or {}
        return cls(
            id=str(raw.get("Id", "")),
            name=str(names[0]).lstrip("/") if names else "",
            image=str(raw.get("Image", "")),
            state=str(raw.get("State", "")),
            status=str(raw.get("Status", "")),
            created=float(raw["Created"]) if raw.get("Created") is not None else None,
            labels={str(k): str(v) for k, v in (raw.get("Labels") or {}).items()},
            ports=[
                Port(
                    private=int(p.get("PrivatePort", 0)),
                    public=int(p["PublicPort"]) if p.get("PublicPort") else None,
                    type=str(p.get("Type", "tcp")),
                    ip=p.get("IP") or None,
                )
                for p in raw.get("Ports") or []
            ],
            networks=[
                Network(
                    name=str(name),
                    ip_address=(net or {}).get("IPAddress") or None,
                    aliases=list((net or {}).get("Aliases") or []),
                )
                for name, net in sorted(settings.items())
            ],
            network_mode=(raw.get("HostConfig") or {}).get("NetworkMode"),
            raw=raw,
        )


class DockerClient:
    def __init__(
        self,
        *,
        url: str,
        timeout: float = 10.0,
        observer: CallObserver | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.name = "docker"
        self.url = url
        self.timeout = timeout
        self.observer = observer
        self.breaker = breaker if breaker is not None else CircuitBreaker(name="docker")
        self.calls = 0
        self._docker: aiodocker.Docker | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, observer: CallObserver | None = None
    ) -> DockerClient:
        return cls(url=settings.docker_host, timeout=settings.backend_timeout, observer=observer)

    @property
    def configured(self) -> bool:
        return bool(self.url)

    def _client(self) -> aiodocker.Docker:
        if self._docker is None:
            self._docker = aiodocker.Docker(url=self.url)
        return self._docker

    async def aclose(self) -> None:
        docker, self._docker = self._docker, None
        if docker is not None:
            await docker.close()

    async def containers(self, *, label: str | None = TRAEFIK_ENABLED) -> list[Container]:
        """Every container (running or not) carrying ``label``."""
        filters = {"label": [label]} if label else None

        async def run() -> list[Container]:
            found = await self._client().containers.list(all=True, filters=filters)
            return [Container.from_api(c._container) for c in found]

        return await self._call("list", run)

    async def find(self, ref: str, *, label: str | None = TRAEFIK_ENABLED) -> Container | None:
        """The container whose id, id prefix (12+ characters) or name is ``ref``."""
        found = await self.containers(label=label)
        return next(
            (
                c
                for c in found
                if c.name == ref or c.id == ref or (len(ref) >= 12 and c.id.startswith(ref))
            ),
            None,
        )

    async def health(self) -> bool:
        try:
            await self._call("ping", lambda: self._client().system.info())
        except BackendError:
            return False
        return True

    def _rejected(self, what: str, exc: aiodocker.DockerError) -> BackendError:
        """An error status from the engine, worded as map_error words the HTTP backends'."""
        status = exc.status
        if status >= 500 or status == 429:
            self.breaker.record_failure()
            log.warning("docker %s failed with HTTP %s: %s", what, status, str(exc.message)[:160])
            return BackendError(
                f"docker failed with HTTP {status}", backend=self.name, status=status
            )
        self.breaker.record_success()  # it answered: the engine is up
        if status in (401, 403):
            message = (
                f"docker rejected the gateway's credentials (HTTP {status}); check DOCKER_HOST"
            )
            return BackendError(message, backend=self.name, status=status)
        detail = str(exc.message)[:160]
        return BackendError(
            f"docker rejected {what} (HTTP {status}): {detail}", backend=self.name, status=status
        )

    async def _call(self, what: str, run: Callable[[], Awaitable[T]]) -> T:
        if not self.breaker.allow():
            raise CircuitOpen("docker: circuit open", backend=self.name)
        self.calls += 1
        started = time.perf_counter()
        outcome: Outcome = "error"
        try:
            async with asyncio.timeout(self.timeout):
                result = await run()
            outcome = "ok"
            self.breaker.record_success()
            return result
        except TimeoutError:
            outcome = "timeout"
            self.breaker.record_failure()
            raise BackendTimeout(f"docker timed out on {what}", backend=self.name) from None
        except aiodocker.DockerError as exc:
            if exc.status == _UNREACHABLE:
                outcome = "unavailable"
                self.breaker.record_failure()
                raise BackendUnavailable(
                    f"cannot connect to docker at {self.url}", backend=self.name
                ) from None
            raise self._rejected(what, exc) from None
        except (aiohttp.ClientError, OSError) as exc:
            outcome = "unavailable"
            self.breaker.record_failure()
            log.info("docker %s failed: %s", what, type(exc).__name__)
            raise BackendUnavailable(
                f"cannot connect to docker at {self.url}", backend=self.name
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # Unparsable JSON, or JSON of another shape (aiodocker itself fails this way on an
            # error body without "message"): something that is not a Docker Engine answered.
            self.breaker.record_failure()
            log.warning("docker %s: unexpected answer (%s: %s)", what, type(exc).__name__, exc)
            raise BackendError(
                f"docker answered {what} with something it does not understand",
                backend=self.name,
            ) from None
        finally:
            notify(self.observer, self.name, what, outcome, time.perf_counter() - started)
