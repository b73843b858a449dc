"""GraphQL types of Docker containers and the Traefik routes suggested for them."""

from __future__ import annotations

import strawberry

from gateway.traffic.discovery import Suggestion
from gateway.traffic.models import Container
from schema.mirror import mirror
from schema.timestamps import ts


@strawberry.type
class ContainerPort:
    private_port: int
    public_port: int | None
    type: str
    ip: str | None


@strawberry.type
class ContainerNetwork:
    name: str
    ip_address: str | None
    aliases: list[str]


@strawberry.type
class Label:
    key: str
    value: str


@strawberry.type
class SuggestedValue:
    value: str
    reason: str


@strawberry.type
class RouteSuggestion:
    router: str
    service: str
    rule: SuggestedValue
    port: SuggestedValue
    network: SuggestedValue
    scheme: str
    entry_points: list[str]

    @classmethod
    def build(cls, s: Suggestion) -> RouteSuggestion:
        return mirror(
            cls,
            s,
            rule=SuggestedValue(value=s.rule.value, reason=s.rule.reason),
            port=SuggestedValue(value=s.port.value, reason=s.port.reason),
            network=SuggestedValue(value=s.network.value, reason=s.network.reason),
        )


def container_fields(c: Container) -> dict[str, object]:
    return {
        "id": strawberry.ID(c.id),
        "name": c.name,
        "image": c.image,
        "state": c.state,
        "status": c.status,
        "created": ts(c.created),
        "networks": [
            ContainerNetwork(name=n.name, ip_address=n.ip_address, aliases=n.aliases)
            for n in c.networks
        ],
        "ports": [
            ContainerPort(private_port=p.private, public_port=p.public, type=p.type, ip=p.ip)
            for p in c.ports
        ],
        "labels": [Label(key=k, value=v) for k, v in sorted(c.labels.items())],
    }
