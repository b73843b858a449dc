"""Suggested Traefik routes for discovered containers, each choice with its reason.

Labels win (they are what Traefik's docker provider would use); without them the gateway
falls back to what the container exposes, and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway.backends.docker.client import Container
from gateway.errors import BadUserInput
from gateway.traffic.dynamic_dir import check_hostname

ROUTER_LABEL = re.compile(r"^traefik\.http\.routers\.([^.]+)\.(.+)$")
SERVICE_LABEL = re.compile(r"^traefik\.http\.services\.([^.]+)\.(.+)$")
DEFAULT_DOMAIN = "localhost"
DEFAULT_PORT = 80
GENERATED_PREFIX = "container-"
"""Files the gateway writes for a container are ``container-<name>.yml``."""
SCHEMES = ("http", "https", "h2c")
CONTAINER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,252}")
"""What Docker allows in a container name; the name is the server's host in the URL."""
ENTRY_POINT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    router: str
    service: str
    rule: Choice
    port: Choice
    network: Choice
    scheme: str
    entry_points: list[str]

    @property
    def url(self) -> str:
        return f"{self.scheme}://{{host}}:{self.port.value}"


def object_name(container: Container) -> str:
    """A Traefik object name from the container's name (Traefik's docker provider does the same)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", container.name).strip("-")
    return cleaned or container.id[:12]


def _grouped(labels: dict[str, str], pattern: re.Pattern[str]) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}
    for key, value in sorted(labels.items()):
        match = pattern.match(key)
        if match:
            groups.setdefault(match.group(1), {})[match.group(2).lower()] = value
    return groups


def suggest(container: Container, *, host: str | None = None) -> Suggestion:
    labels = container.labels
    routers = _grouped(labels, ROUTER_LABEL)
    services = _grouped(labels, SERVICE_LABEL)
    name = object_name(container)
    router_name = next(iter(routers), name)
    router = routers.get(router_name, {})
    service_name = router.get("service") or next(iter(services), name)

    if host is not None:
        rule = Choice(f"Host(`{check_hostname(host)}`)", "the host asked for")
    elif router.get("rule"):
        rule = Choice(router["rule"], f"label traefik.http.routers.{router_name}.rule")
    else:
        rule = Choice(
            f"Host(`{name}.{DEFAULT_DOMAIN}`)",
            f"no rule label: a Host rule from the container name on {DEFAULT_DOMAIN}",
        )

    svc = services.get(service_name, {})
    tcp = sorted({p.private for p in container.ports if p.type == "tcp"})
    if svc.get("loadbalancer.server.port"):
        port = Choice(
            svc["loadbalancer.server.port"],
            f"label traefik.http.services.{service_name}.loadbalancer.server.port",
        )
    elif len(tcp) == 1:
        port = Choice(str(tcp[0]), "the only TCP port the container exposes")
    elif tcp:
        port = Choice(
            str(tcp[0]),
            f"lowest of the exposed TCP ports {tcp}; set "
            f"traefik.http.services.{service_name}.loadbalancer.server.port to choose",
        )
    else:
        port = Choice(str(DEFAULT_PORT), "no port exposed or labelled: Traefik's default 80")

    networks = [n.name for n in container.networks]
    if labels.get("traefik.docker.network"):
        network = Choice(labels["traefik.docker.network"], "label traefik.docker.network")
    elif len(networks) == 1:
        network = Choice(networks[0], "the container's only network")
    elif networks:
        network = Choice(
            networks[0],
            f"first of {len(networks)} networks {networks}; set traefik.docker.network to choose",
        )
    else:
        mode = container.network_mode or "none"
        network = Choice(mode, f"no network attached; network mode {mode}")

    scheme = svc.get("loadbalancer.server.scheme", "http")
    entry_points = [e.strip() for e in router.get("entrypoints", "").split(",") if e.strip()]
    return Suggestion(
        router=router_name,
        service=service_name,
        rule=rule,
        port=port,
        network=network,
        scheme=scheme,
        entry_points=entry_points,
    )


def route_config(container: Container, suggestion: Suggestion) -> dict[str, Any]:
    """The file-provider configuration for a suggestion: one router, one service.

    The server is addressed by the container's name, which Docker's DNS resolves on the
    chosen network (the container's IP changes on every start). Labels are written by
    whoever starts containers, so the parts of the URL they choose are checked here: a port
    label of ``80@evil.example`` or a scheme of ``http://evil.example/#`` would otherwise
    route the host to another server.
    """
    name = object_name(container)
    scheme, port = suggestion.scheme.lower(), suggestion.port.value
    if scheme not in SCHEMES:
        raise _label_error(container, "the scheme", scheme)
    if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise _label_error(container, "the port", port)
    if not CONTAINER_NAME.fullmatch(container.name) or ".." in container.name:
        raise _label_error(container, "the container name", container.name)
    for entry_point in suggestion.entry_points:
        if not ENTRY_POINT.fullmatch(entry_point):
            raise _label_error(container, "an entry point", entry_point)
    router: dict[str, Any] = {"rule": suggestion.rule.value, "service": name}
    if suggestion.entry_points:
        router["entryPoints"] = suggestion.entry_points
    url = f"{scheme}://{container.name}:{int(port)}"
    return {
        "http": {
            "routers": {name: router},
            "services": {name: {"loadBalancer": {"servers": [{"url": url}]}}},
        }
    }


def _label_error(container: Container, what: str, value: str) -> BadUserInput:
    return BadUserInput(
        f"cannot route {container.id[:12]}: {what} {value[:80]!r} is not valid in a server "
        "URL (check the container's traefik labels)",
        field="containerId",
    )


def file_name(container: Container) -> str:
    return f"{GENERATED_PREFIX}{object_name(container)}"
