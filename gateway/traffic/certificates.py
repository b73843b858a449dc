"""Certificates Traefik serves: from acme.json and from the file provider's ``tls`` section.

Parsed with ``cryptography``: domains, SANs, issuer, validity. Each certificate remembers where
it came from (:class:`Origin`) so a renewal can write it back to the same place.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from gateway.traffic.acme_json import AcmeJson
from gateway.traffic.dynamic_dir import DynamicDir

EXPIRING_DAYS = 30
"""Let's Encrypt and Traefik renew 30 days before expiry: fewer days left means 'expiring'."""


@dataclass(frozen=True, slots=True)
class Origin:
    source: str
    """``acme`` (acme.json) or ``file`` (the dynamic directory)."""
    location: str
    """The file holding it: acme.json, or the config file naming it."""
    resolver: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    inline: bool = False


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    main: str
    domains: list[str]
    """The main domain and SANs the certificate is stored for."""
    sans: list[str]
    """DNS names in the certificate's subjectAltName extension."""
    common_name: str | None
    issuer: str
    serial: str
    fingerprint_sha256: str
    not_before: datetime
    not_after: datetime
    origin: Origin

    def days_left(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        return int((self.not_after.timestamp() - now) // 86400)

    def expiring(self, now: float | None = None, days: int = EXPIRING_DAYS) -> bool:
        return self.days_left(now) < days

    def covers(self, domain: str) -> bool:
        return domain in self.domains or domain in self.sans


def describe(
    pem: bytes, *, origin: Origin, stored_domains: list[str] | None = None
) -> CertificateInfo:
    """The leaf (first certificate) of a PEM chain."""
    leaf = x509.load_pem_x509_certificates(pem)[0]
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        sans = san.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        sans = []
    cns = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(cns[0].value) if cns else None
    issuer_cn = leaf.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    domains = stored_domains or ([common_name] if common_name else []) + [
        s for s in sans if s != common_name
    ]
    return CertificateInfo(
        main=domains[0] if domains else (common_name or ""),
        domains=domains,
        sans=list(sans),
        common_name=common_name,
        issuer=str(issuer_cn[0].value) if issuer_cn else leaf.issuer.rfc4514_string(),
        serial=format(leaf.serial_number, "x"),
        fingerprint_sha256=leaf.fingerprint(hashes.SHA256()).hex(),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        origin=origin,
    )


def from_acme_json(store: AcmeJson) -> tuple[list[CertificateInfo], list[str]]:
    """Certificates in acme.json, and a note for each entry that could not be read."""
    found, problems = [], []
    for entry in store.entries():
        origin = Origin(source="acme", location=str(store.path), resolver=entry.resolver)
        try:
            pem = base64.b64decode(entry.certificate, validate=True)
            found.append(describe(pem, origin=origin, stored_domains=entry.domains))
        except (ValueError, binascii.Error) as exc:
            problems.append(f"{entry.resolver}/{entry.main}: {type(exc).__name__}")
    return found, problems


def from_dynamic_dir(directory: DynamicDir) -> tuple[list[CertificateInfo], list[str]]:
    """Certificates named in ``tls.certificates`` of the file provider's configs."""
    found, problems = [], []
    for file in directory.files():
        tls = file.config.get("tls") or {}
        for item in tls.get("certificates") or []:
            cert_ref, key_ref = str(item.get("certFile", "")), str(item.get("keyFile", ""))
            inline = cert_ref.lstrip().startswith("-----BEGIN")
            origin = Origin(
                source="file",
                location=str(file.path),
                cert_file=None if inline else cert_ref,
                key_file=None if key_ref.lstrip().startswith("-----BEGIN") else key_ref,
                inline=inline,
            )
            try:
                pem = cert_ref.encode() if inline else directory.locate(cert_ref).read_bytes()
                found.append(describe(pem, origin=origin))
            except (OSError, ValueError) as exc:
                problems.append(f"{file.path.name}: {cert_ref[:60]}: {type(exc).__name__}")
    return found, problems
