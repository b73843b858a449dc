"""GraphQL types of TLS certificates (from acme.json and the file provider) and renewals."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gateway.traffic.certificates import CertificateInfo
from schema.mirror import mirror


@strawberry.enum
class CertificateSource(Enum):
    ACME = "acme"
    FILE = "file"


@strawberry.enum
class AcmeChallenge(Enum):
    HTTP_01 = "http-01"
    DNS_01 = "dns-01"


@strawberry.type
class Certificate:
    main: str
    domains: list[str]
    sans: list[str]
    common_name: str | None
    issuer: str
    serial: str
    fingerprint_sha256: str
    not_before: datetime
    not_after: datetime
    days_left: int
    expiring: bool = strawberry.field(description="Fewer than 30 days left.")
    source: CertificateSource
    resolver: str | None
    location: str

    @classmethod
    def build(cls, c: CertificateInfo) -> Certificate:
        return mirror(
            cls,
            c,
            days_left=c.days_left(),
            expiring=c.expiring(),
            source=CertificateSource(c.origin.source),
            resolver=c.origin.resolver,
            location=c.origin.location,
        )
