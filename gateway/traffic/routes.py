"""Routes the gateway writes for discovered containers, and file-provider reloads."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.backends.docker.client import Container, DockerClient
from gateway.backends.traefik.client import TraefikClient
from gateway.backends.traefik.models import Service
from gateway.errors import BackendError, BadUserInput, ConflictError, NotConfigured, NotFound
from gateway.traffic.discovery import Suggestion, file_name, route_config, suggest
from gateway.traffic.dynamic_dir import DynamicDir, check_hostname, check_name, load

CONTAINER_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
RELOAD_METRIC = "traefik_config_reloads_total"


class Unsupported(BadUserInput):
    """The request is well-formed but cannot be done for this object (and we say why)."""


@dataclass(frozen=True, slots=True)
class AppliedRoute:
    container: Container
    suggestion: Suggestion
    file: str
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reloaded:
    name: str
    file: str
    confirmed: bool
    """Traefik's reload counter moved after the rewrite."""
    service: Service | None


def check_container_ref(ref: str) -> str:
    if not CONTAINER_REF.fullmatch(ref) or ".." in ref:
        raise BadUserInput(f"invalid container id or name {ref[:100]!r}", field="containerId")
    return ref


async def apply_discovered_route(
    *, docker: DockerClient, directory: DynamicDir | None, container_ref: str, host: str
) -> AppliedRoute:
    check_container_ref(container_ref)
    host = check_hostname(host)
    if directory is None:
        raise NotConfigured("traefik", "TRAEFIK_DYNAMIC_DIR")
    container = await docker.find(container_ref)
    if container is None:
        raise NotFound(f"no container {container_ref!r} with label traefik.enable=true")
    suggestion = suggest(container, host=host)
    config = route_config(container, suggestion)
    path = await asyncio.to_thread(_write_route, directory, container, config)
    return AppliedRoute(container=container, suggestion=suggestion, file=str(path), config=config)


def _write_route(directory: DynamicDir, container: Container, config: dict[str, Any]) -> Path:
    """Write the container's file, unless it routes another container: names that clean
    up alike (``web.prod`` and ``web-prod``) share a file name, and one must not silently
    replace the other's route."""
    name = file_name(container)
    existing = directory.root / f"{name}.yml"
    if existing.is_file() and not existing.is_symlink():
        try:
            current = load(existing.suffix, existing.read_bytes())
        except (OSError, ValueError):
            current = None
        owners = _server_hosts(current)
        if owners != {container.name.lower()}:
            raise ConflictError(
                f"{existing.name} already routes {', '.join(sorted(owners)) or 'something else'}"
                f", not {container.name}: remove or rename that file first"
            )
    return directory.write(name, config)


def _server_hosts(config: Any) -> set[str]:
    """The hosts of the server URLs a file-provider configuration routes to."""
    http = _mapping(_mapping(config).get("http"))
    hosts: set[str] = set()
    for service in _mapping(http.get("services")).values():
        servers = _mapping(_mapping(service).get("loadBalancer")).get("servers")
        for server in servers if isinstance(servers, list) else ():
            host = urlsplit(str(_mapping(server).get("url", ""))).hostname
            if host:
                hosts.add(host.lower())
    return hosts


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def split_service_name(name: str) -> tuple[str, str | None]:
    base, _, provider = name.partition("@")
    check_name(base, field="name")
    if provider and not re.fullmatch(r"[a-z0-9-]{1,32}", provider):
        raise BadUserInput(f"invalid provider in {name!r}", field="name")
    return base, provider or None


async def reload_service(
    *,
    traefik: TraefikClient,
    directory: DynamicDir | None,
    name: str,
    settle: float = 3.0,
) -> Reloaded:
    base, provider = split_service_name(name)
    if provider not in (None, "file"):
        raise Unsupported(
            f"service {name} comes from the {provider} provider: Traefik has no reload API, "
            "and only services of the file provider can be reloaded, by rewriting their file "
            "in TRAEFIK_DYNAMIC_DIR (the docker provider follows container events itself)",
            field="name",
        )
    if directory is None:
        raise NotConfigured("traefik", "TRAEFIK_DYNAMIC_DIR")
    file = await asyncio.to_thread(directory.service_file, base)
    if file is None:
        others = [s.name for s in await traefik.services() if s.name.split("@")[0] == base]
        if others:
            raise Unsupported(
                f"{base} is served as {', '.join(others)}, not by the file provider: only "
                "file-provider services can be reloaded (Traefik has no reload API)",
                field="name",
            )
        raise NotFound(f"no file in TRAEFIK_DYNAMIC_DIR defines service {base}")
    before = await _reloads(traefik)
    try:
        await asyncio.to_thread(directory.rewrite, file.path)
    except ValueError as exc:
        raise BadUserInput(f"{file.path.name} does not parse: {exc}", field="name") from None
    confirmed = False
    deadline = time.monotonic() + settle
    while before is not None and time.monotonic() < deadline:
        after = await _reloads(traefik)
        if after is not None and after > before:
            confirmed = True
            break
        await asyncio.sleep(0.2)
    service = await traefik.service(f"{base}@file")
    return Reloaded(name=f"{base}@file", file=str(file.path), confirmed=confirmed, service=service)


async def _reloads(traefik: TraefikClient) -> float | None:
    """Traefik's config reload counter, or None when its metrics are unavailable."""
    try:
        return (await traefik.metrics(max_age=0)).value(RELOAD_METRIC)
    except BackendError:
        return None
