"""Test certificates made with cryptography: self-signed leaves and acme.json entries."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_cert(
    domains: list[str], *, days: int = 10, issuer: str = "Test CA"
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM): a leaf for ``domains`` valid ``days`` more days."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=80))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_acme_json(path: Path, entries: dict[str, list[tuple[list[str], int]]]) -> None:
    """``{resolver: [(domains, days_left), ...]}`` as Traefik writes acme.json (mode 0600)."""
    data: dict[str, object] = {}
    for resolver, certs in entries.items():
        items = []
        for domains, days in certs:
            cert, key = make_cert(domains, days=days)
            items.append(
                {
                    "domain": {"main": domains[0], "sans": domains[1:]},
                    "certificate": base64.b64encode(cert).decode(),
                    "key": base64.b64encode(key).decode(),
                    "Store": "default",
                }
            )
        data[resolver] = {
            "Account": {"Email": "ops@example.com", "Registration": None, "PrivateKey": "x"},
            "Certificates": items,
        }
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
